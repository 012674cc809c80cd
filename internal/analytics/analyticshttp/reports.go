package analyticshttp

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
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
	url.Values
	limit int // 0 when absent; the service picks the default
}

// parseReportQuery reads a query string that may hold the parameters
// allowed, each at most once. The values themselves are checked by the
// service, except limit, which must be an integer from 1 to
// analytics.MaxLimit.
func parseReportQuery(raw string, allowed ...string) (reportQuery, error) {
	var v errs.Validation
	values, err := url.ParseQuery(raw)
	if err != nil {
		v.Add("query", "malformed query string")
		return reportQuery{}, v.Err()
	}
	known := map[string]bool{}
	for _, name := range allowed {
		known[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		switch vals := values[name]; {
		case !known[name]:
			v.Add(name, "unknown query parameter")
		case len(vals) > 1:
			v.Add(name, "must be given at most once")
		case vals[0] == "":
			v.Add(name, "must not be empty")
		}
	}
	q := reportQuery{Values: values}
	if s := values.Get("limit"); s != "" && known["limit"] {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > analytics.MaxLimit {
			v.Add("limit", "must be an integer from 1 to %d", analytics.MaxLimit)
		}
		q.limit = n
	}
	return q, v.Err()
}
