package analyticshttp

import (
	"net/http"
	"slices"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Reports are for one admin's eyes and change by the second.
const reportCache = "private, no-store"

func topProducts(svc *analytics.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parseReportQuery(r.URL.RawQuery, "metric", "window", "limit")
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		report, err := svc.TopProducts(r.Context(), analytics.TopProductsQuery{
			Metric: analytics.Metric(p.Get("metric")), Window: analytics.Window(p.Get("window")), Limit: p.limit})
		writeReport(w, r, report, err)
	})
}

func topSearches(svc *analytics.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parseReportQuery(r.URL.RawQuery, "kind", "window", "limit")
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		report, err := svc.TopSearches(r.Context(), analytics.TopSearchesQuery{
			Kind: analytics.SearchKind(p.Get("kind")), Window: analytics.Window(p.Get("window")), Limit: p.limit})
		writeReport(w, r, report, err)
	})
}

func summary(svc *analytics.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parseReportQuery(r.URL.RawQuery, "window")
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		report, err := svc.Summary(r.Context(), analytics.Window(p.Get("window")))
		writeReport(w, r, report, err)
	})
}

func writeReport(w http.ResponseWriter, r *http.Request, report any, err error) {
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", reportCache)
	httpx.WriteJSON(w, http.StatusOK, report)
}

// reportQuery is a parsed report query string.
type reportQuery struct {
	*httpx.Query
	limit int // 0 when absent; the service picks the default
}

// parseReportQuery reads a query string that may hold the parameters
// allowed, each at most once and not empty. The values themselves are
// checked by the service, except limit, which must be an integer from 1 to
// analytics.MaxLimit.
func parseReportQuery(raw string, allowed ...string) (reportQuery, error) {
	q := reportQuery{Query: httpx.ReadQuery(raw, httpx.Params(allowed...)...)}
	for _, name := range allowed {
		q.Check(!q.Has(name) || q.Get(name) != "", name, "must not be empty")
	}
	if slices.Contains(allowed, "limit") {
		q.limit = int(q.Int("limit", 1, analytics.MaxLimit, 0, ""))
	}
	return q, q.Err()
}
