package producthttp_test

import (
	"net/http/httptest"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
)

// Only picture uploads skip the edge's 1 MiB body buffer.
func TestStreamsBody(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/products/0190b6a0-0000-7000-8000-000000000000/images", true},
		{"PUT", "/api/products/0190b6a0-0000-7000-8000-000000000000/images", false},
		{"POST", "/api/products", false},
		{"POST", "/api/products//images", false},
		{"POST", "/api/products/a/b/images", false},
		{"POST", "/api/products/a/images/x", false},
		{"POST", "/api/analytics/events", false},
	} {
		if got := producthttp.StreamsBody(httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.method, c.path, got, c.want)
		}
	}
}
