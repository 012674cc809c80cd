package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Ports are where each kind of process listens; the processes of a kind
// that has several take the ports that follow.
type Ports struct {
	HTTP        int // the entry (CLUSTER_BIND), and each zone's HAProxy on its zone's address
	TLS         int // HTTPS, likewise
	Stats       int // the stats page, likewise
	API         int // the runtime API, likewise
	Origin      int // each zone's HAProxy's "origin" frontend, where its edge cache fetches misses
	Edge        int // each zone's edge cache (Varnish): the listener its HAProxy sends reads to
	EdgePurge   int // and the one the product instances purge on
	EdgeMetrics int // each zone's Varnish exporter (prometheus-varnish-exporter)
	Postgres    int // each zone's PostgreSQL
	Patroni     int // each zone's Patroni REST API
	Etcd        int // each zone's etcd member: clients
	EtcdPeer    int // and its peers
	Redis       int // each zone's Redis
	Sentinel    int // each zone's Redis Sentinel
	S3          int
	NATS        int // each zone's NATS node
	NATSRoute   int // the NATS cluster's routes
	NATSMonitor int // the NATS nodes' monitoring (/healthz, /jsz)
	Service     int // product-I on +100+I, auth +200+I, search +300+I, analytics +400+I; admin +50
	Prometheus  int
	Jaeger      int // query API and UI; its gRPC API on the port before
	JaegerOTLP  int // the OTLP/HTTP receiver the instances export to
}

// portVar ties a port to the environment variable that sets it.
type portVar struct {
	env  string
	port *int
}

func (p *Ports) vars() []portVar {
	return []portVar{
		{"CLUSTER_PORT", &p.HTTP}, {"CLUSTER_TLS_PORT", &p.TLS}, {"CLUSTER_STATS_PORT", &p.Stats},
		{"CLUSTER_API_PORT", &p.API}, {"CLUSTER_ORIGIN_PORT", &p.Origin}, {"CLUSTER_EDGE_PORT", &p.Edge},
		{"CLUSTER_EDGE_PURGE_PORT", &p.EdgePurge}, {"CLUSTER_EDGE_METRICS_PORT", &p.EdgeMetrics},
		{"CLUSTER_PG_PORT", &p.Postgres}, {"CLUSTER_PATRONI_PORT", &p.Patroni},
		{"CLUSTER_ETCD_PORT", &p.Etcd}, {"CLUSTER_ETCD_PEER_PORT", &p.EtcdPeer},
		{"CLUSTER_REDIS_PORT", &p.Redis}, {"CLUSTER_SENTINEL_PORT", &p.Sentinel},
		{"CLUSTER_S3_PORT", &p.S3}, {"CLUSTER_NATS_PORT", &p.NATS}, {"CLUSTER_NATS_ROUTE_PORT", &p.NATSRoute},
		{"CLUSTER_NATS_HTTP_PORT", &p.NATSMonitor}, {"CLUSTER_SERVICE_PORT", &p.Service},
		{"CLUSTER_PROMETHEUS_PORT", &p.Prometheus}, {"CLUSTER_JAEGER_PORT", &p.Jaeger},
		{"CLUSTER_JAEGER_OTLP_PORT", &p.JaegerOTLP},
	}
}

// DefaultPorts keep clear of the machine's own PostgreSQL (5432), Redis
// (6379) and NATS (4222), which listen on 127.0.0.1, where the zones'
// processes do not.
func DefaultPorts() Ports {
	return Ports{HTTP: 8088, TLS: 8443, Stats: 8404, API: 8405, Origin: 8089, Edge: 16081, EdgePurge: 16091, EdgeMetrics: 16131, Postgres: 15432, Patroni: 18008, Etcd: 12379, EtcdPeer: 12380,
		Redis: 16379, Sentinel: 16380, S3: 19000,
		NATS: 14222, NATSRoute: 16222, NATSMonitor: 14822, Service: 18000, Prometheus: 19090,
		Jaeger: 16686, JaegerOTLP: 14318}
}

// InRange moves every port to the ten-thousands range d, keeping its last
// four digits (2: 28088, 25432…), so that clusters in different ranges
// share a machine. The instances go to d7000 (product-1 on 27101): from
// d8000 they would meet HAProxy's stats page and runtime API (d8404 and
// d8405 are analytics-4 and -5 there).
func (p Ports) InRange(d int) Ports {
	for _, v := range p.vars() {
		*v.port = d*10000 + *v.port%10000
	}
	p.Service = d*10000 + 7000
	return p
}

// etcdToken tells one cluster's etcd apart from another's on the same
// machine.
func (p Ports) etcdToken() string { return strconv.Itoa(p.Etcd) }

