package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleIsServedBesideTheAPI: "/" is the console's page, with a strict
// Content-Security-Policy and no-cache; its assets are cached for a year
// under a version; and every API, health and key route answers as before,
// a path no route knows still getting the API's 404 problem, not the page.
func TestConsoleIsServedBesideTheAPI(t *testing.T) {
	c := startCatalog(t)

	page := expect(t, c.get("/", ""), 200)
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("/ is %q, want HTML", ct)
	}
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("Content-Security-Policy %q allows unsafe sources", csp)
	}
	if cc := page.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("page Cache-Control %q, want no-cache", cc)
	}
	html := string(page.Body)
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style=|\son[a-z]+=`).MatchString(html) {
		t.Errorf("the page has inline script or style:\n%s", html)
	}

	// Every asset the page names is served, versioned, for a year.
	assets := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(assets) < 3 {
		t.Fatalf("the page names %d assets:\n%s", len(assets), html)
	}
	for _, m := range assets {
		r := expect(t, c.get(m[1], ""), 200)
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", m[1], cc)
		}
		if r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no Content-Security-Policy", m[1])
		}
	}
	script := regexp.MustCompile(`src="(/assets/[^"]+/main\.js)"`).FindStringSubmatch(html)
	if script == nil {
		t.Fatal("the page loads no main.js")
	}
	if ct := c.get(script[1], "").Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("main.js is served as %q; browsers run modules only as JavaScript", ct)
	}
	stale := strings.Replace(script[1], strings.Split(script[1], "/")[2], "000000000000", 1)
	expect(t, c.get(stale, ""), 404).Problem(t)

	// The API and the operations routes are not shadowed by the console.
	for path, status := range map[string]int{
		"/healthz": 200, "/readyz": 200, "/openapi.json": 200, "/.well-known/jwks.json": 200,
		"/api/categories": 200, "/api/search?q=x": 200, "/api/no-such-route": 404, "/no-such-page": 404,
		"/metrics": 404, // only on the private admin address
	} {
		r := expect(t, c.get(path, ""), status)
		if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s answered with the console's page", path)
		}
		if status == 404 {
			r.Problem(t)
		}
	}
}

// TestTrafficForTheLiveChart: an administrator reads the process's request
// counters and latency histogram; the console draws rates from two readings.
func TestTrafficForTheLiveChart(t *testing.T) {
	c := startCatalog(t)
	expect(t, c.get("/api/ops/traffic", ""), 401).Problem(t)
	expect(t, c.get("/api/ops/traffic", c.customer), 403).Problem(t)

	read := func() (traffic struct {
		Requests uint64 `json:"requests"`
		Latency  []struct {
			LE    *float64 `json:"le"`
			Count uint64   `json:"count"`
		} `json:"latency"`
		Gauges map[string]float64 `json:"gauges"`
	}) {
		r := expect(t, c.get("/api/ops/traffic", c.admin), 200)
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		r.JSON(t, &traffic)
		return traffic
	}
	before := read()
	for range 5 {
		expect(t, c.get("/api/categories", ""), 200)
	}
	after := read()
	if got := after.Requests - before.Requests; got < 6 { // five reads and the first traffic request
		t.Errorf("requests went up by %d, want at least 6", got)
	}
	last := after.Latency[len(after.Latency)-1]
	if last.LE != nil || last.Count < after.Requests-1 {
		t.Errorf("the last latency bucket %+v should be +Inf and hold every request timed", last)
	}
	if _, ok := after.Gauges["outbox_backlog"]; !ok {
		t.Errorf("no outbox backlog in %v", after.Gauges)
	}
	if _, ok := after.Gauges["search_index_lag"]; !ok {
		t.Errorf("no search index lag in %v", after.Gauges)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(c.get("/api/ops/traffic", c.admin).Body, &raw)
	if _, ok := raw["at"]; !ok {
		t.Error("no time of reading")
	}
}

// TestConsoleAssetsAreCompressed: the console's scripts and styles travel
// compressed to a browser that accepts it, as the API's JSON does.
func TestConsoleAssetsAreCompressed(t *testing.T) {
	c := startCatalog(t)
	page := expect(t, c.get("/", ""), 200)
	for _, m := range regexp.MustCompile(`(?:src|href)="(/assets/[^"]+\.(?:js|css))"`).FindAllStringSubmatch(string(page.Body), -1) {
		r := expect(t, c.do(call{Method: "GET", Path: m[1], Header: map[string]string{"Accept-Encoding": "gzip"}}), 200)
		if enc := r.Header.Get("Content-Encoding"); enc != "gzip" && len(r.Body) >= 1400 {
			t.Errorf("%s (%d bytes) is sent with Content-Encoding %q", m[1], len(r.Body), enc)
		}
	}
}
