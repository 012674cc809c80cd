package producthttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
	"github.com/vitrine-dev/vitrine/internal/product/productseed"
)

// benchServer is the product routes over a small seeded catalog, with an
// in-process cache, and the id of one active product.
func benchServer(b *testing.B) (http.Handler, string) {
	b.Helper()
	ctx := context.Background()
	svc, store := openService(b)
	if err := productseed.Seed(ctx, store, nil, 2000, 1, nil); err != nil {
		b.Fatal(err)
	}
	page, err := svc.List(ctx, product.ListQuery{Limit: 1}, "")
	if err != nil || len(page.Items) == 0 {
		b.Fatal("no product", err)
	}
	rt := httpx.NewRouter()
	producthttp.Routes(rt, svc, producthttp.NewReadCache(cache.New(cache.Config{}), 0), httpx.SharedCache{MaxAge: time.Minute})
	return rt, page.Items[0].ID
}

// openService returns a product service on a new SQLite store.
func openService(tb testing.TB) (*product.Service, *productdb.Store) {
	tb.Helper()
	ctx := context.Background()
	store, err := productdb.Open(ctx, sqldb.Config{SQLitePath: filepath.Join(tb.TempDir(), "product.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	secret, err := store.CursorSecret(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := product.NewService(store, secret)
	if err != nil {
		tb.Fatal(err)
	}
	return svc, store
}

// get serves one request and returns the body; the response writer is a
// recorder, so network costs are out of the picture.
func get(h http.Handler, path string) []byte {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return body
}

// BenchmarkCachedReads compares the cached product and listing handlers with
// a bare handler that writes the same bytes, in the same run: the ratio of
// ns/op is the cost of the cache lookup and the HTTP plumbing of a hit.
func BenchmarkCachedReads(b *testing.B) {
	h, id := benchServer(b)
	for i, path := range []string{"/api/products/" + id, "/api/products?category=electronics&limit=20"} {
		body := get(h, path) // warm the cache
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		})
		name := []string{"product", "listing"}[i]
		b.Run(name+"/vitrine", func(b *testing.B) {
			for b.Loop() {
				get(h, path)
			}
		})
		b.Run(name+"/bare", func(b *testing.B) {
			for b.Loop() {
				get(bare, path)
			}
		})
	}
}
