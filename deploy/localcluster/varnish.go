package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Each zone has an edge cache, Varnish with deploy/varnish/default.vcl,
// behind the zone's balancer: the balancer sends it the public catalog
// and search reads, the read-your-writes mark already set from its table
// of recent writers, and Varnish fetches its misses from the balancer's
// "origin" frontend, which balances over the instances of every zone.
// Behind the balancer rather than in front of it, for three reasons: TLS
// and the recent-writer mark stay where they are, in the one place that
// sees every write; losing a zone loses its balancer and its edge
// together, and the entry moves clients to a zone that has both; and a
// Varnish that stops is passed by (its balancer's check), not a hole in
// front of the zone. Each zone's edge holds its own copies, so a catalog
// change is purged from all three (the product instances'
// --edge-purge-url).

// varnishStorage is what each edge keeps in memory: the catalog's hot
// answers (a product is a few kilobytes, compressed).
const varnishStorage = "malloc,256m"

// Varnish serves each connection from a thread of its own, and by default
// hands an idle connection back to its waiter after 50 ms: a connection
// that carries a request every few hundred milliseconds, as a balancer's
// do under many shoppers, then costs two thread hand-offs per request,
// which took half of Varnish's CPU (perf: futex wake-ups and context
// switches) and tripled its cost per request. A thread that lingers
// seconds on its connection is woken by the request itself; threads
// enough for every connection are made at start.
const (
	varnishLinger  = "5"
	varnishThreads = 1000 // per pool, of which there are two
)

// startVarnish starts one zone's edge cache and waits until it listens.
func (c *Cluster) startVarnish(ctx context.Context, p Process) error {
	if c.Alive(p.Name) {
		return nil
	}
	dir := c.path("varnish", p.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "site.vcl"), []byte(c.varnishSite(p)), 0o644); err != nil {
		return err
	}
	vcl := filepath.Join(c.Config.Root, "deploy", "varnish")
	// -F: in the foreground, so that its pid is the one recorded; -j none:
	// as this user, who owns its directory; -T none: no management port
	// (varnishstat -n DIR reads its counters all the same).
	err := c.spawn(p.Name, nil, "varnishd", "-F", "-j", "none", "-T", "none", "-n", filepath.Join(dir, "work"),
		"-a", "http="+p.Addr("http"), "-a", "purge="+p.Addr("purge"),
		"-p", "vcl_path="+vcl+":"+dir, "-f", filepath.Join(vcl, "default.vcl"), "-s", varnishStorage,
		"-p", "timeout_linger="+varnishLinger, "-p", "thread_pool_min="+strconv.Itoa(varnishThreads))
	if err != nil {
		return err
	}
	// Its VCL is compiled to C first: seconds on a loaded machine.
	return c.withLogTail(p.Name, waitUntil(ctx, 60*time.Second, p.Name, tcpOpen(p.Addr("http"))))
}

// varnishSite is zone p.Zone's part of default.vcl (see
// deploy/varnish/site.vcl.example): its backend is its zone's balancer's
// "origin" frontend, and only the purge listener takes a PURGE. Every
// process of the cluster connects from the loopback, the balancer that
// relays clients included, so the listener, not the address, tells a
// product instance's purge from a client's.
func (c *Cluster) varnishSite(p Process) string {
	lb := c.Zoned(KindHAProxy, p.Zone)
	return fmt.Sprintf(`# Written by deploy/localcluster (varnish.go) for %s.
backend vitrine {
	.host = %q;
	.port = %q;
	.connect_timeout = 1s;
	.first_byte_timeout = 30s;
	.probe = {
		.url = %q;
		.interval = 1s;
		.timeout = 1s;
		.window = 3;
		.threshold = 2;
	}
}

acl purgers {
	"127.0.0.0"/8;
}

sub vcl_recv {
	if (req.method == "PURGE" && local.socket != "purge") {
		return (synth(405, "Method Not Allowed"));
	}
}
`, p.Name, lb.Host, strconv.Itoa(lb.Ports["origin"]), HealthPath)
}

// startEdgeStats starts the exporter of a zone's Varnish counters (hit
// ratio, objects, purges: prometheus-varnish-exporter, which reads them
// from Varnish's shared memory, as varnishstat does), which Prometheus
// scrapes (EdgeTargetsFile).
func (c *Cluster) startEdgeStats(ctx context.Context, p Process) error {
	if c.Alive(p.Name) {
		return nil
	}
	work := filepath.Join(c.path("varnish", c.Zoned(KindVarnish, p.Zone).Name), "work")
	if err := c.spawn(p.Name, nil, "prometheus-varnish-exporter", "-n", work, "-web.listen-address", p.Addr("http")); err != nil {
		return err
	}
	return c.withLogTail(p.Name, waitUntil(ctx, 20*time.Second, p.Name, tcpOpen(p.Addr("http"))))
}

// EdgeTargetsFile is where Prometheus finds the edges' exporters (the job
// "edge" of deploy/observability/prometheus.yml).
func (l *Layout) EdgeTargetsFile() string {
	return l.path("prometheus", "edge", "edge.json")
}

// writeEdgeTargets writes the edges' exporters, each labelled with its
// Varnish's name (instance) and zone; no edge, no target.
func (c *Cluster) writeEdgeTargets() error {
	groups := []scrapeGroup{}
	for _, e := range c.OfKind(KindEdgeStats) {
		v := c.Zoned(KindVarnish, e.Zone)
		groups = append(groups, scrapeGroup{Targets: []string{e.Addr("http")}, Labels: map[string]string{"instance": v.Name, "zone": e.Zone}})
	}
	return writeJSONFile(c.EdgeTargetsFile(), groups)
}

// EdgePurgeURLs are the purge listeners of every zone's edge, as the
// product instances' --edge-purge-url takes them; none without the edge.
func (l *Layout) EdgePurgeURLs() string {
	var urls []string
	for _, v := range l.OfKind(KindVarnish) {
		urls = append(urls, "http://"+v.Addr("purge"))
	}
	return strings.Join(urls, ",")
}
