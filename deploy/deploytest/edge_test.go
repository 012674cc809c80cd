package deploytest

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// edgeRule matches the lines of HAProxy's public frontend that send reads
// to the edge cache.
var edgeRule = regexp.MustCompile(`^(acl is_edge |use_backend edge )`)

// aclEntry is one line of a VCL acl: an address or a prefix, perhaps
// negated.
type aclEntry struct {
	prefix  netip.Prefix
	negated bool
}

// readACL returns the entries of the acl name in the VCL text.
func readACL(t *testing.T, vcl, name string) []aclEntry {
	t.Helper()
	body := regexp.MustCompile(`(?s)\bacl\s+` + name + `\s*\{(.*?)\}`).FindStringSubmatch(vcl)
	if body == nil {
		t.Fatalf("no acl %s", name)
	}
	var out []aclEntry
	entry := regexp.MustCompile(`^(!)?\s*"([^"]+)"\s*(?:/\s*(\d+))?\s*;$`)
	for line := range strings.Lines(body[1]) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := entry.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("acl %s: cannot read %q", name, line)
		}
		addr, err := netip.ParseAddr(m[2])
		if err != nil {
			t.Fatalf("acl %s: %q is not an address (a name is resolved once, when the VCL loads)", name, line)
		}
		bits := addr.BitLen()
		if m[3] != "" {
			bits = must(strconv.Atoi(m[3]))
		}
		out = append(out, aclEntry{netip.PrefixFrom(addr, bits).Masked(), m[1] == "!"})
	}
	return out
}

// admits says whether the acl matches addr as Varnish decides: the most
// specific entry that contains it, and not a negated one.
func admits(acl []aclEntry, addr netip.Addr) bool {
	best := -1
	ok := false
	for _, e := range acl {
		if e.prefix.Contains(addr) && e.prefix.Bits() > best {
			best, ok = e.prefix.Bits(), !e.negated
		}
	}
	return ok
}

// vclBackend is a backend of a VCL file: where Varnish fetches from.
type vclBackend struct{ host, port string }

func readBackends(t *testing.T, vcl string) map[string]vclBackend {
	t.Helper()
	out := map[string]vclBackend{}
	for _, m := range regexp.MustCompile(`(?s)\bbackend\s+(\w+)\s*\{\s*\.host\s*=\s*"([^"]+)";\s*\.port\s*=\s*"(\d+)";`).FindAllStringSubmatch(vcl, -1) {
		out[m[1]] = vclBackend{m[2], m[3]}
	}
	return out
}

// varnishd is what a varnishd command line says: its listeners by name,
// its working directory and where its VCL is.
type varnishd struct {
	listeners map[string]int // -a name=:port
	workdir   string         // -n
	vcl       string         // -f
	vclPath   string         // -p vcl_path=
}

func readVarnishd(t *testing.T, args []string) varnishd {
	t.Helper()
	v := varnishd{listeners: map[string]int{}}
	for i := 0; i+1 < len(args); i++ {
		switch next := args[i+1]; args[i] {
		case "-a":
			name, addr, ok := strings.Cut(next, "=")
			_, port, _ := strings.Cut(addr, ":")
			n, err := strconv.Atoi(port)
			if !ok || err != nil {
				t.Fatalf("-a %s: want name=:port", next)
			}
			v.listeners[name] = n
		case "-n":
			v.workdir = next
		case "-f":
			v.vcl = next
		case "-p":
			if p, ok := strings.CutPrefix(next, "vcl_path="); ok {
				v.vclPath = p
			}
		}
	}
	if v.listeners["http"] == 0 || v.listeners["purge"] == 0 || v.workdir == "" || v.vcl == "" || v.vclPath == "" {
		t.Fatalf("varnishd %q: want listeners http and purge, -n, -f and vcl_path", args)
	}
	return v
}

