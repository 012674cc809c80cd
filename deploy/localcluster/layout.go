// Package localcluster runs a whole Vitrine cluster on one machine, laid
// over three zones, a, b and c, each a loopback range of its own
// (127.0.1.0/24, 127.0.2.0/24, 127.0.3.0/24). Each zone holds one member of
// every replicated part: a PostgreSQL server under Patroni and an etcd
// member (Patroni's store), a Redis server and a Sentinel, a NATS
// JetStream node, an HAProxy, and instances of every service. In front of
// the zones' balancers, the entry stands in for the reference's Route 53:
// a health-checked address that sends clients only to balancers that
// answer. The S3 gateway, Jaeger and Prometheus stand in for regional
// services and belong to no zone. Every part fails over by itself when a
// zone is lost; the zone faults (freeze, thaw, kill, start) let anyone
// try it.
//
// A Layout says where everything is: every process's name, kind, zone,
// host and ports, and every URL, computed once from a Config. A Cluster
// runs the layout: up, down, status, scale, one process or one zone at a
// time, switch over. The cluster's processes outlive the command that
// starts them; each writes its pid to DIR/pids/NAME.pid and its log to
// DIR/logs/NAME.log.
package localcluster

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Services are the Vitrine services, in the order they start: auth first,
// as the others fetch its key set through HAProxy when they start.
var Services = []string{"auth", "product", "search", "analytics"}

// MaxInstances is the number of server slots per backend in
// deploy/haproxy/haproxy.cfg (server-template SERVICE- 1-8): instances are
// numbered 1 to MaxInstances.
const MaxInstances = 8

// HealthPath is what HAProxy, compose and Kubernetes ask an instance to
// know whether it takes requests; the cluster waits for it too.
const HealthPath = "/readyz"

// Region is the zone of the processes that stand in for a region's
// services (the entry, the S3 gateway, Jaeger, Prometheus): losing a zone
// does not touch them.
const Region = "region"

// A Kind is what a process is.
type Kind string

// The kinds of process of the cluster.
const (
	KindEtcd       Kind = "etcd"     // Patroni's store
	KindPostgres   Kind = "postgres" // Patroni, and the PostgreSQL server it runs
	KindNATS       Kind = "nats"
	KindRedis      Kind = "redis"
	KindSentinel   Kind = "sentinel" // Redis Sentinel
	KindEntry      Kind = "entry"    // the health-checked entry in front of the zones' balancers
	KindS3         Kind = "s3"
	KindJaeger     Kind = "jaeger"
	KindHAProxy    Kind = "haproxy"
	KindVarnish    Kind = "varnish"          // the edge cache behind a zone's balancer
	KindEdgeStats  Kind = "varnish-exporter" // its counters for Prometheus
	KindPrometheus Kind = "prometheus"
	KindInstance   Kind = "instance" // vitrine serve --target=SERVICE
)

// A Process is one process of the layout and where it listens. Ports are
// by role: "http" and "admin" for an instance, "client", "cluster" and
// "monitor" for a NATS node, "http", "tls", "stats" and "api" for HAProxy…
type Process struct {
	Name  string         `json:"name"`
	Kind  Kind           `json:"kind"`
	Zone  string         `json:"zone"`
	Host  string         `json:"host"`
	Ports map[string]int `json:"ports"`
}

// Addr is host:port of one of the process's ports.
func (p Process) Addr(role string) string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Ports[role]))
}

// An Instance is one "vitrine serve --target=SERVICE" process: SERVICE-I,
// in zone Zones[(I-1)%3].
type Instance struct {
	Process
	Service     string
	Index       int
	URL         string // its own HTTP address, past HAProxy
	AdminURL    string // metrics and pprof
	PostgresURL string // the database, its zone's server first (where reads go while no server takes writes)
	ReplicaURL  string // the database for reads that may lag, its zone's server first
}

// A NATSNode is one node of the NATS cluster, nats-I.
type NATSNode struct {
	Process
	ClientURL  string
	MonitorURL string // /healthz, /jsz
}

