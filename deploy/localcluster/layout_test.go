package localcluster

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func testConfig(t *testing.T, getenv func(string) string) Config {
	t.Helper()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(root, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func noEnv(string) string { return "" }

func TestEveryProcessHasANameAndPortsOfItsOwn(t *testing.T) {
	for _, d := range []int{0, 2, 3, 4, 5} {
		cfg := testConfig(t, noEnv)
		if d > 0 {
			cfg.Ports = cfg.Ports.InRange(d)
		}
		l, err := New(cfg)
		if err != nil {
			t.Fatalf("range %d: %v", d, err)
		}
		names, addrs := map[string]bool{}, map[string]string{}
		for _, p := range l.Processes() {
			if p.Name == "" || p.Kind == "" || p.Zone == "" || net.ParseIP(p.Host) == nil || len(p.Ports) == 0 {
				t.Errorf("range %d: incomplete process %+v", d, p)
			}
			if names[p.Name] {
				t.Errorf("range %d: two processes named %s", d, p.Name)
			}
			names[p.Name] = true
			for role, port := range p.Ports {
				if port < 1024 || port > 65535 {
					t.Errorf("range %d: %s (%s) on port %d", d, p.Name, role, port)
				}
				if d > 0 && port/10000 != d {
					t.Errorf("range %d: %s (%s) on port %d, outside its range", d, p.Name, role, port)
				}
				if other, ok := addrs[p.Addr(role)]; ok {
					t.Errorf("range %d: %s (%s) and %s both on %s", d, p.Name, role, other, p.Addr(role))
				}
				addrs[p.Addr(role)] = p.Name + " " + role
			}
		}
		// In each zone etcd, PostgreSQL, NATS, Redis, Sentinel, Varnish
		// and its exporter, and HAProxy; Jaeger, S3, the entry and
		// Prometheus; and the slots of four services.
		if want := 8*len(Zones) + 4 + 4*MaxInstances; len(names) != want {
			t.Errorf("range %d: %d processes, want %d", d, len(names), want)
		}
	}
}

func TestTheDefaultLayoutIsTodays(t *testing.T) {
	l, err := New(testConfig(t, noEnv))
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		l.URL:                              "http://127.0.0.1:8088",
		l.TLSURL:                           "https://127.0.0.1:8443",
		l.StatsURL:                         "http://127.0.0.1:8404/",
		l.PostgresURL:                      "postgres://postgres@127.0.1.1:15432,127.0.2.1:15432,127.0.3.1:15432/vitrine?target_session_attrs=read-write&connect_timeout=2&sslmode=disable",
		l.ReplicaURL:                       "postgres://postgres@127.0.1.1:15432,127.0.2.1:15432,127.0.3.1:15432/vitrine?target_session_attrs=prefer-standby&connect_timeout=2&sslmode=disable",
		l.NATSURL:                          "nats://127.0.1.1:14222,nats://127.0.2.1:14222,nats://127.0.3.1:14222",
		l.RedisURL:                         "redis://127.0.1.1:16380/0?master_name=vitrine&addr=127.0.2.1:16380&addr=127.0.3.1:16380",
		l.BlobURL:                          "s3://vitrine-images?endpoint=http://127.0.0.1:19000&region=us-east-1&use_path_style=true",
		l.PrometheusURL:                    "http://127.0.0.1:19090",
		l.JaegerURL:                        "http://127.0.0.1:16686",
		l.OTLPURL:                          "http://127.0.0.1:14318",
		l.Instance("product", 3).URL:       "http://127.0.3.1:18103",
		l.Instance("auth", 1).AdminURL:     "http://127.0.1.1:18251",
		l.Instance("analytics", 8).URL:     "http://127.0.2.1:18408",
		l.Instance("search", 2).ReplicaURL: "postgres://postgres@127.0.2.1:15432,127.0.1.1:15432,127.0.3.1:15432/vitrine?target_session_attrs=prefer-standby&connect_timeout=2&sslmode=disable",
		l.NATS("b").MonitorURL:             "http://127.0.2.1:14822",
		l.NATS("c").ClientURL:              "nats://127.0.3.1:14222",
		l.Zoned(KindPostgres, "b").Addr("patroni"): "127.0.2.1:18008",
		l.Zoned(KindEtcd, "c").Addr("peer"):        "127.0.3.1:12380",
		l.Entry().Host:                             "127.0.0.1",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if l.Config.Instances != 3 || !l.Config.Jaeger || !strings.HasSuffix(l.Config.Dir, "/.cluster") {
		t.Errorf("defaults: %d instances, Jaeger %v, directory %s", l.Config.Instances, l.Config.Jaeger, l.Config.Dir)
	}
}

func TestEveryURLParsesAndNamesAPortOfTheLayout(t *testing.T) {
	l, err := New(testConfig(t, noEnv))
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]bool{}
	for _, p := range l.Processes() {
		for _, port := range p.Ports {
			ports[strconv.Itoa(port)] = true
		}
	}
	for _, u := range l.URLs() {
		for _, one := range strings.Split(u.Value, ",") {
			if !strings.Contains(one, "://") { // the other hosts of the PostgreSQL URLs
				one = "postgres://" + one
			}
			parsed, err := url.Parse(one)
			if err != nil {
				t.Errorf("%s: %v", u.Key, err)
				continue
			}
			port := parsed.Port()
			if u.Key == "blob" {
				endpoint, _ := url.Parse(parsed.Query().Get("endpoint"))
				port = endpoint.Port()
			}
			if !ports[port] {
				t.Errorf("%s=%s: port %q is no process's", u.Env, u.Value, port)
			}
		}
	}
}

func TestTheEnvironmentSetsTheLayout(t *testing.T) {
	env := map[string]string{"CLUSTER_DIR": "/tmp/elsewhere", "CLUSTER_PORT": "9088", "CLUSTER_SERVICE_PORT": "38000",
		"CLUSTER_INSTANCES": "3", "CLUSTER_JAEGER": "0", "CLUSTER_SERVE_ARGS": "--log-level debug", "HOME": "/home/x"}
	cfg := testConfig(t, func(k string) string { return env[k] })
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.URL != "http://127.0.0.1:9088" || l.Instance("search", 2).URL != "http://127.0.2.1:38302" || l.Config.Dir != "/tmp/elsewhere" {
		t.Errorf("URL %s, search-2 %s, directory %s", l.URL, l.Instance("search", 2).URL, l.Config.Dir)
	}
	if _, ok := l.Process("jaeger"); ok {
		t.Error("CLUSTER_JAEGER=0 and Jaeger is in the layout")
	}
	if l.Config.Instances != 3 || strings.Join(l.Config.ServeArgs, " ") != "--log-level debug" {
		t.Errorf("%d instances, serve args %q", l.Config.Instances, l.Config.ServeArgs)
	}
	if !strings.HasPrefix(l.Config.JaegerBin, "/home/x/.cache/vitrine/jaeger-v") {
		t.Errorf("Jaeger's binary: %s", l.Config.JaegerBin)
	}
}

func TestALayoutWhosePortsCollideIsRefused(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"instances on HAProxy":   {"CLUSTER_SERVICE_PORT": "7987"}, // product-1 on 8088
		"PostgreSQL on Redis":    {"CLUSTER_PG_PORT": "16379"},
		"nine instances":         {"CLUSTER_INSTANCES": "9"},
		"a port that is no port": {"CLUSTER_PORT": "70000"},
		"a bind that is no IP":   {"CLUSTER_BIND": "localhost"},
	} {
		root, _ := FindRoot(".")
		cfg, err := LoadConfig(root, func(k string) string { return env[k] })
		if err == nil {
			_, err = New(cfg)
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestInstanceNames(t *testing.T) {
	for name, want := range map[string]bool{"product-3": true, "analytics-8": true, "auth-0": false, "search-9": false,
		"redis-a": false, "nats-b": false, "product-x": false, "pg-c": false} {
		if _, _, ok := ParseInstance(name); ok != want {
			t.Errorf("ParseInstance(%q) = %v, want %v", name, ok, want)
		}
	}
	l, _ := New(testConfig(t, noEnv))
	for _, svc := range Services {
		for i := 1; i <= MaxInstances; i++ {
			inst := l.Instance(svc, i)
			if s, n, ok := ParseInstance(inst.Name); !ok || s != svc || n != i {
				t.Errorf("%s parses as %s %d %v", inst.Name, s, n, ok)
			}
		}
	}
}