// haproxyRoute is the backend an HAProxy frontend sends a GET of path to, as its
// use_backend rules (of path_beg acls) decide; with edge false, the rules
// that send to the edge are left out, as when it is down.
func haproxyRoute(t *testing.T, frontend []string, path string, edge bool) string {
	t.Helper()
	acls := map[string][]string{}
	for _, line := range frontend {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "acl" && f[2] == "path_beg" {
			acls[f[1]] = f[3:]
		}
	}
	matches := func(acl string) bool {
		return slices.ContainsFunc(acls[acl], func(p string) bool { return strings.HasPrefix(path, p) })
	}
	for _, line := range frontend {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "default_backend" {
			return f[1]
		}
		if len(f) < 4 || f[0] != "use_backend" || f[2] != "if" || (f[1] == "edge" && !edge) {
			continue
		}
		ok := true
		for i := 3; i < len(f); i++ {
			switch tok := f[i]; {
			case tok == "{": // a sample test (nbsrv...): taken as true
				for i < len(f) && f[i] != "}" {
					i++
				}
			case tok == "METH_GET": // a GET, or a HEAD
			case strings.HasPrefix(tok, "!"):
				ok = ok && !matches(tok[1:])
			default:
				if _, known := acls[tok]; !known {
					t.Fatalf("%q: this test cannot evaluate %s", line, tok)
				}
				ok = ok && matches(tok)
			}
		}
		if ok {
			return f[1]
		}
	}
	t.Fatalf("no backend for %s", path)
	return ""
}

func TestComposeEdgeSitsBehindHAProxy(t *testing.T) {
	p := loadCompose(t)
	s, ok := p.Services["varnish"]
	if !ok {
		t.Fatal("no varnish service")
	}
	if s.Build == nil || s.Build.Context != filepath.Join(absRoot(t), "deploy/varnish") {
		t.Error("varnish is not built from deploy/varnish/Dockerfile")
	}
	v := readVarnishd(t, s.Command)
	vcl := checkVCLMounts(t, s, v)

	cfg := readHAProxy(t, filepath.Join(root, "deploy/compose/haproxy.cfg"))
	public, origin := cfg["frontend public"], cfg["frontend origin"]
	var first string
	for _, line := range public {
		if strings.HasPrefix(line, "use_backend ") && first == "" {
			first = line
		}
	}
	if !strings.HasPrefix(first, "use_backend edge if is_edge METH_GET ") {
		t.Errorf("the public frontend's first rule is %q: want the edge's reads (GET, HEAD) sent to it before any other", first)
	}
	want := []string{fmt.Sprintf("server varnish varnish:%d", v.listeners["http"])}
	var servers []string
	for _, line := range cfg["backend edge"] {
		if f := strings.Fields(line); f[0] == "server" {
			servers = append(servers, strings.Join(f[:3], " "))
		}
	}
	if !slices.Equal(servers, want) {
		t.Errorf("backend edge: servers %q, want %q (varnishd's http listener)", servers, want)
	}

	// Each path of the edge goes where it would without it, to a service
	// whose public reads the edge may keep; what Varnish fetches through
	// "origin" goes there too.
	var edgePaths []string
	for _, line := range public {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "acl" && f[1] == "is_edge" {
			edgePaths = f[3:]
		}
	}
	if len(edgePaths) == 0 {
		t.Fatal("the public frontend has no acl is_edge")
	}
	for _, path := range edgePaths {
		direct := haproxyRoute(t, public, path, false)
		if direct != "product" && direct != "search" {
			t.Errorf("%s is an edge path, but goes to %s without the edge: only product's and search's reads are kept", path, direct)
		}
		if got := haproxyRoute(t, public, path, true); got != "edge" {
			t.Errorf("a GET of %s goes to %s, not the edge", path, got)
		}
		if got := haproxyRoute(t, origin, path, false); got != direct {
			t.Errorf("Varnish's miss of %s goes to %s through origin, %s without the edge", path, got, direct)
		}
	}
	for _, path := range []string{"/api/auth/login", "/.well-known/jwks.json", "/api/analytics/events", "/openapi.json"} {
		if got := haproxyRoute(t, public, path, true); got == "edge" {
			t.Errorf("%s goes to the edge", path)
		}
	}

	// Varnish fetches from "origin", which admits Varnish alone.
	be, ok := readBackends(t, vcl)["vitrine"]
	addr := s.Networks["default"].Ipv4Address
	if !ok || be.host != "haproxy" || !slices.Contains(origin, "bind :"+be.port) {
		t.Errorf("Varnish's backend is %+v: want HAProxy's origin frontend", be)
	}
	if addr == "" || !slices.Contains(origin, "tcp-request connection reject if !{ src "+addr+" }") {
		t.Errorf("origin admits more than Varnish (%s)", addr)
	}

	// The product instances purge on the purge listener; no other service
	// purges.
	purgeURL := fmt.Sprintf("http://varnish:%d", v.listeners["purge"])
	for name, inst := range instancesByName(t, p) {
		got := inst.Environment["VITRINE_EDGE_PURGE_URL"]
		product := slices.Contains(inst.Command, "--target=product")
		switch {
		case product && (got == nil || *got != purgeURL):
			t.Errorf("%s purges %q, want %s", name, deref(got), purgeURL)
		case !product && got != nil:
			t.Errorf("%s purges the edge (%s): only product runs the purge consumer", name, *got)
		}
	}

	// Who may purge: every address Docker may give an instance, and not
	// HAProxy, which relays clients.
	acl := readACL(t, vcl, "purgers")
	ipam := p.Networks["default"].Ipam.Config
	if len(ipam) != 1 || ipam[0].IPRange == "" {
		t.Fatal("the project network names no ip_range for Docker's own addresses")
	}
	dynamic := netip.MustParsePrefix(ipam[0].IPRange)
	for a := dynamic.Addr(); dynamic.Contains(a); a = a.Next() {
		if !admits(acl, a) {
			t.Errorf("an instance at %s may not purge", a)
			break
		}
	}
	haproxy := netip.MustParseAddr(p.Services["haproxy"].Networks["default"].Ipv4Address)
	if admits(acl, haproxy) || dynamic.Contains(haproxy) || dynamic.Contains(netip.MustParseAddr(addr)) {
		t.Errorf("HAProxy (%s) may purge, or a fixed address (HAProxy's, Varnish's %s) is in Docker's range %s", haproxy, addr, dynamic)
	}
}

