package searchhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// Search results and suggestions tell the edge they show the search
// family, except to a signed-in client; errors tell it nothing.
func TestSearchAnswersCarrySurrogateKeys(t *testing.T) {
	h, _ := newServerFor(t, search.Options{}, httpx.SharedCache{MaxAge: 90 * time.Second})
	for _, c := range []struct {
		path, auth   string
		status       int
		wantCC, keys string
	}{
		{"/api/search?q=headphones", "", 200, "public, max-age=30, s-maxage=90", "search"},
		{"/api/search/suggest?q=hea", "", 200, "public, max-age=30, s-maxage=90", "search"},
		{"/api/search?q=headphones", "Bearer x", 200, "public, max-age=30", ""},
		{"/api/search/suggest?q=hea", "Bearer x", 200, "public, max-age=30", ""},
		{"/api/search?per_page=nope", "", 400, "", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.status {
			t.Fatalf("GET %s: %d %s", c.path, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Cache-Control"); c.wantCC != "" && got != c.wantCC {
			t.Errorf("GET %s (auth %q): Cache-Control %q, want %q", c.path, c.auth, got, c.wantCC)
		}
		if got := rec.Header().Get(httpx.SurrogateKeyHeader); got != c.keys {
			t.Errorf("GET %s (auth %q): xkey %q, want %q", c.path, c.auth, got, c.keys)
		}
	}
}
