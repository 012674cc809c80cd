package localcluster

import (
	"context"
	"fmt"
	"io"
	"strconv"
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
		{"lb", "CLUSTER_URL", "entry", l.URL},
		{"tls", "CLUSTER_TLS_URL", "HTTPS", l.TLSURL},
		{"stats", "CLUSTER_STATS_URL", "stats page", l.StatsURL},
		{"prometheus", "CLUSTER_PROMETHEUS_URL", "Prometheus", l.PrometheusURL},
		{"postgres", "CLUSTER_POSTGRES_URL", "PostgreSQL", l.PostgresURL},
		{"postgres_replica", "CLUSTER_POSTGRES_REPLICA_URL", "read replicas", l.ReplicaURL},
		{"nats", "CLUSTER_NATS_URL", "NATS", l.NATSURL},
		{"redis", "CLUSTER_REDIS_URL", "Redis (Sentinels)", l.RedisURL},
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

// A ProcessState is a process of the layout, whether it runs (a frozen
// one runs, but answers nothing), and what its health check says.
type ProcessState struct {
	Process
	Pid    int    `json:"pid"`
	Up     bool   `json:"up"`
	Frozen bool   `json:"frozen,omitempty"`
	Health string `json:"health,omitempty"`
}

// Status is every process's state, which process leads each part that has
// a leader, and the cluster's URLs.
type Status struct {
	Processes []ProcessState    `json:"processes"`
	Leaders   map[string]string `json:"leaders"`
	URL       string            `json:"url"`
	URLs      map[string]string `json:"urls"`
	Dir       string            `json:"dir"`
}

// The parts that have a leader, as Status.Leaders names them.
const (
	LeadPostgres = "postgres" // the PostgreSQL server Patroni made the leader
	LeadRedis    = "redis"    // the Redis primary the Sentinels name
	LeadLB       = "lb"       // the zone balancer the entry sends clients to
	LeadNATS     = "nats"     // the NATS node that leads JetStream's metadata
)

// Status checks every process of the cluster: the fixed ones, and the
// instances that have a pid file.
func (c *Cluster) Status(ctx context.Context) Status {
	st := Status{Leaders: map[string]string{}, URL: c.URL, URLs: map[string]string{}, Dir: c.Config.Dir}
	for _, u := range c.URLs() {
		st.URLs[u.Key] = u.Value
	}
	for _, p := range c.Processes() {
		if pid := c.Pid(p.Name); pid > 0 || p.Kind != KindInstance {
			up := pid > 0 && running(pid)
			st.Processes = append(st.Processes, ProcessState{Process: p, Pid: pid, Up: up, Frozen: up && !c.Answering(p.Name)})
		}
	}
	var stats []StatRow // a zone balancer's view of every instance, read once
	if lbs := c.Balancers(); len(lbs) > 0 {
		stats, _ = lbs[0].Stats(ctx)
	}
	members, _ := c.PatroniMembers(ctx)
	var mu sync.Mutex
	lead := func(part, name string) {
		if name != "" {
			mu.Lock()
			st.Leaders[part] = name
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for i := range st.Processes {
		ps := &st.Processes[i]
		switch {
		case ps.Frozen:
			ps.Health = "frozen (SIGSTOP)"
		case ps.Up:
			wg.Go(func() { ps.Health = c.health(ctx, ps.Process, stats, members) })
		}
	}
	for _, m := range members {
		if m.Role == "leader" && m.State == "running" {
			lead(LeadPostgres, m.Name)
		}
	}
	wg.Go(func() { lead(LeadNATS, c.NATSLeader(ctx)) })
	wg.Go(func() { lead(LeadLB, c.ActiveBalancer(ctx)) })
	wg.Go(func() {
		primary := c.RedisPrimary(ctx)
		for _, r := range c.OfKind(KindRedis) {
			if r.Addr("redis") == primary {
				lead(LeadRedis, r.Name)
			}
		}
	})
	wg.Wait()
	return st
}

// health is what a running process's check says.
func (c *Cluster) health(ctx context.Context, p Process, stats []StatRow, members []PatroniMember) string {
	says := func(ok bool, yes, no string) string {
		if ok {
			return yes
		}
		return no
	}
	switch p.Kind {
	case KindEtcd:
		return says(c.etcdHealthy(p)(ctx), "healthy", "unhealthy")
	case KindPostgres:
		for _, m := range members {
			if m.Name == p.Name {
				return m.String()
			}
		}
		return "not in Patroni's cluster"
	case KindNATS:
		return says(httpOK("http://"+p.Addr("monitor")+"/healthz")(ctx), "healthy", "unhealthy")
	case KindRedis:
		return redisRole(ctx, p)
	case KindSentinel:
		return says(tcpOpen(p.Addr("sentinel"))(ctx), "listening", "unreachable")
	case KindS3:
		return says(tcpOpen(p.Addr("http"))(ctx), "listening", "unreachable")
	case KindVarnish:
		return says(tcpOpen(p.Addr("http"))(ctx), "listening, purges on :"+strconv.Itoa(p.Ports["purge"]), "unreachable")
	case KindEdgeStats:
		return says(httpOK("http://"+p.Addr("http")+"/metrics")(ctx), "serving http://"+p.Addr("http")+"/metrics", "unreachable")
	case KindHAProxy:
		return says(httpOK("http://"+p.Addr("stats")+"/lb-health")(ctx), "healthy", "unhealthy (no product instance up)")
	case KindEntry:
		return c.URL + " " + c.TLSURL
	case KindPrometheus:
		return says(httpOK(c.PrometheusURL+"/-/ready")(ctx), "ready, "+c.PrometheusURL+"/", "unready")
	case KindJaeger:
		return says(httpOK(c.JaegerURL+"/api/services")(ctx), c.JaegerURL+" (OTLP "+c.OTLPURL+")", "unreachable")
	}
	service, _, _ := ParseInstance(p.Name)
	state := "?"
	for _, r := range stats {
		if r.Proxy == service && r.Server == p.Name {
			state = r.Status
		}
	}
	return fmt.Sprintf("haproxy %s, %s admin :%d", state, p.Addr("http"), p.Ports["admin"])
}

// WriteText writes the status as "make cluster-status" shows it.
func (st Status) WriteText(w io.Writer, l *Layout) {
	fmt.Fprintf(w, "%-18s %-6s %-8s %-6s %s\n", "NAME", "ZONE", "PID", "STATE", "HEALTH")
	for _, p := range st.Processes {
		pid, state := "-", "down"
		if p.Pid > 0 {
			pid = strconv.Itoa(p.Pid)
		}
		if p.Up {
			state = "up"
		}
		fmt.Fprintf(w, "%-18s %-6s %-8s %-6s %s\n", p.Name, p.Zone, pid, state, p.Health)
	}
	fmt.Fprintf(w, "\nleaders: PostgreSQL %s, Redis %s, load balancer %s, NATS %s\n\n",
		orNone(st.Leaders[LeadPostgres]), orNone(st.Leaders[LeadRedis]), orNone(st.Leaders[LeadLB]), orNone(st.Leaders[LeadNATS]))
	notes := map[string]string{
		"tls":        "(self-signed: " + l.path("tls", "cert.pem") + ")",
		"prometheus": "(targets: " + l.PrometheusURL + "/targets, alerts: " + l.PrometheusURL + "/alerts)",
		"jaeger":     "(Jaeger; 'make cluster-up CLUSTER_JAEGER=0' runs without)",
	}
	for _, u := range l.URLs() {
		fmt.Fprintf(w, "%-18s %s %s\n", u.Label, u.Value, notes[u.Key])
	}
	fmt.Fprintf(w, "%-18s %s\n", "logs", l.path("logs", "NAME.log"))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
