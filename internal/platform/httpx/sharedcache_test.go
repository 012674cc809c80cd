package httpx

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// An edge gets s-maxage and the keys on anonymous answers only; without
// an edge, answers are what browsers get.
func TestPublicCacheTellsTheEdge(t *testing.T) {
	anonymous := httptest.NewRequest(http.MethodGet, "/api/products", nil)
	signedIn := httptest.NewRequest(http.MethodGet, "/api/products", nil)
	signedIn.Header.Set("Authorization", "Bearer x")
	own := SurrogateKeys("p:1", "c:lamps")

	for _, c := range []struct {
		name     string
		shared   SharedCache
		family   []string
		r        *http.Request
		own      []string
		wantCC   string
		wantKeys []string
	}{
		{"no edge", SharedCache{}, []string{"listings"}, anonymous, nil, "public, max-age=30", nil},
		{"under a second is no edge", SharedCache{MaxAge: 400 * time.Millisecond}, []string{"listings"}, anonymous, nil, "public, max-age=30", nil},
		{"family", SharedCache{MaxAge: time.Minute}, []string{"listings"}, anonymous, nil, "public, max-age=30, s-maxage=60", []string{"listings"}},
		{"own keys", SharedCache{MaxAge: 2 * time.Second}, nil, anonymous, own, "public, max-age=30, s-maxage=2", []string{"p:1 c:lamps"}},
		{"both", SharedCache{MaxAge: time.Minute}, []string{"search"}, anonymous, own, "public, max-age=30, s-maxage=60", []string{"search", "p:1 c:lamps"}},
		{"signed in", SharedCache{MaxAge: time.Minute}, []string{"listings"}, signedIn, own, "public, max-age=30", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			pc := c.shared.Public("public, max-age=30", c.family...)
			h := http.Header{}
			cc := pc.Set(h, c.r, c.own)
			if len(cc) != 1 || cc[0] != c.wantCC {
				t.Errorf("Cache-Control %q, want %q", cc, c.wantCC)
			}
			if got := h.Values("xkey"); !slices.Equal(got, c.wantKeys) {
				t.Errorf("xkey %q, want %q", got, c.wantKeys)
			}
		})
	}
}

// Setting the headers of an answer allocates nothing but the list that
// joins a family and an answer's own keys.
func TestPublicCacheAllocatesNothing(t *testing.T) {
	pc := SharedCache{MaxAge: time.Minute}.Public("public, max-age=60")
	r := httptest.NewRequest(http.MethodGet, "/api/products/1", nil)
	own := SurrogateKeys("p:1")
	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() { pc.Set(h, r, own) }); n != 0 {
		t.Fatalf("%v allocations per answer", n)
	}
}
