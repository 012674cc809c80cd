package localcluster

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// A NamedURL is one of the cluster's addresses: its key in "status
// --json", its variable in "env", its label in "status".
type NamedURL struct {
	Key, Env, Label, Value string
}

// URLs are the cluster's addresses, in the order "env" and "status" show
// them.
func (l *Layout) URLs() []NamedURL {
	urls := []NamedURL{
		{"lb", "CLUSTER_URL", "load balancer", l.URL},
		{"tls", "CLUSTER_TLS_URL", "HTTPS", l.TLSURL},
		{"stats", "CLUSTER_STATS_URL", "stats page", l.StatsURL},
		{"prometheus", "CLUSTER_PROMETHEUS_URL", "Prometheus", l.PrometheusURL},
		{"postgres", "CLUSTER_POSTGRES_URL", "PostgreSQL", l.PostgresURL},
		{"postgres_replica", "CLUSTER_POSTGRES_REPLICA_URL", "read replica", l.ReplicaURL},
		{"nats", "CLUSTER_NATS_URL", "NATS", l.NATSURL},
		{"redis", "CLUSTER_REDIS_URL", "Redis", l.RedisURL},
		{"blob", "CLUSTER_BLOB_URL", "pictures", l.BlobURL},
		{"jaeger", "CLUSTER_JAEGER_URL", "traces", l.JaegerURL},
		{"otlp", "CLUSTER_OTLP_URL", "OTLP", l.OTLPURL},
	}
	if !l.Config.Jaeger {
		urls = urls[:len(urls)-2]
	}
	return urls
}

// Env is what "env" prints: the URLs, and the vitrine binary the cluster
// runs, as shell assignments.
func (l *Layout) Env() [][2]string {
	var out [][2]string
	for _, u := range l.URLs() {
		out = append(out, [2]string{u.Env, u.Value})
	}
	return append(out, [2]string{"CLUSTER_VITRINE_BIN", l.Config.VitrineBin})
}

// A ProcessState is a process of the layout, whether it runs, and what its
// health check says.
type ProcessState struct {
	Process
	Pid    int    `json:"pid"`
	Up     bool   `json:"up"`
	Health string `json:"health,omitempty"`
}

// Status is every process's state, which process leads where there is a
// leader (the PostgreSQL server that takes writes, the NATS node that
// leads JetStream's metadata), and the cluster's URLs.
type Status struct {
	Processes []ProcessState    `json:"processes"`
	Leaders   map[string]string `json:"leaders"`
	URL       string            `json:"url"`
	URLs      map[string]string `json:"urls"`
	Dir       string            `json:"dir"`
}

// Status checks every process of the cluster: the fixed ones, and the
// instances that have a pid file.
func (c *Cluster) Status(ctx context.Context) Status {
	st := Status{Leaders: map[string]string{}, URL: c.URL, URLs: map[string]string{}, Dir: c.Config.Dir}
	for _, u := range c.URLs() {
		st.URLs[u.Key] = u.Value
	}
	for _, p := range c.Processes() {
		if pid := c.Pid(p.Name); pid > 0 || p.Kind != KindInstance {
			st.Processes = append(st.Processes, ProcessState{Process: p, Pid: pid, Up: pid > 0 && running(pid)})
		}
	}
	stats, _ := c.api.Stats(ctx) // HAProxy's view of every instance, read once
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range st.Processes {
		ps := &st.Processes[i]
		if !ps.Up {
			continue
		}
		wg.Go(func() {
			health, leads := c.health(ctx, ps.Process, stats)
			ps.Health = health
			if leads {
				mu.Lock()
				st.Leaders[string(ps.Kind)] = ps.Name
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		if leader := c.natsLeader(ctx); leader != "" {
			mu.Lock()
			st.Leaders[string(KindNATS)] = leader
			mu.Unlock()
		}
	})
	wg.Wait()
	return st
}

// health is what a running process's check says, and whether it is its
// kind's leader.
func (c *Cluster) health(ctx context.Context, p Process, stats []StatRow) (string, bool) {
	says := func(ok bool, yes, no string) string {
		if ok {
			return yes
		}
		return no
	}
	switch p.Kind {
	case KindPostgres:
		return c.pgHealth(ctx, strings.TrimPrefix(p.Name, "pg-"))
	case KindNATS:
		return says(httpOK("http://"+p.Addr("monitor")+"/healthz")(ctx), "healthy", "unhealthy"), false
	case KindRedis:
		return says(tcpOpen(p.Addr("redis"))(ctx), "listening", "unreachable"), false
	case KindS3:
		return says(tcpOpen(p.Addr("http"))(ctx), "listening", "unreachable"), false
	case KindHAProxy:
		return c.URL + " " + c.TLSURL, false
	case KindPrometheus:
		return says(httpOK(c.PrometheusURL+"/-/ready")(ctx), "ready, "+c.PrometheusURL+"/", "unready"), false
	case KindJaeger:
		return says(httpOK(c.JaegerURL+"/api/services")(ctx), c.JaegerURL+" (OTLP "+c.OTLPURL+")", "unreachable"), false
	}
	service, _, _ := ParseInstance(p.Name)
	state := "?"
	for _, r := range stats {
		if r.Proxy == service && r.Server == p.Name {
			state = r.Status
		}
	}
	return fmt.Sprintf("haproxy %s, :%d admin :%d", state, p.Ports["http"], p.Ports["admin"]), false
}

// WriteText writes the status as "make cluster-status" shows it.
func (st Status) WriteText(w io.Writer, l *Layout) {
	fmt.Fprintf(w, "%-12s %-8s %-6s %s\n", "NAME", "PID", "STATE", "HEALTH")
	for _, p := range st.Processes {
		pid, state := "-", "down"
		if p.Pid > 0 {
			pid = strconv.Itoa(p.Pid)
		}
		if p.Up {
			state = "up"
		}
		fmt.Fprintf(w, "%-12s %-8s %-6s %s\n", p.Name, pid, state, p.Health)
	}
	if len(st.Leaders) > 0 {
		fmt.Fprintf(w, "\nleaders: PostgreSQL %s, NATS %s\n", orNone(st.Leaders[string(KindPostgres)]), orNone(st.Leaders[string(KindNATS)]))
	}
	fmt.Fprintln(w)
	notes := map[string]string{
		"tls":        "(self-signed: " + l.path("tls", "cert.pem") + ")",
		"prometheus": "(targets: " + l.PrometheusURL + "/targets, alerts: " + l.PrometheusURL + "/alerts)",
		"jaeger":     "(Jaeger; 'make cluster-up CLUSTER_JAEGER=0' runs without)",
	}
	for _, u := range l.URLs() {
		fmt.Fprintf(w, "%-14s %s %s\n", u.Label, u.Value, notes[u.Key])
	}
	fmt.Fprintf(w, "%-14s %s\n", "logs", l.path("logs", "NAME.log"))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
