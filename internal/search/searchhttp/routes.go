// Package searchhttp serves the search service over HTTP.
package searchhttp

import (
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// Routes registers the whole HTTP surface of the search service. Every
// route is public.
func Routes(rt *httpx.Router, svc *search.Service) {
	enc := newEncoded()
	rt.Handle("GET /api/search", searchProducts(svc, enc))
	rt.Handle("GET /api/search/suggest", suggest(svc, enc))
	rt.Handle("GET /api/search/status", status(svc))
}