// Config is what a cluster is made of; LoadConfig reads it from the
// environment, with the defaults of "make cluster-up".
type Config struct {
	Root      string // the repository: configurations, and the sources of vitrine
	Dir       string // CLUSTER_DIR: data, pids, logs
	Bind      string // CLUSTER_BIND: HAProxy's address
	Ports     Ports  // CLUSTER_PORT_RANGE=D moves them all (Ports.InRange), then each CLUSTER_*_PORT sets one
	Instances int    // CLUSTER_INSTANCES of each service at "up"; 3 puts one in each zone
	Jaeger    bool   // CLUSTER_JAEGER=0: no Jaeger, no tracing
	Edge      bool   // CLUSTER_EDGE=0: no edge cache; the zones' balancers send every request to the instances

	ReplicaDelay    string   // CLUSTER_REPLICA_DELAY, e.g. 1s: the replicas' recovery_min_apply_delay
	ServeArgs       []string // CLUSTER_SERVE_ARGS: more flags for every "vitrine serve"
	InstanceNATSURL string   // CLUSTER_INSTANCE_NATS_URL: the NATS URL of the instances this command starts
	InstanceEnv     []string // more environment for every instance (NAME=VALUE)
	Sampler         string   // OTEL_TRACES_SAMPLER of the instances
	SamplerArg      string   // OTEL_TRACES_SAMPLER_ARG

	AdminEmail    string // CLUSTER_ADMIN_EMAIL: an admin user made at "up"
	AdminPassword string // CLUSTER_ADMIN_PASSWORD; passed in the environment, never logged

	PGBin           string // PG_BIN: initdb, pg_ctl, pg_basebackup; the newest under /usr/lib/postgresql
	VitrineBin      string // VITRINE_BIN: built by "up" into DIR/bin
	VitrinePrebuilt bool   // VITRINE_BIN_PREBUILT: "up" does not build it
	HAProxyConfig   string // HAPROXY_CFG: deploy/haproxy/haproxy.cfg
	JaegerBin       string // JAEGER_BIN: built once per machine, named after its version
	S3Bin           string // the S3 gateway deploy/local/install-s3.sh builds
}

// LoadConfig reads the cluster's configuration from the environment
// (getenv), with root as the repository.
func LoadConfig(root string, getenv func(string) string) (Config, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	dir, err := filepath.Abs(or("CLUSTER_DIR", filepath.Join(root, ".cluster")))
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Root: root, Dir: dir, Bind: or("CLUSTER_BIND", loopback), Ports: DefaultPorts(),
		Jaeger: getenv("CLUSTER_JAEGER") != "0", Edge: getenv("CLUSTER_EDGE") != "0",
		ReplicaDelay: getenv("CLUSTER_REPLICA_DELAY"),
		ServeArgs:    strings.Fields(getenv("CLUSTER_SERVE_ARGS")), InstanceNATSURL: getenv("CLUSTER_INSTANCE_NATS_URL"),
		Sampler: or("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), SamplerArg: or("OTEL_TRACES_SAMPLER_ARG", "0.05"),
		AdminEmail: getenv("CLUSTER_ADMIN_EMAIL"), AdminPassword: getenv("CLUSTER_ADMIN_PASSWORD"),
		PGBin: or("PG_BIN", newestPGBin()), VitrineBin: or("VITRINE_BIN", filepath.Join(dir, "bin", "vitrine")),
		VitrinePrebuilt: getenv("VITRINE_BIN_PREBUILT") != "",
		HAProxyConfig:   or("HAPROXY_CFG", filepath.Join(root, "deploy", "haproxy", "haproxy.cfg")),
	}
	if c.Instances, err = strconv.Atoi(or("CLUSTER_INSTANCES", "3")); err != nil {
		return Config{}, fmt.Errorf("CLUSTER_INSTANCES: %w", err)
	}
	if r := getenv("CLUSTER_PORT_RANGE"); r != "" {
		d, err := strconv.Atoi(r)
		if err != nil || d < 1 || d > 5 {
			return Config{}, fmt.Errorf("CLUSTER_PORT_RANGE=%q: want 1 to 5 (the ten-thousands digit of every port)", r)
		}
		c.Ports = c.Ports.InRange(d)
	}
	for _, v := range c.Ports.vars() {
		if s := getenv(v.env); s != "" {
			if *v.port, err = strconv.Atoi(s); err != nil {
				return Config{}, fmt.Errorf("%s: %w", v.env, err)
			}
		}
	}
	home := getenv("HOME")
	c.S3Bin = filepath.Join(or("VITRINE_CACHE", filepath.Join(home, ".cache", "vitrine")), "bin", "versitygw")
	c.JaegerBin = getenv("JAEGER_BIN")
	if c.JaegerBin == "" {
		version, err := jaegerVersion(root)
		if err != nil {
			return Config{}, err
		}
		c.JaegerBin = filepath.Join(or("XDG_CACHE_HOME", filepath.Join(home, ".cache")), "vitrine", "jaeger-"+version)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	for _, v := range c.Ports.vars() {
		// The ports that follow a kind's first (analytics-8's admin
		// port…) must be ports too.
		if *v.port < 2 || *v.port > 65535-500 {
			errs = append(errs, fmt.Errorf("%s=%d: want a port from 2 to %d", v.env, *v.port, 65535-500))
		}
	}
	if c.Instances < 1 || c.Instances > MaxInstances {
		errs = append(errs, fmt.Errorf("CLUSTER_INSTANCES=%d: instances are numbered 1 to %d", c.Instances, MaxInstances))
	}
	if net.ParseIP(c.Bind) == nil {
		errs = append(errs, fmt.Errorf("CLUSTER_BIND=%q is not an IP address", c.Bind))
	}
	if !filepath.IsAbs(c.Dir) || !filepath.IsAbs(c.Root) {
		errs = append(errs, fmt.Errorf("the cluster's directory (%s) and the repository (%s) must be absolute paths", c.Dir, c.Root))
	}
	return errors.Join(errs...)
}

// newestPGBin is the bin directory of the newest PostgreSQL Debian has
// installed, or "" when there is none.
func newestPGBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	if len(dirs) == 0 {
		return ""
	}
	return dirs[len(dirs)-1]
}

// jaegerVersion is the version of Jaeger that deploy/tools/go.mod pins;
// the binary's name carries it, so a new version is built once, beside
// the old.
func jaegerVersion(root string) (string, error) {
	const module = "github.com/jaegertracing/jaeger"
	path := filepath.Join(root, "deploy", "tools", "go.mod")
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s does not require %s", path, module)
}

// FindRoot is the repository that holds dir: the first directory, from
// dir up, whose go.mod is Vitrine's.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/vitrine-dev/vitrine\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the Vitrine repository", dir)
		}
	}
}
