package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
)

// TestCluster brings the cluster up once, checks the main flows through
// HAProxy, then breaks it piece by piece under a steady load. Each fault
// asserts counts (failed requests, events); the latencies go to the report.
func TestCluster(t *testing.T) {
	c := startCluster(t)
	t.Cleanup(func() { writeReport(t) })
	c.op(3*time.Minute, "seed 2000", func(ctx context.Context) error { return c.cl.Seed(ctx, 2000, io.Discard, io.Discard) })

	t.Run("flows", func(t *testing.T) { c.t = t; testFlows(c) })
	t.Run("prometheus", func(t *testing.T) { c.t = t; testPrometheus(c) })
	t.Run("tracing", func(t *testing.T) { c.t = t; testTracing(c) })
	t.Run("scale", func(t *testing.T) { c.t = t; testScale(c) })
	t.Run("replicas", func(t *testing.T) { c.t = t; testReplicas(c) })
	t.Run("kill -9 of a product instance", func(t *testing.T) { c.t = t; testKillProduct(c) })
	t.Run("rolling restart", func(t *testing.T) { c.t = t; testRollingRestart(c) })
	t.Run("search instance killed", func(t *testing.T) { c.t = t; testKillSearch(c) })
	t.Run("Redis primary stopped for 30s", func(t *testing.T) { c.t = t; testRedisPrimaryStopped(c) })
	t.Run("NATS node killed, then NATS stopped for 30s", func(t *testing.T) { c.t = t; testNATS(c) })
	t.Run("instance cut off from NATS", func(t *testing.T) { c.t = t; testCutOff(c) })
	t.Run("overload", func(t *testing.T) { c.t = t; testOverload(c) })
	t.Run("PostgreSQL switchover", func(t *testing.T) { c.t = t; testSwitchover(c) })
	t.Run("zone frozen", func(t *testing.T) { c.t = t; testZoneFrozen(c) })
	t.Run("zone killed", func(t *testing.T) { c.t = t; testZoneKilled(c) })
}