// checkVCLMounts checks that a compose service runs deploy/varnish/default.vcl
// with a site.vcl beside it, and returns both as one text.
func checkVCLMounts(t *testing.T, s types.ServiceConfig, v varnishd) string {
	t.Helper()
	mounts := map[string]string{}
	for _, vol := range s.Volumes {
		mounts[vol.Target] = vol.Source
	}
	if v.vcl != v.vclPath+"/default.vcl" || mounts[v.vcl] != filepath.Join(absRoot(t), "deploy/varnish/default.vcl") {
		t.Errorf("%s does not run deploy/varnish/default.vcl (-f %s, mounted from %s)", s.Name, v.vcl, mounts[v.vcl])
	}
	site := mounts[v.vclPath+"/site.vcl"]
	if site == "" {
		t.Fatalf("%s: no site.vcl on vcl_path %s", s.Name, v.vclPath)
	}
	if !slices.ContainsFunc(s.Volumes, func(vol types.ServiceVolumeConfig) bool {
		return vol.Type == types.VolumeTypeVolume && strings.HasPrefix(v.workdir, vol.Target+"/")
	}) {
		t.Errorf("%s: the working directory %s is not on a volume", s.Name, v.workdir)
	}
	return string(must(os.ReadFile(site)))
}

func TestComposePrometheusScrapesTheEdge(t *testing.T) {
	p := loadCompose(t)
	exporter, ok := p.Services["varnish-exporter"]
	if !ok {
		t.Fatal("no varnish-exporter service")
	}
	v := readVarnishd(t, p.Services["varnish"].Command)
	cmd := exporter.Command
	i := slices.Index(cmd, "-n")
	if len(cmd) == 0 || cmd[0] != "prometheus-varnish-exporter" || i < 0 || i+1 >= len(cmd) || cmd[i+1] != v.workdir {
		t.Errorf("varnish-exporter runs %q: want prometheus-varnish-exporter -n %s (varnishd's -n)", cmd, v.workdir)
	}
	// varnishstat reads varnishd's shared memory, and checks that varnishd
	// is alive: the same volume, the same process namespace, the same
	// release.
	if exporter.Pid != "service:varnish" || exporter.Image != p.Services["varnish"].Image {
		t.Errorf("varnish-exporter: pid %q, image %q: want varnish's process namespace and image", exporter.Pid, exporter.Image)
	}
	shared := func(s types.ServiceConfig) string {
		for _, vol := range s.Volumes {
			if strings.HasPrefix(v.workdir, vol.Target+"/") {
				return vol.Source
			}
		}
		return ""
	}
	if shared(exporter) == "" || shared(exporter) != shared(p.Services["varnish"]) {
		t.Error("varnish-exporter does not see varnishd's working directory")
	}
	listen := ":9131"
	if i := slices.Index(cmd, "-web.listen-address"); i >= 0 && i+1 < len(cmd) {
		listen = cmd[i+1]
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(must(os.ReadFile(filepath.Join(root, "deploy/compose/prometheus.yml"))), &cfg); err != nil {
		t.Fatal(err)
	}
	var scraped bool
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			scraped = scraped || slices.Contains(st.Targets, "varnish-exporter"+listen)
		}
	}
	if !scraped {
		t.Errorf("Prometheus does not scrape varnish-exporter%s", listen)
	}
}