// Layout is every name, port and URL of a cluster, computed from a Config.
type Layout struct {
	Config Config

	URL      string // the entry: the one address clients use
	TLSURL   string
	StatsURL string // the entry's stats page

	// PostgresURL names the three zones' servers; target_session_attrs
	// makes the services find whichever Patroni made the leader, before
	// and after a failover, with no restart. ReplicaURL prefers a standby
	// (--postgres-replica-url); each instance gets it with its own zone's
	// server first (Instance.ReplicaURL).
	PostgresURL string
	ReplicaURL  string
	NATSURL     string
	// RedisURL names the three Sentinels and the primary they watch:
	// the services ask them where the primary is, and again after a
	// failover.
	RedisURL string
	BlobURL  string // product pictures, shared by every product instance

	PrometheusURL string
	JaegerURL     string // query API and UI
	OTLPURL       string // the receiver every instance exports traces to

	fixed []Process // every process but the instances, in start order
}

// The S3 gateway's bucket and credentials, local to the cluster.
const (
	s3Bucket    = "vitrine-images"
	s3AccessKey = "vitrine-cluster"
	s3SecretKey = "vitrine-cluster-secret"
)

// s3Credentials are the environment that lets a vitrine process (an
// instance, the seed) use the cluster's S3 store.
func s3Credentials() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s3AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3SecretKey}
}

// loopback is where every process but HAProxy listens.
const loopback = "127.0.0.1"

// New computes the layout of cfg, once its values are checked.
func New(cfg Config) (*Layout, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := cfg.Ports
	l := &Layout{Config: cfg}
	hostPort := func(port int) string { return net.JoinHostPort(loopback, strconv.Itoa(port)) }
	entry := func(port int) string { return net.JoinHostPort(cfg.Bind, strconv.Itoa(port)) }
	l.URL = "http://" + entry(p.HTTP)
	l.TLSURL = "https://" + entry(p.TLS)
	l.StatsURL = "http://" + entry(p.Stats) + "/"
	l.PostgresURL = postgresURL(zoneAddrs(Zones, p.Postgres), "read-write")
	l.ReplicaURL = postgresURL(zoneAddrs(Zones, p.Postgres), "prefer-standby")
	var nats []string
	for _, addr := range zoneAddrs(Zones, p.NATS) {
		nats = append(nats, "nats://"+addr)
	}
	l.NATSURL = strings.Join(nats, ",")
	sentinels := zoneAddrs(Zones, p.Sentinel)
	l.RedisURL = fmt.Sprintf("redis://%s/0?master_name=%s&addr=%s", sentinels[0], RedisMaster, strings.Join(sentinels[1:], "&addr="))
	l.BlobURL = fmt.Sprintf("s3://%s?endpoint=http://%s&region=us-east-1&use_path_style=true", s3Bucket, hostPort(p.S3))
	l.PrometheusURL = "http://" + hostPort(p.Prometheus)
	l.JaegerURL = "http://" + hostPort(p.Jaeger)
	l.OTLPURL = "http://" + hostPort(p.JaegerOTLP)
	l.fixed = fixedProcesses(cfg)
	return l, l.checkPorts()
}

// postgresURL is a multi-host URL of the cluster's database: libpq's and
// pgx's target_session_attrs picks the server among hosts.
func postgresURL(hosts []string, attrs string) string {
	return fmt.Sprintf("postgres://postgres@%s/vitrine?target_session_attrs=%s&connect_timeout=2&sslmode=disable",
		strings.Join(hosts, ","), attrs)
}

// checkPorts refuses a layout in which two processes, or two roles of one,
// would listen on the same port (CLUSTER_SERVICE_PORT set 100 below
// CLUSTER_PORT, say).
func (l *Layout) checkPorts() error {
	owner := map[string]string{}
	var errs []error
	for _, p := range l.Processes() {
		for role := range p.Ports {
			addr := p.Addr(role)
			if other, ok := owner[addr]; ok {
				errs = append(errs, fmt.Errorf("%s and %s (%s) would both listen on %s", other, p.Name, role, addr))
			}
			owner[addr] = p.Name + " (" + role + ")"
		}
	}
	return errors.Join(errs...)
}

