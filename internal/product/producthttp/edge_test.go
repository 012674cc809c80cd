package producthttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
)

// edgeServer is the product routes with an edge that may keep answers
// for a minute, over a catalog of one lamp in category lamps.
func edgeServer(t *testing.T) (http.Handler, *product.Product) {
	t.Helper()
	ctx := context.Background()
	svc, _ := openService(t)
	if _, err := svc.CreateCategory(ctx, product.CategoryInput{Slug: "lamps", Name: "Lamps"}); err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.Create(ctx, product.Input{Name: "Desk Lamp", Category: "lamps", Status: product.StatusActive,
		Variants: []product.Variant{{SKU: "LAMP-1", Price: product.Money{Amount: 2500, Currency: "EUR"}, Stock: 3}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := httpx.NewRouter()
	producthttp.Routes(rt, svc, producthttp.NewReadCache(cache.New(cache.Config{}), 0), httpx.SharedCache{MaxAge: time.Minute})
	return rt, p
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// Each public read tells the edge how long it may keep it and what it
// shows, the second time (from the read cache) as the first.
func TestPublicReadsCarrySurrogateKeys(t *testing.T) {
	h, p := edgeServer(t)
	for _, c := range []struct{ path, keys string }{
		{"/api/products/" + p.ID, "p:" + p.ID + " c:lamps"},
		{"/api/products/" + p.Slug, "p:" + p.ID + " c:lamps"},
		{"/api/products?category=lamps", "listings"},
		{"/api/products/bestsellers", "bestsellers"},
		{"/api/categories", "categories"},
		{"/api/categories/lamps", "categories"},
	} {
		for range 2 {
			rec := serve(h, httptest.NewRequest(http.MethodGet, c.path, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", c.path, rec.Code, rec.Body)
			}
			if cc := rec.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") || !strings.HasSuffix(cc, ", s-maxage=60") {
				t.Errorf("GET %s: Cache-Control %q, want the browsers' and s-maxage=60", c.path, cc)
			}
			if got := strings.Join(rec.Header().Values(httpx.SurrogateKeyHeader), " "); got != c.keys {
				t.Errorf("GET %s: xkey %q, want %q", c.path, got, c.keys)
			}
		}
	}
}

// What the edge must not keep carries neither s-maxage nor keys: answers
// to requests with Authorization, an admin's (private) reads, errors and
// writes.
func TestPrivateAnswersCarryNoSurrogateKeys(t *testing.T) {
	h, p := edgeServer(t)
	withAuth := func(r *http.Request) *http.Request { r.Header.Set("Authorization", "Bearer a-customer"); return r }
	asAdmin := func(r *http.Request) *http.Request {
		r.Header.Set("Authorization", "Bearer an-admin")
		return r.WithContext(authn.WithPrincipal(r.Context(), authn.Principal{UserID: "u1", Role: authn.RoleAdmin}))
	}
	for _, c := range []struct {
		name   string
		r      *http.Request
		status int
	}{
		{"a signed-in product read", withAuth(httptest.NewRequest(http.MethodGet, "/api/products/"+p.ID, nil)), 200},
		{"a signed-in listing", withAuth(httptest.NewRequest(http.MethodGet, "/api/products", nil)), 200},
		{"a signed-in category tree", withAuth(httptest.NewRequest(http.MethodGet, "/api/categories", nil)), 200},
		{"an admin's product read", asAdmin(httptest.NewRequest(http.MethodGet, "/api/products/"+p.ID, nil)), 200},
		{"an admin's listing", asAdmin(httptest.NewRequest(http.MethodGet, "/api/products", nil)), 200},
		{"an unknown product", httptest.NewRequest(http.MethodGet, "/api/products/no-such-product", nil), 404},
		{"a bad listing query", httptest.NewRequest(http.MethodGet, "/api/products?limit=nope", nil), 400},
		{"an update", asAdmin(httptest.NewRequest(http.MethodPatch, "/api/products/"+p.ID, strings.NewReader(`{"name":"Lamp"}`))), 200},
	} {
		if c.r.Method == http.MethodPatch {
			c.r.Header.Set("Content-Type", "application/merge-patch+json")
		}
		rec := serve(h, c.r)
		if rec.Code != c.status {
			t.Fatalf("%s: %d, want %d: %s", c.name, rec.Code, c.status, rec.Body)
		}
		if cc := rec.Header().Get("Cache-Control"); strings.Contains(cc, "s-maxage") {
			t.Errorf("%s (%d): Cache-Control %q tells the edge to keep it", c.name, rec.Code, cc)
		}
		if keys := rec.Header().Values(httpx.SurrogateKeyHeader); len(keys) > 0 {
			t.Errorf("%s (%d): carries surrogate keys %q", c.name, rec.Code, keys)
		}
	}
}