// edge is the edge cache of an overlay: its StatefulSet, what its varnishd
// runs and its VCL (default.vcl and site.vcl, from the ConfigMap mounted
// on vcl_path).
type edge struct {
	set      appsv1.StatefulSet
	varnishd varnishd
	varnish  corev1.Container
	exporter corev1.Container
	files    map[string]string
}

func (m manifests) edge(t *testing.T) edge {
	t.Helper()
	set, ok := m.statefulSets["varnish"]
	if !ok {
		t.Fatal("no StatefulSet varnish")
	}
	e := edge{set: set, files: map[string]string{}}
	pod := set.Spec.Template.Spec
	for _, c := range pod.Containers {
		switch c.Name {
		case "varnish":
			e.varnish = c
		case "exporter":
			e.exporter = c
		}
	}
	if e.varnish.Name == "" || e.exporter.Name == "" {
		t.Fatal("StatefulSet varnish: want the containers varnish and exporter")
	}
	e.varnishd = readVarnishd(t, e.varnish.Command)
	for _, mnt := range e.varnish.VolumeMounts {
		if mnt.MountPath != e.varnishd.vclPath {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == mnt.Name && v.ConfigMap != nil {
				e.files = m.configMaps[v.ConfigMap.Name].Data
			}
		}
	}
	if e.files["default.vcl"] == "" || e.files["site.vcl"] == "" {
		t.Fatalf("varnishd's vcl_path %s is not a ConfigMap with default.vcl and site.vcl", e.varnishd.vclPath)
	}
	return e
}

// origin is the Service the edge fetches a path from: site.vcl's backend
// for it (a vcl_backend_fetch rule "if (bereq.url ~ ...) { set
// bereq.backend = ...; }", else "vitrine", as default.vcl sets), by its
// host.
func (e edge) origin(t *testing.T, path string) vclBackend {
	t.Helper()
	site := e.files["site.vcl"]
	backends := readBackends(t, site)
	name := "vitrine"
	for _, r := range regexp.MustCompile(`if \(bereq\.url ~ "([^"]+)"\) \{\s*set bereq\.backend = (\w+);\s*\}`).FindAllStringSubmatch(site, -1) {
		if regexp.MustCompile(r[1]).MatchString(path) {
			name = r[2]
			break
		}
	}
	b, ok := backends[name]
	if !ok {
		t.Fatalf("site.vcl has no backend %s", name)
	}
	return b
}