// fixedProcesses are the processes that are not instances, in the order
// they start.
func fixedProcesses(cfg Config) []Process {
	p := cfg.Ports
	var out []Process
	zoned := func(kind Kind, ports func() map[string]int) {
		for _, z := range Zones {
			out = append(out, Process{Name: string(kind) + "-" + z, Kind: kind, Zone: z, Host: ZoneHost(z), Ports: ports()})
		}
	}
	zoned(KindEtcd, func() map[string]int { return map[string]int{"client": p.Etcd, "peer": p.EtcdPeer} })
	out = renamed(out, KindEtcd, "etcd")
	zoned(KindPostgres, func() map[string]int { return map[string]int{"postgres": p.Postgres, "patroni": p.Patroni} })
	out = renamed(out, KindPostgres, "pg")
	zoned(KindNATS, func() map[string]int {
		return map[string]int{"client": p.NATS, "cluster": p.NATSRoute, "monitor": p.NATSMonitor}
	})
	zoned(KindRedis, func() map[string]int { return map[string]int{"redis": p.Redis} })
	zoned(KindSentinel, func() map[string]int { return map[string]int{"sentinel": p.Sentinel} })
	region := func(name string, kind Kind, ports map[string]int) Process {
		return Process{Name: name, Kind: kind, Zone: Region, Host: loopback, Ports: ports}
	}
	if cfg.Jaeger {
		out = append(out, region("jaeger", KindJaeger, map[string]int{"http": p.Jaeger, "grpc": p.Jaeger - 1, "otlp": p.JaegerOTLP}))
	}
	out = append(out, region("s3", KindS3, map[string]int{"http": p.S3}))
	if cfg.Edge {
		zoned(KindVarnish, func() map[string]int { return map[string]int{"http": p.Edge, "purge": p.EdgePurge} })
		zoned(KindEdgeStats, func() map[string]int { return map[string]int{"http": p.EdgeMetrics} })
	}
	zoned(KindHAProxy, func() map[string]int {
		ports := map[string]int{"http": p.HTTP, "tls": p.TLS, "stats": p.Stats, "api": p.API}
		if cfg.Edge {
			ports["origin"] = p.Origin
		}
		return ports
	})
	entry := region("entry", KindEntry, map[string]int{"http": p.HTTP, "tls": p.TLS, "stats": p.Stats, "api": p.API})
	entry.Host = cfg.Bind
	return append(out, entry, region("prometheus", KindPrometheus, map[string]int{"http": p.Prometheus}))
}

// renamed gives the processes of a kind a shorter name: pg-a for
// postgres-a.
func renamed(ps []Process, kind Kind, short string) []Process {
	for i := range ps {
		if ps[i].Kind == kind {
			ps[i].Name = short + strings.TrimPrefix(ps[i].Name, string(kind))
		}
	}
	return ps
}

// serviceOffset places each service's instances: SERVICE-I listens on
// Ports.Service + offset + I, its admin address 50 further.
var serviceOffset = map[string]int{"product": 100, "auth": 200, "search": 300, "analytics": 400}

const adminOffset = 50

// Instance is instance i (1 to MaxInstances) of a service. It panics on a
// service or a number outside the layout: callers check names with
// ParseInstance.
func (l *Layout) Instance(service string, i int) Instance {
	off, ok := serviceOffset[service]
	if !ok || i < 1 || i > MaxInstances {
		panic(fmt.Sprintf("localcluster: no instance %s-%d", service, i))
	}
	port := l.Config.Ports.Service + off + i
	zone := Zones[(i-1)%len(Zones)]
	p := Process{Name: fmt.Sprintf("%s-%d", service, i), Kind: KindInstance, Zone: zone, Host: ZoneHost(zone),
		Ports: map[string]int{"http": port, "admin": port + adminOffset}}
	return Instance{Process: p, Service: service, Index: i, URL: "http://" + p.Addr("http"), AdminURL: "http://" + p.Addr("admin"),
		PostgresURL: postgresURL(zoneAddrs(nearFirst(zone), l.Config.Ports.Postgres), "read-write"),
		ReplicaURL:  postgresURL(zoneAddrs(nearFirst(zone), l.Config.Ports.Postgres), "prefer-standby")}
}

// ParseInstance splits an instance's name (product-3) into its service and
// number, and says whether the layout has it.
func ParseInstance(name string) (service string, i int, ok bool) {
	at := strings.LastIndexByte(name, '-')
	if at < 0 {
		return "", 0, false
	}
	service = name[:at]
	i, err := strconv.Atoi(name[at+1:])
	if err != nil || !slices.Contains(Services, service) || i < 1 || i > MaxInstances {
		return "", 0, false
	}
	return service, i, true
}

