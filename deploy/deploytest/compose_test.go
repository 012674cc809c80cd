package deploytest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// loadCompose reads compose.yaml as "docker compose" does: validated
// against the Compose schema (an unknown key is an error), anchors and
// merges resolved, paths made absolute.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	ctx := context.Background()
	dir := absRoot(t)
	details, err := loader.LoadConfigFiles(ctx, []string{filepath.Join(dir, "compose.yaml")}, dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(ctx, *details, func(o *loader.Options) { o.SetProjectName("vitrine", true) })
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

// services are the four Vitrine services, as --target names them.
var services = []string{"product", "auth", "search", "analytics"}

// instances groups the compose services that run "vitrine serve" by their
// --target.
func instances(t *testing.T, p *types.Project) map[string][]types.ServiceConfig {
	t.Helper()
	out := map[string][]types.ServiceConfig{}
	for _, s := range p.Services {
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			continue
		}
		var target string
		for _, arg := range s.Command {
			if v, ok := strings.CutPrefix(arg, "--target="); ok {
				target = v
			}
		}
		out[target] = append(out[target], s)
	}
	return out
}

func TestComposeRunsTwoInstancesOfEachServiceFromTheDockerfile(t *testing.T) {
	p := loadCompose(t)
	byTarget := instances(t, p)
	for _, svc := range services {
		if n := len(byTarget[svc]); n != 2 {
			t.Errorf("%s: %d instances, want 2 as in the local cluster", svc, n)
		}
		for _, s := range byTarget[svc] {
			if s.Build == nil || s.Build.Context != absRoot(t) {
				t.Errorf("%s is not built from the repository's Dockerfile", s.Name)
			}
		}
	}
	if extra := len(byTarget) - len(services); extra != 0 {
		t.Errorf("targets %v: want exactly %v", keys(byTarget), services)
	}
}

func TestComposeStartsTheInfrastructureOfTheLocalCluster(t *testing.T) {
	p := loadCompose(t)
	want := map[string]string{
		"haproxy":          "haproxy:",
		"postgres-primary": "postgres:",
		"postgres-replica": "postgres:",
		"nats-1":           "nats:",
		"nats-2":           "nats:",
		"nats-3":           "nats:",
		"redis":            "redis:",
		"prometheus":       "prom/prometheus:",
		"jaeger":           "jaegertracing/",
	}
	for name, image := range want {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if !strings.HasPrefix(s.Image, image) || !regexp.MustCompile(`:v?\d`).MatchString(s.Image) {
			t.Errorf("%s runs image %q, want %s with a pinned version", name, s.Image, image)
		}
	}
	// The replica streams from the primary, as the local cluster sets it up.
	replica := strings.Join(p.Services["postgres-replica"].Command, " ")
	for _, want := range []string{"pg_basebackup", "--host=postgres-primary", "--write-recovery-conf"} {
		if !strings.Contains(replica, want) {
			t.Errorf("postgres-replica's command lacks %s: %s", want, replica)
		}
	}
	// Each NATS node routes to all three: one cluster, not three servers.
	for _, name := range []string{"nats-1", "nats-2", "nats-3"} {
		cmd := p.Services[name].Command
		if !slices.Contains(cmd, "--jetstream") || !slices.Contains(cmd, "--name="+name) ||
			!slices.Contains(cmd, "--routes=nats://nats-1:6222,nats://nats-2:6222,nats://nats-3:6222") {
			t.Errorf("%s is not a JetStream node of the three-node cluster: %q", name, cmd)
		}
	}
	for name, s := range instancesByName(t, p) {
		env := s.Environment
		if v := env["VITRINE_NATS_URL"]; v == nil || strings.Count(*v, "nats://") != 3 {
			t.Errorf("%s does not know the three NATS nodes", name)
		}
		if v := env["VITRINE_STREAM_REPLICAS"]; v == nil || *v != "3" {
			t.Errorf("%s does not keep its streams on the three nodes", name)
		}
	}
}

func TestComposeInstancesAreReadOnlyNonRootAndHealthChecked(t *testing.T) {
	p := loadCompose(t)
	for name, s := range instancesByName(t, p) {
		if !s.ReadOnly {
			t.Errorf("%s: read_only is not set", name)
		}
		if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(s.User) {
			t.Errorf("%s runs as user %q, want a numeric uid other than 0", name, s.User)
		}
		if !slices.Contains(s.Tmpfs, "/tmp") {
			t.Errorf("%s: no tmpfs on /tmp, which a read-only root leaves unwritable", name)
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != "/vitrine" || hc.Test[2] != "healthcheck" {
			t.Errorf("%s: health check %+v, want the exec form of vitrine healthcheck", name, hc)
		}
	}
	// Every "wait until healthy" waits on something that has a health check.
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				continue
			}
			if hc := p.Services[dep].HealthCheck; hc == nil || hc.Disable {
				t.Errorf("%s waits for %s to be healthy, which has no health check", s.Name, dep)
			}
		}
	}
}

