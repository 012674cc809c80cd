// Package localcluster runs a whole Vitrine cluster on one machine: a
// PostgreSQL primary and a streaming replica, a three-node NATS JetStream
// cluster, Redis, an S3 gateway for product pictures, Jaeger, N instances
// of each service behind HAProxy, and Prometheus scraping them, each on
// ports of its own under one directory, so the machine's own PostgreSQL,
// Redis and NATS are never touched.
//
// A Layout says where everything is: every process's name, kind, zone,
// host and ports, and every URL, computed once from a Config. A Cluster
// runs the layout: up, down, status, scale, one process at a time, fail
// over. The cluster's processes outlive the command that starts them; each
// writes its pid to DIR/pids/NAME.pid and its log to DIR/logs/NAME.log.
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

// DefaultZone is the one zone of this layout; every process is in it.
const DefaultZone = "local"

// A Kind is what a process is.
type Kind string

// The kinds of process of the cluster.
const (
	KindPostgres   Kind = "postgres"
	KindNATS       Kind = "nats"
	KindRedis      Kind = "redis"
	KindS3         Kind = "s3"
	KindJaeger     Kind = "jaeger"
	KindHAProxy    Kind = "haproxy"
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

// An Instance is one "vitrine serve --target=SERVICE" process: SERVICE-I.
type Instance struct {
	Process
	Service  string
	Index    int
	URL      string // its own HTTP address, past HAProxy
	AdminURL string // metrics and pprof
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

	URL      string // the load balancer
	TLSURL   string
	StatsURL string
	APIAddr  string // HAProxy's runtime API (admin level: private)

	// PostgresURL names the primary and the replica, tried in order: the
	// services reach whichever takes writes, before and after a failover,
	// with no restart. ReplicaURL is the replica alone, for the reads
	// that may lag (--postgres-replica-url).
	PostgresURL string
	ReplicaURL  string
	NATSURL     string
	RedisURL    string
	BlobURL     string // product pictures, shared by every product instance

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
	lb := func(port int) string { return net.JoinHostPort(cfg.Bind, strconv.Itoa(port)) }
	l.URL = "http://" + lb(p.HTTP)
	l.TLSURL = "https://" + lb(p.TLS)
	l.StatsURL = "http://" + lb(p.Stats) + "/"
	l.APIAddr = lb(p.API)
	l.PostgresURL = fmt.Sprintf("postgres://postgres@%s,%s/vitrine?target_session_attrs=any&connect_timeout=2&sslmode=disable",
		hostPort(p.Postgres), hostPort(p.Postgres+1))
	l.ReplicaURL = fmt.Sprintf("postgres://postgres@%s/vitrine?connect_timeout=2&sslmode=disable", hostPort(p.Postgres+1))
	var nats []string
	for i := 1; i <= 3; i++ {
		nats = append(nats, "nats://"+hostPort(p.NATS+i-1))
	}
	l.NATSURL = strings.Join(nats, ",")
	l.RedisURL = "redis://" + hostPort(p.Redis) + "/0"
	l.BlobURL = fmt.Sprintf("s3://%s?endpoint=http://%s&region=us-east-1&use_path_style=true", s3Bucket, hostPort(p.S3))
	l.PrometheusURL = "http://" + hostPort(p.Prometheus)
	l.JaegerURL = "http://" + hostPort(p.Jaeger)
	l.OTLPURL = "http://" + hostPort(p.JaegerOTLP)
	l.fixed = fixedProcesses(cfg)
	return l, l.checkPorts()
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
	proc := func(name string, kind Kind, ports map[string]int) Process {
		return Process{Name: name, Kind: kind, Zone: DefaultZone, Host: loopback, Ports: ports}
	}
	out := []Process{
		proc("pg-primary", KindPostgres, map[string]int{"postgres": p.Postgres}),
		proc("pg-replica", KindPostgres, map[string]int{"postgres": p.Postgres + 1}),
	}
	for i := 1; i <= 3; i++ {
		out = append(out, proc(fmt.Sprintf("nats-%d", i), KindNATS,
			map[string]int{"client": p.NATS + i - 1, "cluster": p.NATSRoute + i - 1, "monitor": p.NATSMonitor + i - 1}))
	}
	out = append(out, proc("redis", KindRedis, map[string]int{"redis": p.Redis}))
	if cfg.Jaeger {
		out = append(out, proc("jaeger", KindJaeger, map[string]int{"http": p.Jaeger, "grpc": p.Jaeger - 1, "otlp": p.JaegerOTLP}))
	}
	out = append(out, proc("s3", KindS3, map[string]int{"http": p.S3}))
	hap := proc("haproxy", KindHAProxy, map[string]int{"http": p.HTTP, "tls": p.TLS, "stats": p.Stats, "api": p.API})
	hap.Host = cfg.Bind
	out = append(out, hap, proc("prometheus", KindPrometheus, map[string]int{"http": p.Prometheus}))
	return out
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
	p := Process{Name: fmt.Sprintf("%s-%d", service, i), Kind: KindInstance, Zone: DefaultZone, Host: loopback,
		Ports: map[string]int{"http": port, "admin": port + adminOffset}}
	return Instance{Process: p, Service: service, Index: i, URL: "http://" + p.Addr("http"), AdminURL: "http://" + p.Addr("admin")}
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

// NATS is node i (1 to 3) of the NATS cluster.
func (l *Layout) NATS(i int) NATSNode {
	p := l.mustProcess(fmt.Sprintf("nats-%d", i))
	return NATSNode{Process: p, ClientURL: "nats://" + p.Addr("client"), MonitorURL: "http://" + p.Addr("monitor")}
}

// NATSNodes are the three nodes of the NATS cluster.
func (l *Layout) NATSNodes() []NATSNode {
	return []NATSNode{l.NATS(1), l.NATS(2), l.NATS(3)}
}

// Postgres is the server started as role "primary" or "replica" (after a
// failover the replica is the one that takes writes).
func (l *Layout) Postgres(role string) Process { return l.mustProcess("pg-" + role) }

// Redis, S3 and Prometheus are the processes of those names.
func (l *Layout) Redis() Process      { return l.mustProcess("redis") }
func (l *Layout) S3() Process         { return l.mustProcess("s3") }
func (l *Layout) Prometheus() Process { return l.mustProcess("prometheus") }
func (l *Layout) HAProxy() Process    { return l.mustProcess("haproxy") }

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

// HAProxyEnv is the environment deploy/haproxy/haproxy.cfg reads its
// addresses and files from ("${CLUSTER_PORT}"…).
func (l *Layout) HAProxyEnv() []string {
	p := l.Config.Ports
	return []string{
		"CLUSTER_BIND=" + l.Config.Bind,
		"CLUSTER_PORT=" + strconv.Itoa(p.HTTP),
		"CLUSTER_TLS_PORT=" + strconv.Itoa(p.TLS),
		"CLUSTER_STATS_PORT=" + strconv.Itoa(p.Stats),
		"CLUSTER_API_PORT=" + strconv.Itoa(p.API),
		"CLUSTER_TLS_PEM=" + l.path("tls", "cluster.pem"),
	}
}
