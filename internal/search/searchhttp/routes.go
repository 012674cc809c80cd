// Package searchhttp serves the search service over HTTP.
package searchhttp

import (
	"github.com/vitrine-dev/vitrine/internal/edge"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// Routes registers the whole HTTP surface of the search service. Every
// route is public; an edge cache may keep results and suggestions as
// shared says.
func Routes(rt *httpx.Router, svc *search.Service, shared httpx.SharedCache) {
	enc := newEncoded()
	pc := shared.Public(searchCache, edge.Search)
	rt.Handle("GET /api/search", searchProducts(svc, enc, &pc))
	rt.Handle("GET /api/search/suggest", suggest(svc, enc, &pc))
	rt.Handle("GET /api/search/status", status(svc))
}