func TestComposeKeepsSecretsInFiles(t *testing.T) {
	p := loadCompose(t)
	for name, s := range p.Secrets {
		if s.File == "" || s.Environment != "" || s.Content != "" {
			t.Errorf("secret %s is not read from a file", name)
		}
		if rel, err := filepath.Rel(absRoot(t), s.File); err != nil || !ignoredByGit(t, rel) {
			t.Errorf("secret %s is read from %s, which git does not ignore", name, s.File)
		}
	}
	for _, s := range p.Services {
		mounted := map[string]bool{}
		for _, sec := range s.Secrets {
			mounted["/run/secrets/"+sec.Source] = true
		}
		for key, v := range s.Environment {
			if v == nil {
				continue
			}
			if problem := secretInEnv(key, *v); problem != "" {
				t.Errorf("%s: %s=%s %s", s.Name, key, redact(*v), problem)
			}
			if strings.HasSuffix(key, "_FILE") && !mounted[*v] {
				t.Errorf("%s: %s=%s names no secret mounted in the service", s.Name, key, *v)
			}
		}
	}
	// The services that keep data in PostgreSQL read its URL from a secret.
	for name, s := range instancesByName(t, p) {
		if strings.Contains(strings.Join(s.Command, " "), "--target=search") {
			continue
		}
		if v := s.Environment["VITRINE_POSTGRES_URL_FILE"]; v == nil {
			t.Errorf("%s does not read the PostgreSQL URL from a secret", name)
		}
	}
}

// secretInEnv says what is wrong when an environment variable carries a
// secret in plain text, or "" when nothing is.
func secretInEnv(key, value string) string {
	if u, err := url.Parse(value); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return "carries a password in a URL"
		}
	}
	sensitive := regexp.MustCompile(`(?i)password|secret|token|private_key`)
	if sensitive.MatchString(key) && !strings.HasSuffix(key, "_FILE") {
		return "is a secret in plain text (use the _FILE form)"
	}
	return ""
}