func TestKubernetesEdgeIsPurgedOnEveryPod(t *testing.T) {
	copied := filepath.Join(root, "deploy/k8s/base/varnish/default.vcl")
	if a, b := must(os.ReadFile(filepath.Join(root, "deploy/varnish/default.vcl"))), must(os.ReadFile(copied)); !bytes.Equal(a, b) {
		t.Errorf("%s differs from deploy/varnish/default.vcl: copy it again", copied)
	}
	each(t, func(t *testing.T, overlay string, m manifests) {
		e := m.edge(t)
		if got, want := e.files["default.vcl"], string(must(os.ReadFile(filepath.Join(root, "deploy/varnish/default.vcl")))); got != want {
			t.Error("the edge's default.vcl is not deploy/varnish/default.vcl")
		}
		if e.varnishd.vcl != e.varnishd.vclPath+"/default.vcl" {
			t.Errorf("varnishd runs %s, not default.vcl on its vcl_path", e.varnishd.vcl)
		}
		if port(t, e.varnish, "http") != int32(e.varnishd.listeners["http"]) || port(t, e.varnish, "purge") != int32(e.varnishd.listeners["purge"]) {
			t.Errorf("the container's ports http and purge are not varnishd's listeners %v", e.varnishd.listeners)
		}

		// Every pod by its name, through the headless Service: a purge
		// reaches each copy.
		replicas := int(deref(e.set.Spec.Replicas))
		headless, ok := m.services[e.set.Spec.ServiceName]
		pods := labels.Set(e.set.Spec.Template.Labels)
		if !ok || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses || !labels.SelectorFromSet(headless.Spec.Selector).Matches(pods) {
			t.Errorf("no headless Service %s naming every edge pod, ready or not", e.set.Spec.ServiceName)
		}
		var want []string
		for i := range replicas {
			want = append(want, fmt.Sprintf("http://%s-%d.%s:%d", e.set.Name, i, e.set.Spec.ServiceName, e.varnishd.listeners["purge"]))
		}
		got, _ := m.setting(t, "product", "edge-purge-url")
		if !slices.Equal(strings.Split(got, ","), want) {
			t.Errorf("product purges %q, want each of the %d edge pods: %q", got, replicas, strings.Join(want, ","))
		}
		if production(overlay) && replicas < 3 {
			t.Errorf("%d edge pods: want one in each of three zones", replicas)
		}
		for _, svc := range services {
			if _, ok := m.setting(t, svc, "edge-purge-url"); ok != (svc == "product") {
				t.Errorf("%s: --edge-purge-url set %v: only product runs the purge consumer", svc, ok)
			}
		}

		// Who may purge: the pod network, as the services believe it; and
		// only on the purge listener.
		acl := readACL(t, e.files["site.vcl"], "purgers")
		trusted, _ := m.setting(t, "product", "trusted-proxies")
		for _, s := range strings.Split(trusted, ",") {
			pre := netip.MustParsePrefix(strings.TrimSpace(s)).Masked()
			for _, a := range []netip.Addr{pre.Addr(), pre.Addr().Next(), lastOf(pre)} {
				if !admits(acl, a) {
					t.Errorf("a product pod at %s (in the pod network %s) may not purge", a, pre)
				}
			}
		}
		if !strings.Contains(e.files["site.vcl"], `local.socket != "purge"`) {
			t.Error("site.vcl takes purges on the public listener too")
		}

		// The Ingress's Service: the ready edge pods, on http.
		edgeSvc, ok := m.services["edge"]
		if !ok || edgeSvc.Spec.ClusterIP == corev1.ClusterIPNone || !labels.SelectorFromSet(edgeSvc.Spec.Selector).Matches(pods) ||
			!slices.ContainsFunc(edgeSvc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" && p.TargetPort.String() == "http" }) {
			t.Error("no Service edge sending to the edge pods' http port")
		}

		// The exporter reads varnishd's shared memory: the same working
		// directory, one process namespace; Prometheus finds it.
		pod := e.set.Spec.Template.Spec
		i := slices.Index(e.exporter.Command, "-n")
		if i < 0 || i+1 >= len(e.exporter.Command) || e.exporter.Command[i+1] != e.varnishd.workdir || !deref(pod.ShareProcessNamespace) || e.exporter.Image != e.varnish.Image {
			t.Errorf("the exporter (%q) does not read varnishd's -n %s in a shared process namespace, from the same image", e.exporter.Command, e.varnishd.workdir)
		}
		work := func(c corev1.Container) string {
			for _, mnt := range c.VolumeMounts {
				if strings.HasPrefix(e.varnishd.workdir, mnt.MountPath+"/") {
					return mnt.Name
				}
			}
			return ""
		}
		if work(e.varnish) == "" || work(e.varnish) != work(e.exporter) {
			t.Error("varnishd's working directory is not a volume the exporter mounts")
		}
		if a := e.set.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != fmt.Sprint(port(t, e.exporter, "metrics")) {
			t.Errorf("Prometheus does not find the exporter: annotations %v", a)
		}
		checkPodSecurity(t, "varnish", pod)
		for _, c := range pod.Containers {
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				t.Errorf("varnish/%s: no readiness or liveness probe", c.Name)
			}
		}
		if b, ok := m.budgets["varnish"]; !ok || !selector(t, b.Spec.Selector).Matches(pods) {
			t.Error("no PodDisruptionBudget for the edge pods")
		}
	})
}

// lastOf is the last address of a prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	start := 128 - (p.Addr().BitLen() - p.Bits())
	for i := start; i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}
