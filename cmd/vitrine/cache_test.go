package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// TestTwoProcessesNeverServeStale: two real processes share PostgreSQL,
// Redis and the event stream. Each caches reads; an update through one is
// served fresh by the other once the invalidation arrives, and never stale
// after that.
func TestTwoProcessesNeverServeStale(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	ns := bustest.Prefix(t)
	runCommand(t, nil, "user", "create", "--postgres-url", pg, "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")
	env := []string{"VITRINE_POSTGRES_URL=" + pg, "VITRINE_NATS_URL=" + bustest.URL(), "VITRINE_NAMESPACE=" + ns,
		"VITRINE_REDIS_URL=redis://127.0.0.1:6379/0", "VITRINE_LOG_LEVEL=warn"}
	a := startProcess(t, env, "--target", "product,auth")
	b := startProcess(t, env, "--target", "product,auth", "--admin-addr", "127.0.0.1:0")
	token := (&catalog{server: a}).login(t, "ops@vitrine.test", "ops-password")

	var p productJSON
	expect(t, a.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Kettle", "KET-1", 2999, nil)}), 201).JSON(t, &p)
	// B caches the product and a listing (the second read is a cache hit).
	for i := 0; i < 2; i++ {
		expect(t, b.get("/api/products/"+p.ID, ""), 200)
		expect(t, b.get("/api/products/kettle", ""), 200)
		expect(t, b.get("/api/products?sort=price", ""), 200)
	}
	if !metricValue(t, b, `vitrine_cache_requests_total{result="hit_l1"}`) {
		t.Fatal("process B served nothing from its cache")
	}

	expect(t, a.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: token, ContentType: "application/merge-patch+json",
		Body: `{"name": "Electric Kettle", "variants": [{"sku": "KET-1", "price": {"amount": 1999, "currency": "EUR"}, "stock": 3}]}`}), 200)

	fresh := func() bool {
		var got productJSON
		expect(t, b.get("/api/products/"+p.ID, ""), 200).JSON(t, &got)
		var bySlug productJSON
		expect(t, b.get("/api/products/kettle", ""), 200).JSON(t, &bySlug)
		var page struct{ Items []productJSON }
		expect(t, b.get("/api/products?sort=price", ""), 200).JSON(t, &page)
		return got.Name == "Electric Kettle" && bySlug.Version == 2 && len(page.Items) == 1 && page.Items[0].Price.Min == 1999
	}
	eventually(t, 5*time.Second, "process B serves the update", fresh)
	for i := 0; i < 20; i++ {
		if !fresh() {
			t.Fatalf("process B served a stale copy after the invalidation (read %d)", i)
		}
	}
	// Deleting through B reaches A the same way.
	expect(t, b.do(call{Method: "DELETE", Path: "/api/products/" + p.ID, Token: token}), 204)
	eventually(t, 5*time.Second, "process A forgets the deleted product", func() bool {
		return a.get("/api/products/"+p.ID, "").Status == http.StatusNotFound
	})
}

// TestCompressionAndRevalidation: large responses are gzipped, and the
// compressed entity tag revalidates.
func TestCompressionAndRevalidation(t *testing.T) {
	c := startCatalog(t)
	for i := 0; i < 15; i++ {
		c.createProduct(t, productBody("Lamp "+strings.Repeat("x", i+1), "LAMP-"+strings.Repeat("x", i+1), int64(1000+i), nil))
	}
	req, _ := http.NewRequest("GET", c.URL+"/api/products?limit=50", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasSuffix(etag, `-gzip"`) || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
		t.Fatalf("not compressed: %v", resp.Header)
	}
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidating the gzip representation: %d", resp.StatusCode)
	}
	if err := checkAgainstContract(req, resp, nil); err != nil {
		t.Error(err)
	}
}

// TestServesWithRedisDown: a Redis that is down only costs the shared
// cache; reads and writes go on from L1 and the database.
func TestServesWithRedisDown(t *testing.T) {
	c := startCatalog(t, "--redis-url", "redis://127.0.0.1:1/0")
	p := c.createProduct(t, productBody("Teapot", "TEA-1", 1500, nil))
	for i := 0; i < 5; i++ {
		expect(t, c.get("/api/products/"+p.ID, ""), 200)
		expect(t, c.get("/api/products?limit=5", ""), 200)
	}
	expect(t, c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json", Body: `{"name": "Green Teapot"}`}), 200)
	var got productJSON
	expect(t, c.get("/api/products/"+p.ID, ""), 200).JSON(t, &got)
	if got.Name != "Green Teapot" {
		t.Fatalf("after update: %+v", got)
	}
}
