package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/modules"
)

// BenchmarkPublicReads measures each public read on its hot path: the
// whole handler chain of a real app (modules.New on a seeded data dir:
// compression, recovery, logging and metrics, shedding, authentication,
// rate limits, routing), called in process with httptest, every request
// answered from a warm cache. ns/op, B/op and allocs/op of one request are
// what a change to the chain or a handler costs every shopper.
//
// Requests come from 1,024 client addresses in turn, each already known to
// the per-IP rate limit (at its default), as a returning shopper is: the
// limit is checked on every request without turning any away. They ask
// for no compression, as `vitrine bench` does. "bare" is
// the floor: the same httptest request and recorder with a handler that
// writes a fixed body.
//
// Search and suggest are answered from their encoded responses while the
// index stays the same (a search still runs its result-cache lookup and
// records its event).
//
//	go test ./cmd/vitrine -run '^$' -bench PublicReads -benchtime 2000x
func BenchmarkPublicReads(b *testing.B) {
	app, fx := startReadBenchApp(b)
	h := app.Handler
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	clients := make([]string, 1<<10)
	for i := range clients {
		clients[i] = fmt.Sprintf("10.0.%d.%d:40000", i>>8, i&0xff)
		if code, body := serveRead(h, "/api/categories", clients[i]); code != http.StatusOK {
			b.Fatalf("GET /api/categories: %d %s", code, body)
		}
	}

	for _, bc := range []struct {
		name, path string
		h          http.Handler
		cached     bool // a miss of the product read cache would show in /metrics
	}{
		{"bare", "/api/products/" + fx.id, bare, false},
		{"product-by-id", "/api/products/" + fx.id, h, true},
		{"product-by-slug", "/api/products/" + fx.slug, h, true},
		{"category-listing", "/api/products?category=" + fx.category + "&limit=20", h, true},
		{"bestsellers", "/api/products/bestsellers?limit=10", h, true},
		{"categories", "/api/categories", h, true},
		{"search", "/api/search?q=" + url.QueryEscape(fx.word), h, false},
		{"suggest", "/api/search/suggest?q=" + url.QueryEscape(fx.prefix), h, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Warm the cache, and check the answer is the one measured.
			if code, body := serveRead(bc.h, bc.path, clients[0]); code != http.StatusOK {
				b.Fatalf("GET %s: %d %s", bc.path, code, body)
			}
			missesBefore := cacheMisses(b, app.Metrics())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, bc.path, nil)
				req.RemoteAddr = clients[i%len(clients)]
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", bc.path, rec.Code, rec.Body)
				}
			}
			b.StopTimer()
			if missed := cacheMisses(b, app.Metrics()) - missesBefore; bc.cached && missed != 0 {
				b.Fatalf("GET %s: %d cache misses while measuring: not the cache-hit path", bc.path, missed)
			}
		})
	}
}

// readFixture is what the benchmark reads: one product, a category with
// products, a word of a product name to search for and a prefix of it.
type readFixture struct {
	id, slug, category, word, prefix string
}

// startReadBenchApp builds the whole app on a data dir seeded with 300
// products, waits until the search index holds the active ones, and picks
// the fixture from the catalog. configure, when given, changes the app's
// configuration first.
func startReadBenchApp(b *testing.B, configure ...func(*modules.Config)) (*modules.App, readFixture) {
	b.Helper()
	dir := b.TempDir()
	runCommand(b, nil, "seed", "--data-dir", dir, "--products", "300")
	cfg := modules.DefaultConfig()
	cfg.Store.DataDir, cfg.Logger = dir, slog.New(slog.DiscardHandler)
	for _, f := range configure {
		f(&cfg)
	}
	app, err := modules.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Close() })
	h := app.Handler

	var page struct {
		Items []struct {
			ID, Slug, Name, Category string
		} `json:"items"`
	}
	decodeRead(b, h, "/api/products?limit=1", &page)
	if len(page.Items) == 0 {
		b.Fatal("the seeded catalog lists no product")
	}
	p := page.Items[0]
	fx := readFixture{id: p.ID, slug: p.Slug, category: p.Category}
	for _, w := range strings.Fields(strings.ToLower(p.Name)) {
		if len(w) >= 4 && strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) < 0 {
			fx.word, fx.prefix = w, w[:3]
			break
		}
	}
	if fx.word == "" || fx.category == "" {
		b.Fatalf("no word to search for, or no category, in %+v", p)
	}

	// The relay publishes the seeded catalog and the index takes it in:
	// wait until it has caught up and stopped growing.
	deadline := time.Now().Add(time.Minute)
	var lastDocs uint64
	for {
		var st struct {
			Documents uint64  `json:"documents"`
			Lag       *uint64 `json:"lag"`
		}
		decodeRead(b, h, "/api/search/status", &st)
		if st.Documents > 0 && st.Documents == lastDocs && st.Lag != nil && *st.Lag == 0 {
			break
		}
		lastDocs = st.Documents
		if time.Now().After(deadline) {
			b.Fatalf("the search index did not catch up: %+v", st)
		}
		time.Sleep(50 * time.Millisecond) // within the per-IP rate limit
	}
	return app, fx
}

func serveRead(h http.Handler, path, client string) (int, []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = client
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func decodeRead(b *testing.B, h http.Handler, path string, v any) {
	b.Helper()
	code, body := serveRead(h, path, "192.0.2.1:40000")
	if code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		b.Fatalf("GET %s: %v", path, err)
	}
}

// cacheMisses reads the product read cache's misses from /metrics, as
// served on the admin address (metrics, the app's Metrics handler).
func cacheMisses(b *testing.B, metrics http.Handler) int64 {
	b.Helper()
	code, body := serveRead(metrics, "/metrics", "192.0.2.1:40000")
	if code != http.StatusOK {
		b.Fatalf("GET /metrics: %d", code)
	}
	var n int64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		found = found || strings.HasPrefix(line, "vitrine_cache_requests_total{")
		if strings.HasPrefix(line, "vitrine_cache_requests_total{") && strings.Contains(line, `result="miss"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				b.Fatalf("metric line %q: %v", line, err)
			}
			n += int64(v)
		}
	}
	if !found {
		b.Fatal("/metrics has no vitrine_cache_requests_total: cache hits cannot be checked")
	}
	return n
}
