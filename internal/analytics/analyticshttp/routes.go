// Package analyticshttp serves the analytics service over HTTP.
package analyticshttp

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Routes registers the whole HTTP surface of the analytics service.
// Anyone may send events; only admins read the reports.
func Routes(rt *httpx.Router, svc *analytics.Service) {
	admin := func(h http.Handler) http.Handler { return authn.Require(h, authn.RoleAdmin) }

	rt.Handle("POST /api/analytics/events", ingestEvents(svc))
	rt.Handle("GET /api/analytics/top-products", admin(topProducts(svc)))
	rt.Handle("GET /api/analytics/searches", admin(topSearches(svc)))
	rt.Handle("GET /api/analytics/summary", admin(summary(svc)))
}
