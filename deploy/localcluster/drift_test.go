package localcluster

// The cluster is described four times: this package's layout, which runs
// it on one machine; deploy/haproxy/haproxy.cfg, which the layout drives;
// compose.yaml with deploy/compose/haproxy.cfg; and the Kubernetes base.
// The files stay hand-written, where they read best, and these tests hold
// each to the layout: the services' names, the path routes, the health
// checks, the server slots.

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// haproxyConfig is an HAProxy configuration's sections ("defaults",
// "frontend public", "backend auth"...), each a list of its lines with
// their words joined by one space, without comments.
type haproxyConfig map[string][]string

func readHAProxyConfig(t *testing.T, rel string) haproxyConfig {
	t.Helper()
	cfg := haproxyConfig{}
	var section string
	for line := range strings.Lines(string(repoFile(t, rel))) {
		indented := strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ")
		if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) == "" {
			continue
		}
		switch {
		case strings.HasPrefix(line, "."): // .if, .else, .endif: the section goes on
			continue
		case !indented:
			section = strings.Join(strings.Fields(line), " ")
			continue
		}
		cfg[section] = append(cfg[section], strings.Join(strings.Fields(line), " "))
	}
	return cfg
}

// routes are a frontend's path routes (each path_beg prefix of an acl that
// a use_backend names, and its backend) and its default backend. The reads
// compose sends to its edge cache first (use_backend edge) are left out:
// they go where these routes say when the edge is down, and
// deploy/deploytest checks that the edge fetches them from there.
func (h haproxyConfig) routes(t *testing.T, frontend string) (map[string]string, string) {
	t.Helper()
	acls, routes, def := map[string][]string{}, map[string]string{}, ""
	for _, line := range h["frontend "+frontend] {
		f := strings.Fields(line)
		switch {
		case f[0] == "use_backend" && f[1] == "edge":
		case f[0] == "acl" && len(f) > 3 && f[2] == "path_beg":
			acls[f[1]] = f[3:]
		case f[0] == "use_backend" && len(f) == 4 && f[2] == "if":
			prefixes, ok := acls[f[3]]
			if !ok {
				t.Errorf("frontend %s: use_backend %s if %s, an acl it does not define with path_beg", frontend, f[1], f[3])
			}
			for _, p := range prefixes {
				routes[p] = f[1]
			}
		case f[0] == "use_backend":
			t.Errorf("frontend %s: %q: the test reads use_backend BACKEND if ACL only", frontend, line)
		case f[0] == "default_backend":
			def = f[1]
		}
	}
	return routes, def
}