// NATS is zone z's node of the NATS cluster.
func (l *Layout) NATS(z string) NATSNode {
	p := l.mustProcess("nats-" + z)
	return NATSNode{Process: p, ClientURL: "nats://" + p.Addr("client"), MonitorURL: "http://" + p.Addr("monitor")}
}

// NATSNodes are the three nodes of the NATS cluster.
func (l *Layout) NATSNodes() []NATSNode {
	var out []NATSNode
	for _, z := range Zones {
		out = append(out, l.NATS(z))
	}
	return out
}

// Zoned is the process of a kind in zone z: Zoned(KindRedis, "b") is
// redis-b.
func (l *Layout) Zoned(kind Kind, z string) Process {
	for _, p := range l.fixed {
		if p.Kind == kind && p.Zone == z {
			return p
		}
	}
	panic(fmt.Sprintf("localcluster: no %s in zone %s", kind, z))
}

// OfKind are the processes of a kind, in zone order.
func (l *Layout) OfKind(kind Kind) []Process {
	var out []Process
	for _, p := range l.fixed {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// S3, Prometheus and Entry are the processes of those names.
func (l *Layout) S3() Process         { return l.mustProcess("s3") }
func (l *Layout) Prometheus() Process { return l.mustProcess("prometheus") }
func (l *Layout) Entry() Process      { return l.mustProcess("entry") }

// Process finds any process of the layout by name, instances included.
func (l *Layout) Process(name string) (Process, bool) {
	if svc, i, ok := ParseInstance(name); ok {
		return l.Instance(svc, i).Process, true
	}
	for _, p := range l.fixed {
		if p.Name == name {
			return p, true
		}
	}
	return Process{}, false
}

func (l *Layout) mustProcess(name string) Process {
	p, ok := l.Process(name)
	if !ok {
		panic("localcluster: no process " + name)
	}
	return p
}

// Processes are every process the layout can run: the fixed ones in start
// order, then every instance slot of every service.
func (l *Layout) Processes() []Process {
	out := slices.Clone(l.fixed)
	for _, svc := range Services {
		for i := 1; i <= MaxInstances; i++ {
			out = append(out, l.Instance(svc, i).Process)
		}
	}
	return out
}

// HAProxyEnv is the environment deploy/haproxy/haproxy.cfg reads a zone's
// balancer's addresses and files from ("${CLUSTER_PORT}"…); behind the
// entry, it takes the PROXY protocol, which carries each client's address.
// With the edge, it sends the public reads to its zone's Varnish and
// serves that Varnish's misses on its "origin" port.
func (l *Layout) HAProxyEnv(lb Process) []string {
	env := []string{
		"CLUSTER_BIND=" + lb.Host,
		"CLUSTER_PORT=" + strconv.Itoa(lb.Ports["http"]),
		"CLUSTER_TLS_PORT=" + strconv.Itoa(lb.Ports["tls"]),
		"CLUSTER_STATS_PORT=" + strconv.Itoa(lb.Ports["stats"]),
		"CLUSTER_API_PORT=" + strconv.Itoa(lb.Ports["api"]),
		"CLUSTER_TLS_PEM=" + l.path("tls", "cluster.pem"),
		"CLUSTER_BEHIND_ENTRY=1",
	}
	if l.Config.Edge {
		env = append(env, "CLUSTER_EDGE_ADDR="+l.Zoned(KindVarnish, lb.Zone).Addr("http"),
			"CLUSTER_ORIGIN_PORT="+strconv.Itoa(lb.Ports["origin"]))
	}
	return env
}

// EntryEnv is the environment deploy/haproxy/entry.cfg reads: its own
// addresses, and each zone's balancer's.
func (l *Layout) EntryEnv() []string {
	e := l.Entry()
	env := []string{
		"ENTRY_BIND=" + e.Host,
		"ENTRY_PORT=" + strconv.Itoa(e.Ports["http"]),
		"ENTRY_TLS_PORT=" + strconv.Itoa(e.Ports["tls"]),
		"ENTRY_STATS_PORT=" + strconv.Itoa(e.Ports["stats"]),
		"ENTRY_API_PORT=" + strconv.Itoa(e.Ports["api"]),
	}
	for _, lb := range l.OfKind(KindHAProxy) {
		z := strings.ToUpper(lb.Zone)
		env = append(env, "LB_"+z+"_HOST="+lb.Host, "LB_"+z+"_STATS_PORT="+strconv.Itoa(lb.Ports["stats"]))
	}
	return env
}