// testFlows: what a user does on the all-in-one shape works the same
// through the load balancer, over HTTP and HTTPS.
func testFlows(c *cluster) {
	t := c.t
	// Accounts: the auth service, behind HAProxy.
	c.expect(201, "POST", "/api/auth/register", "", map[string]string{"email": "shopper@cluster.test", "password": "a long shopper password"})
	customer := c.login("shopper@cluster.test", "a long shopper password")
	admin := c.login(adminEmail, adminPassword)
	c.expect(200, "GET", "/api/auth/me", customer, nil)
	c.expect(200, "GET", "/.well-known/jwks.json", "", nil)

	// A product's life, by the admin; the product service checks tokens
	// against the auth service's keys, fetched through HAProxy.
	body := map[string]any{"name": "Cluster Kettle", "brand": "Acme", "status": "active",
		"variants": []any{map[string]any{"sku": "CLU-KET-1", "price": map[string]any{"amount": 4599, "currency": "EUR"}, "stock": 5}}}
	c.expect(403, "POST", "/api/products", customer, body)
	var p struct {
		ID, Slug, Name, Description string
	}
	c.expect(201, "POST", "/api/products", admin, body, "Idempotency-Key", "cluster-kettle-1").json(t, &p)
	r := c.expect(200, "GET", "/api/products/"+p.Slug, "", nil)
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("no ETag: %v", r.Header)
	}
	c.expect(200, "PATCH", "/api/products/"+p.ID, admin, map[string]string{"description": "Boils fast"},
		"If-Match", etag, "Content-Type", "application/merge-patch+json")
	c.expect(412, "PATCH", "/api/products/"+p.ID, admin, map[string]string{"description": "Stale"},
		"If-Match", etag, "Content-Type", "application/merge-patch+json")
	// Every product instance serves the new description once the catalog
	// event reached it (its cache follows the stream).
	eventually(t, 5*time.Second, "every instance serves the update", func() bool {
		for range 4 {
			var got struct{ Description string }
			c.expect(200, "GET", "/api/products/"+p.Slug, "", nil).json(t, &got)
			if got.Description != "Boils fast" {
				return false
			}
		}
		return true
	})
	testPicture(c, admin, p.ID)
	var page struct{ Items []struct{ ID string } }
	c.expect(200, "GET", "/api/products?limit=5", "", nil).json(t, &page)
	if len(page.Items) != 5 {
		t.Fatalf("listing: %d items", len(page.Items))
	}
	c.expect(200, "GET", "/api/categories", "", nil)

	// Search: both search instances index the new product from the stream.
	eventually(t, 15*time.Second, "search finds the new product on both instances", func() bool {
		for range 4 {
			var res struct{ Total int }
			c.expect(200, "GET", "/api/search?q=cluster+kettle", "", nil).json(t, &res)
			if res.Total < 1 {
				return false
			}
		}
		return true
	})

	// Analytics: a shopper's view, and a purchase reported by the checkout
	// with its service credential (checked with the auth service).
	checkout := c.vitrine("credential", "create", "--name", "checkout", "--scope", "analytics:purchases")
	c.expect(403, "POST", "/api/analytics/events", customer, map[string]any{"events": []any{
		map[string]any{"id": "clu-p0", "type": "purchase", "product_id": p.ID, "quantity": 1}}})
	eventually(t, 15*time.Second, "analytics knows the product and takes the events", func() bool {
		var res struct{ Accepted, Duplicates int }
		c.expect(202, "POST", "/api/analytics/events", checkout, map[string]any{"events": []any{
			map[string]any{"id": "clu-purchase-1", "type": "purchase", "product_id": p.ID, "quantity": 2}}}).json(t, &res)
		return res.Accepted+res.Duplicates == 1 && res.Accepted <= 1
	})
	c.expect(202, "POST", "/api/analytics/events", "", map[string]any{"events": []any{
		map[string]any{"id": "clu-view-1", "type": "view", "product_id": p.ID}}})
	eventually(t, 15*time.Second, "the purchase shows in the sales report", func() bool {
		var top struct {
			Items []struct {
				ProductID string `json:"product_id"`
			}
		}
		c.expect(200, "GET", "/api/analytics/top-products?metric=sales&window=1h", admin, nil).json(t, &top)
		return len(top.Items) > 0 && top.Items[0].ProductID == p.ID
	})

	// HTTPS on the TLS port, with the certificate the cluster made.
	if r := c.do("GET", c.TLSURL+"/api/products/"+p.Slug, "", nil); r.Status != 200 {
		t.Fatalf("over TLS: %d", r.Status)
	}
	// The stats page answers on its own port.
	if res, err := http.Get(c.layout.StatsURL + ";csv"); err != nil || res.StatusCode != 200 {
		t.Fatalf("stats page: %v %v", err, res)
	} else {
		res.Body.Close()
	}

	// The console: its page and assets through the same address as the API
	// its script calls; the live chart's counters, from the instance that answers.
	console := c.expect(200, "GET", "/", "", nil)
	if csp := console.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("the console's Content-Security-Policy: %q", csp)
	}
	script := regexp.MustCompile(`src="(/assets/[^"]+)"`).FindSubmatch(console.Body)
	if script == nil {
		t.Fatalf("the console's page loads no script: %s", console.Body)
	}
	for range 4 { // every product instance has the same assets
		c.expect(200, "GET", string(script[1]), "", nil)
	}
	c.expect(200, "GET", "/api/ops/traffic", admin, nil)

	c.expect(204, "DELETE", "/api/products/"+p.ID, admin, nil)
	eventually(t, 5*time.Second, "every instance forgets the deleted product", func() bool {
		for range 4 {
			if c.do("GET", c.URL+"/api/products/"+p.Slug, "", nil).Status != 404 {
				return false
			}
		}
		return true
	})
}

const rate = 200

// testKillProduct: kill -9 of one product instance under load; HAProxy
// retries the requests it had on the other instance and takes it out.
func testKillProduct(c *cluster) {
	p := c.underLoad("kill -9 of product-1", rate, func() { c.proc(localcluster.Kill, "product-1") })
	p.outcome = fmt.Sprintf("%d failed requests", p.failures())
	record(p)
	c.proc(localcluster.Start, "product-1")
	if p.failures() != 0 {
		c.t.Errorf("%d failed requests", p.failures())
	}
}

// testRollingRestart: SIGTERM each instance in turn, wait until it is back
// in HAProxy, then the next.
func testRollingRestart(c *cluster) {
	p := c.underLoad(fmt.Sprintf("rolling restart of all %d instances", len(localcluster.Services)*c.cl.Config.Instances), rate, func() {
		for _, svc := range localcluster.Services {
			for i := 1; i <= 2; i++ {
				c.proc(localcluster.Restart, c.layout.Instance(svc, i).Name)
			}
		}
	})
	p.outcome = fmt.Sprintf("%d failed requests", p.failures())
	record(p)
	if p.failures() != 0 {
		c.t.Errorf("%d failed requests", p.failures())
	}
}