func TestComposeHAProxyRoutesAsTheLocalClusterToEveryInstance(t *testing.T) {
	p := loadCompose(t)
	local := readHAProxy(t, filepath.Join(root, "deploy/haproxy/haproxy.cfg"))
	compose := readHAProxy(t, filepath.Join(root, "deploy/compose/haproxy.cfg"))
	if !slices.Equal(local["defaults"], compose["defaults"]) {
		t.Errorf("the defaults of deploy/compose/haproxy.cfg differ from deploy/haproxy/haproxy.cfg's:\nlocal   %q\ncompose %q", local["defaults"], compose["defaults"])
	}
	// The edge's rules (acl is_edge, use_backend edge) are compose's alone:
	// TestComposeEdgeSitsBehindHAProxy checks them.
	routing := func(section []string) []string {
		var out []string
		for _, line := range section {
			if edgeRule.MatchString(line) {
				continue
			}
			if regexp.MustCompile(`^(acl|use_backend|default_backend|stick-table|http-request (disable-l7-retry|del-header|track-sc0|sc-set-gpt0|set-var|set-header X-Vitrine-)) `).MatchString(line) {
				out = append(out, line)
			}
		}
		return out
	}
	if l, c := routing(local["frontend public"]), routing(compose["frontend public"]); !slices.Equal(l, c) {
		t.Errorf("compose routes differently from the local cluster:\nlocal   %q\ncompose %q", l, c)
	}
	// Load shedding: every backend refuses at once past the same queue.
	for _, svc := range services {
		shed := func(section []string) []string {
			var out []string
			for _, line := range section {
				if strings.HasPrefix(line, "http-request return status 503 ") {
					out = append(out, line)
				}
			}
			return out
		}
		l, c := shed(local["backend "+svc]), shed(compose["backend "+svc])
		if len(l) != 1 || !slices.Equal(l, c) {
			t.Errorf("backend %s: the shedding rules differ, or there is none:\nlocal   %q\ncompose %q", svc, l, c)
		}
	}
	mounted := false
	for _, v := range p.Services["haproxy"].Volumes {
		mounted = mounted || v.Source == filepath.Join(absRoot(t), "deploy/compose/haproxy.cfg")
	}
	if !mounted {
		t.Error("the haproxy service does not mount deploy/compose/haproxy.cfg")
	}
	byTarget := instances(t, p)
	for _, svc := range services {
		var want []string
		for _, s := range byTarget[svc] {
			want = append(want, fmt.Sprintf("server %s %s:8080 check", s.Name, s.Name))
		}
		var got []string
		for _, line := range compose["backend "+svc] {
			if strings.HasPrefix(line, "server ") {
				got = append(got, line)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("backend %s has servers %q, want %q", svc, got, want)
		}
	}
	// The instances believe X-Forwarded-For from HAProxy's address, and
	// from nothing else.
	addr := p.Services["haproxy"].Networks["default"].Ipv4Address
	for name, s := range instancesByName(t, p) {
		if v := s.Environment["VITRINE_TRUSTED_PROXIES"]; v == nil || *v != addr+"/32" {
			t.Errorf("%s trusts X-Forwarded-For from %v, want HAProxy's %s/32", name, v, addr)
		}
	}
}

func TestComposePrometheusScrapesEveryInstance(t *testing.T) {
	p := loadCompose(t)
	b, err := os.ReadFile(filepath.Join(root, "deploy/compose/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global        map[string]string `json:"global"`
		RuleFiles     []string          `json:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			MetricsPath   string `json:"metrics_path"`
			StaticConfigs []struct {
				Labels  map[string]string `json:"labels"`
				Targets []string          `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatalf("deploy/compose/prometheus.yml: %v", err)
	}
	scraped := map[string]string{} // target: service label
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				scraped[target] = st.Labels["service"]
			}
		}
	}
	for svc, list := range instances(t, p) {
		for _, s := range list {
			admin := s.Environment["VITRINE_ADMIN_ADDR"]
			if admin == nil {
				t.Errorf("%s serves no metrics (no VITRINE_ADMIN_ADDR)", s.Name)
				continue
			}
			target := s.Name + *admin
			if scraped[target] != svc {
				t.Errorf("Prometheus does not scrape %s as service %s", target, svc)
			}
		}
	}
	// The rules are the ones of deploy/observability, mounted beside it.
	for _, f := range cfg.RuleFiles {
		if _, err := os.Stat(filepath.Join(root, "deploy/observability", f)); err != nil {
			t.Errorf("rule file %s: %v", f, err)
		}
	}
}

// readHAProxy returns the lines of each section of an HAProxy
// configuration ("defaults", "frontend public", "backend auth"...),
// without comments and blank lines.
func readHAProxy(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][]string{}
	var current string
	for line := range strings.Lines(string(b)) {
		indented := strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ")
		line = strings.TrimSpace(line)
		// .if, .else, .endif (conditional blocks) leave the section as it is.
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ".") {
			continue
		}
		if !indented {
			current = line
			continue
		}
		sections[current] = append(sections[current], strings.Join(strings.Fields(line), " "))
	}
	return sections
}

func instancesByName(t *testing.T, p *types.Project) map[string]types.ServiceConfig {
	out := map[string]types.ServiceConfig{}
	for _, list := range instances(t, p) {
		for _, s := range list {
			out[s.Name] = s
		}
	}
	return out
}

func absRoot(t *testing.T) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// ignoredByGit says whether path, relative to the repository, is covered
// by a .gitignore of the repository (a small matcher: the patterns used
// here are directories and plain names).
func ignoredByGit(t *testing.T, rel string) bool {
	t.Helper()
	dir := filepath.Dir(rel)
	for {
		b, err := os.ReadFile(filepath.Join(root, dir, ".gitignore"))
		if err == nil {
			inDir, _ := filepath.Rel(dir, rel)
			for line := range strings.Lines(string(b)) {
				pat := strings.TrimSpace(line)
				if pat == "" || strings.HasPrefix(pat, "#") {
					continue
				}
				pat = strings.TrimSuffix(strings.TrimPrefix(pat, "/"), "/")
				if inDir == pat || strings.HasPrefix(inDir, pat+"/") {
					return true
				}
			}
		}
		if dir == "." {
			return false
		}
		dir = filepath.Dir(dir)
	}
}

// redact shows enough of a value to find it, and none of a password.
func redact(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		return u.Redacted()
	}
	if len(v) > 8 {
		return v[:4] + "…"
	}
	return v
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