func (h haproxyConfig) backends() []string {
	var out []string
	for name := range h {
		if b, ok := strings.CutPrefix(name, "backend "); ok {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

func layoutRoutes() map[string]string {
	out := map[string]string{}
	for _, r := range Routes {
		out[r.Prefix] = r.Service
	}
	return out
}

var haproxyConfigs = []string{"deploy/haproxy/haproxy.cfg", "deploy/compose/haproxy.cfg"}

func TestHAProxyRoutesThePathsOfTheLayout(t *testing.T) {
	for _, file := range haproxyConfigs {
		cfg := readHAProxyConfig(t, file)
		routes, def := cfg.routes(t, "public")
		if want := layoutRoutes(); !maps.Equal(routes, want) {
			t.Errorf("%s routes %v, the layout %v", file, routes, want)
		}
		if def != DefaultService {
			t.Errorf("%s sends other paths to %q, the layout to %q", file, def, DefaultService)
		}
		got := slices.DeleteFunc(cfg.backends(), func(b string) bool { return b == "edge" })
		if want := slices.Sorted(slices.Values(Services)); !slices.Equal(got, want) {
			t.Errorf("%s has backends %v (besides the edge), the layout services %v", file, got, want)
		}
	}
}

func TestHAProxyChecksTheHealthPathOfTheLayout(t *testing.T) {
	for _, file := range haproxyConfigs {
		defaults := readHAProxyConfig(t, file)["defaults"]
		for _, want := range []string{"option httpchk", "http-check send meth GET uri " + HealthPath, "http-check expect status 200"} {
			if !slices.Contains(defaults, want) {
				t.Errorf("%s: the defaults lack %q", file, want)
			}
		}
	}
}

// The local cluster fills the slots of server-template through the
// runtime API, by the instances' names; compose names each instance.
func TestHAProxyServersAreTheInstancesOfTheLayout(t *testing.T) {
	l, err := New(testConfig(t, noEnv))
	if err != nil {
		t.Fatal(err)
	}
	local, compose := readHAProxyConfig(t, haproxyConfigs[0]), readHAProxyConfig(t, haproxyConfigs[1])
	slot := regexp.MustCompile(`^server-template (\S+) 1-(\d+) \S+ check disabled$`)
	for _, svc := range Services {
		var templates []string
		for _, line := range local["backend "+svc] {
			if m := slot.FindStringSubmatch(line); m != nil {
				templates = append(templates, m[1]+m[2])
			}
		}
		// The last slot's name: SERVICE-8.
		if want := l.Instance(svc, MaxInstances).Name; len(templates) != 1 || templates[0] != want {
			t.Errorf("backend %s has server templates ending %q, want one ending %s", svc, templates, want)
		}
		var servers, want []string
		for _, line := range compose["backend "+svc] {
			if f := strings.Fields(line); f[0] == "server" {
				servers = append(servers, f[1])
			}
		}
		for i := 1; i <= len(servers); i++ {
			want = append(want, l.Instance(svc, i).Name)
		}
		if len(servers) < 2 || !slices.Equal(servers, want) {
			t.Errorf("compose's backend %s has servers %v, not the layout's first instances %v", svc, servers, want)
		}
	}
}

// Every "${VAR}" (and "defined(VAR)") of deploy/haproxy/haproxy.cfg and
// entry.cfg is one the cluster sets, and the cluster sets none it does
// not read.
func TestHAProxyReadsTheAddressesTheLayoutGivesIt(t *testing.T) {
	l, err := New(testConfig(t, noEnv))
	if err != nil {
		t.Fatal(err)
	}
	for file, env := range map[string][]string{
		haproxyConfigs[0]:          l.HAProxyEnv(l.Zoned(KindHAProxy, "b")),
		"deploy/haproxy/entry.cfg": l.EntryEnv(),
	} {
		var given []string
		for _, kv := range env {
			name, _, _ := strings.Cut(kv, "=")
			given = append(given, name)
		}
		var read []string
		for line := range strings.Lines(string(repoFile(t, file))) {
			line, _, _ = strings.Cut(line, "#")
			for _, m := range regexp.MustCompile(`\$\{(\w+)\}|defined\((\w+)\)`).FindAllStringSubmatch(line, -1) {
				if name := m[1] + m[2]; !slices.Contains(read, name) {
					read = append(read, name)
				}
			}
		}
		slices.Sort(given)
		slices.Sort(read)
		if !slices.Equal(given, read) {
			t.Errorf("%s reads %v; the cluster gives it %v", file, read, given)
		}
	}
}

// composeFile is what the tests read of compose.yaml (YAML's anchors and
// merge keys resolved).
type composeFile struct {
	Services map[string]struct {
		Command     []string `yaml:"command"`
		HealthCheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// composeServices are the compose services that play each kind of the
// layout's processes. Compose runs on one host, as one zone: a primary and
// a replica where the layout has a member per zone, and none of the
// zones' machinery (etcd, Sentinel, the entry); pictures stay on each
// instance's disk. A new kind must be placed here.
var composeServices = map[Kind][]string{
	KindPostgres:   {"postgres-primary", "postgres-replica"},
	KindNATS:       {"nats-1", "nats-2", "nats-3"},
	KindRedis:      {"redis"},
	KindHAProxy:    {"haproxy"},
	KindVarnish:    {"varnish"},
	KindEdgeStats:  {"varnish-exporter"},
	KindJaeger:     {"jaeger"},
	KindPrometheus: {"prometheus"},
	KindS3:         nil,
	KindEtcd:       nil,
	KindSentinel:   nil,
	KindEntry:      nil,
}

func TestComposeRunsTheProcessesOfTheLayout(t *testing.T) {
	l, err := New(testConfig(t, noEnv))
	if err != nil {
		t.Fatal(err)
	}
	var compose composeFile
	if err := yaml.Unmarshal(repoFile(t, "compose.yaml"), &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, p := range l.fixed {
		names, placed := composeServices[p.Kind]
		if !placed {
			t.Errorf("the layout's %s is of a kind (%s) compose does not place", p.Name, p.Kind)
		}
		for _, name := range names {
			if _, ok := compose.Services[name]; !ok {
				t.Errorf("compose.yaml has no service %s (a %s)", name, p.Kind)
			}
		}
	}
	byTarget := map[string][]string{}
	for name, s := range compose.Services {
		if len(s.Command) < 2 || s.Command[0] != "serve" {
			continue
		}
		svc, _ := strings.CutPrefix(s.Command[1], "--target=")
		byTarget[svc] = append(byTarget[svc], name)
		if test := strings.Join(s.HealthCheck.Test, " "); !strings.HasSuffix(test, HealthPath) {
			t.Errorf("compose's %s is checked with %q, not the layout's %s", name, test, HealthPath)
		}
	}
	for _, svc := range Services {
		got := slices.Sorted(slices.Values(byTarget[svc]))
		var want []string
		for i := 1; i <= len(got); i++ {
			want = append(want, l.Instance(svc, i).Name)
		}
		if len(got) < 2 || !slices.Equal(got, want) {
			t.Errorf("compose runs %s as %v, not as the layout's first instances %v", svc, got, want)
		}
	}
	if len(byTarget) != len(Services) {
		t.Errorf("compose runs the targets %v, the layout the services %v", slices.Sorted(maps.Keys(byTarget)), Services)
	}
}

// k8sObject is what the tests read of a Kubernetes object of the base.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Rules []struct {
			HTTP struct {
				Paths []struct {
					Path     string `yaml:"path"`
					PathType string `yaml:"pathType"`
					Backend  struct {
						Service struct {
							Name string `yaml:"name"`
						} `yaml:"service"`
					} `yaml:"backend"`
				} `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
		Template struct {
			Spec struct {
				Containers []struct {
					ReadinessProbe struct {
						HTTPGet struct {
							Path string `yaml:"path"`
						} `yaml:"httpGet"`
					} `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func readK8sBase(t *testing.T) []k8sObject {
	t.Helper()
	var out []k8sObject
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(repoFile(t, "deploy/k8s/base/kustomization.yaml"), &kust); err != nil {
		t.Fatal(err)
	}
	for _, res := range kust.Resources {
		for doc := range strings.SplitSeq(string(repoFile(t, "deploy/k8s/base/"+res)), "\n---\n") {
			var o k8sObject
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v", res, err)
			}
			out = append(out, o)
		}
	}
	return out
}

// ingressRoute is the service the Ingress sends a path to: an Exact
// match, else the longest Prefix match by path elements.
func ingressRoute(ing k8sObject, path string) string {
	best, service := -1, ""
	for _, rule := range ing.Spec.Rules {
		for _, p := range rule.HTTP.Paths {
			prefix := strings.TrimSuffix(p.Path, "/")
			switch {
			case p.PathType == "Exact" && p.Path == path:
				return p.Backend.Service.Name
			case p.PathType == "Prefix" && (path == prefix || strings.HasPrefix(path, prefix+"/")) && len(prefix) > best:
				best, service = len(prefix), p.Backend.Service.Name
			}
		}
	}
	return service
}

// samplePaths are paths to route: every path of the API (its parameters
// filled in), one under each route of the layout, and those only the
// default service answers.
func samplePaths(t *testing.T) []string {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(repoFile(t, "api/openapi.json"), &doc); err != nil {
		t.Fatal(err)
	}
	out := []string{"/", "/assets/app.js", "/api/ops/traffic", "/openapi.json"}
	for p := range doc.Paths {
		out = append(out, regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "x"))
	}
	for _, r := range Routes {
		if strings.HasSuffix(r.Prefix, "/") {
			out = append(out, r.Prefix+"x")
		} else {
			out = append(out, r.Prefix, r.Prefix+"/x")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestKubernetesRoutesAndChecksAsTheLayout(t *testing.T) {
	objects := readK8sBase(t)
	var ingresses []k8sObject
	deployments, services := map[string]k8sObject{}, map[string]bool{}
	for _, o := range objects {
		switch o.Kind {
		case "Ingress":
			ingresses = append(ingresses, o)
		case "Deployment":
			deployments[o.Metadata.Name] = o
		case "Service":
			services[o.Metadata.Name] = true
		}
	}
	if len(ingresses) != 1 {
		t.Fatalf("%d Ingresses in the base, want one", len(ingresses))
	}
	for _, path := range samplePaths(t) {
		if path == "/healthz" || path == "/readyz" {
			continue // the kubelet's, not the public's
		}
		got, want := ingressRoute(ingresses[0], path), ServiceFor(path)
		if got == "edge" && (want == "product" || want == "search") {
			// The edge cache, which fetches these from their owner
			// (deploy/k8s/base/varnish/site.vcl, checked in deploy/deploytest).
			continue
		}
		if got != want {
			t.Errorf("the Ingress sends %s to %q, the layout to %s", path, got, want)
		}
	}
	for _, svc := range Services {
		d, ok := deployments[svc]
		if !ok || !services[svc] {
			t.Errorf("the base has no Deployment and Service %s", svc)
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.ReadinessProbe.HTTPGet.Path != HealthPath {
				t.Errorf("Deployment %s: readiness probe on %q, the layout's health path is %s", svc, c.ReadinessProbe.HTTPGet.Path, HealthPath)
			}
		}
	}
	if len(deployments) != len(Services) {
		t.Errorf("the base has Deployments %v, the layout services %v", slices.Sorted(maps.Keys(deployments)), Services)
	}
}

// Prometheus (deploy/observability/prometheus.yml, copied beside the
// targets) reads the files the cluster writes.
func TestPrometheusReadsTheTargetsTheClusterWrites(t *testing.T) {
	l, err := New(testConfig(t, noEnv))
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			FileSDConfigs []struct {
				Files []string `yaml:"files"`
			} `yaml:"file_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(repoFile(t, "deploy/observability/prometheus.yml"), &prom); err != nil {
		t.Fatal(err)
	}
	for _, svc := range Services {
		rel, _ := filepath.Rel(l.path("prometheus"), l.TargetsFile(svc))
		read := false
		for _, sc := range prom.ScrapeConfigs {
			for _, sd := range sc.FileSDConfigs {
				for _, glob := range sd.Files {
					ok, _ := filepath.Match(glob, rel)
					read = read || ok
				}
			}
		}
		if !read {
			t.Errorf("prometheus.yml reads no file_sd file matching %s", rel)
		}
	}
}