// testKillSearch: one search instance killed; the other serves searches,
// listings do not notice.
func testKillSearch(c *cluster) {
	p := c.underLoad("kill -9 of search-1", rate, func() { c.proc(localcluster.Kill, "search-1") },
		"--mix", "browse=40,product=30,search=30")
	var searches, searchErrors int64
	for _, a := range p.during.Actions {
		if a.Name == "search" {
			searches, searchErrors = a.Requests, a.Errors
		}
	}
	p.outcome = fmt.Sprintf("%d failed requests; %d searches served by the other search instances during", p.failures(), searches-searchErrors)
	record(p)
	c.proc(localcluster.Start, "search-1")
	if p.failures() != 0 {
		c.t.Errorf("%d failed requests", p.failures())
	}
}

// testRedisPrimaryStopped: the Redis primary stops for 30 s. The
// Sentinels promote a replica, and the instances, which ask them where
// the primary is, use it within seconds; the old primary comes back as a
// replica. No request fails.
func testRedisPrimaryStopped(c *cluster) {
	ctx := context.Background()
	var before, after string
	p := c.underLoad("Redis primary stopped for 30 s", rate, func() {
		before = c.redisPrimary(ctx)
		c.proc(localcluster.Stop, before)
		time.Sleep(30 * time.Second)
		c.proc(localcluster.Start, before)
		after = c.redisPrimary(ctx)
	})
	keys := redisKeys(c)
	p.outcome = fmt.Sprintf("%d failed requests; primary %s, then %s; %d keys in the new primary", p.failures(), before, after, keys)
	record(p)
	if p.failures() != 0 {
		c.t.Errorf("%d failed requests", p.failures())
	}
	if after == before || after == "" {
		c.t.Errorf("the Sentinels did not promote a replica: primary %q, then %q", before, after)
	}
	if keys == 0 {
		c.t.Errorf("no instance used the new primary")
	}
}

// redisPrimary is the name of the Redis server the Sentinels call the
// primary.
func (c *cluster) redisPrimary(ctx context.Context) string {
	primary := c.cl.RedisPrimary(ctx)
	for _, r := range c.layout.OfKind(localcluster.KindRedis) {
		if r.Addr("redis") == primary {
			return r.Name
		}
	}
	c.t.Fatalf("no Redis server is the primary the Sentinels name (%q)", primary)
	return ""
}

// redisKeys counts the keys of the Redis primary.
func redisKeys(c *cluster) int {
	r, _ := c.layout.Process(c.redisPrimary(context.Background()))
	out, err := exec.Command("redis-cli", "-h", r.Host, "-p", strconv.Itoa(r.Ports["redis"]), "dbsize").Output()
	if err != nil {
		c.t.Fatalf("redis-cli: %v", err)
	}
	var n int
	fmt.Sscan(strings.TrimSpace(string(out)), &n)
	return n
}

// testScale: one more product instance joins under load and leaves again
// (drained first), through HAProxy's runtime API, without a reload.
func testScale(c *cluster) {
	n := c.cl.Config.Instances
	extra := c.layout.Instance("product", n+1).Name
	p := c.underLoad(fmt.Sprintf("scale product %d → %d → %d", n, n+1, n), rate, func() {
		c.scale("product", n+1)
		time.Sleep(3 * time.Second)
		c.scale("product", n)
	})
	p.outcome = fmt.Sprintf("%d failed requests", p.failures())
	record(p)
	if p.failures() != 0 {
		c.t.Errorf("%d failed requests", p.failures())
	}
	if _, err := os.Stat(c.layout.PidFile(extra)); err == nil {
		c.t.Errorf("%s is still running after scaling down", extra)
	}
}

// testPicture: a picture uploaded through HAProxy to one product instance
// is served by every one of them, as they share the cluster's S3 store.
func testPicture(c *cluster, admin, productID string) {
	t := c.t
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 320, 200))); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", c.URL+"/api/products/"+productID+"/images?alt=kettle", bytes.NewReader(pic.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+admin)
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	var got struct{ Images []struct{ Thumbnail string } }
	err = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || err != nil || len(got.Images) != 1 {
		t.Fatalf("upload: status %d, %d images (%v)", res.StatusCode, len(got.Images), err)
	}
	for range 4 {
		r := c.expect(200, "GET", got.Images[0].Thumbnail, "", nil)
		if r.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("thumbnail through HAProxy: %v", r.Header)
		}
	}
}
