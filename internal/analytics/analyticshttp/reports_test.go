package analyticshttp_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
)

func TestReportsAreForAdmins(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/analytics/top-products", "/api/analytics/searches", "/api/analytics/summary"} {
		t.Run(path, func(t *testing.T) {
			problemFields(t, f.do("GET", path, "", "", ""), http.StatusUnauthorized)
			problemFields(t, f.do("GET", path, f.customer, "", ""), http.StatusForbidden)
			w := f.do("GET", path, f.admin, "", "")
			if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "private, no-store" {
				t.Fatalf("admin: status %d, Cache-Control %q: %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
			}
			// With no events yet, lists are empty, not null.
			if body := w.Body.String(); strings.Contains(body, "null") {
				t.Fatalf("admin: %s", body)
			}
		})
	}
	// Sending events needs no token.
	if res := f.ingestAs("", "192.0.2.1:1234", view("e1", "p1", now)); res.Accepted != 1 {
		t.Fatalf("anonymous event: %+v", res)
	}
}

func TestTopProducts(t *testing.T) {
	f := newFixture(t)
	f.ingest(
		view("v1", "p1", now.Add(-10*time.Minute)), view("v2", "p1", now.Add(-10*time.Minute)), view("v3", "p1", now.Add(-9*time.Minute)),
		view("v4", "p2", now.Add(-30*time.Minute)),
		view("v5", "p3", now.Add(-2*time.Hour)), view("v6", "p3", now.Add(-2*time.Hour)),
		view("v7", "p3", now.Add(-6*24*time.Hour)),
		purchase("b1", "p2", 5, now.Add(-3*time.Hour)),
		purchase("b2", "p1", 1, now.Add(-5*time.Minute)),
		cart("c1", "p3", now),
	)
	p := func(id string, v int64) analytics.ProductValue {
		return analytics.ProductValue{ProductID: id, Value: v}
	}
	for _, tc := range []struct {
		query          string
		metric, window string
		want           []analytics.ProductValue
	}{
		{"metric=views&window=1h", "views", "1h", []analytics.ProductValue{p("p1", 3), p("p2", 1)}},
		{"metric=views&window=24h", "views", "24h", []analytics.ProductValue{p("p1", 3), p("p3", 2), p("p2", 1)}},
		{"metric=views&window=7d", "views", "7d", []analytics.ProductValue{p("p1", 3), p("p3", 3), p("p2", 1)}},
		{"metric=sales&window=24h", "sales", "24h", []analytics.ProductValue{p("p2", 5), p("p1", 1)}},
		{"metric=sales&window=1h", "sales", "1h", []analytics.ProductValue{p("p1", 1)}},
		{"window=24h&limit=1", "views", "24h", []analytics.ProductValue{p("p1", 3)}},
		{"", "views", "24h", []analytics.ProductValue{p("p1", 3), p("p3", 2), p("p2", 1)}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var got analytics.TopProducts
			f.get("/api/analytics/top-products?"+tc.query, &got)
			if string(got.Metric) != tc.metric || string(got.Window) != tc.window || !reflect.DeepEqual(got.Items, tc.want) {
				t.Fatalf("got %+v, want %s over %s: %+v", got, tc.metric, tc.window, tc.want)
			}
		})
	}
}

func TestSearchReports(t *testing.T) {
	f := newFixture(t)
	f.search("s1", "Shoes", 3, now.Add(-time.Minute))
	f.search("s2", "  shoes ", 0, now.Add(-2*time.Minute))
	f.search("s3", "HAT", 0, now.Add(-3*time.Minute))
	f.search("s4", "hat", 0, now.Add(-4*time.Minute))
	f.search("s5", "lamp", 5, now.Add(-5*time.Minute))
	f.search("s5", "lamp", 5, now.Add(-5*time.Minute)) // redelivered by the bus
	f.search("s6", "boots", 0, now.Add(-2*time.Hour))
	f.search("s7", "sofa", 0, now.Add(-8*24*time.Hour)) // too old to count
	f.search("s8", "", 0, now)                          // browsing without a query: in the summary only
	q := func(query string, n int64) analytics.QueryCount { return analytics.QueryCount{Query: query, Count: n} }
	for _, tc := range []struct {
		query        string
		kind, window string
		want         []analytics.QueryCount
	}{
		{"kind=top&window=1h", "top", "1h", []analytics.QueryCount{q("hat", 2), q("shoes", 2), q("lamp", 1)}},
		{"kind=zero-results&window=1h", "zero-results", "1h", []analytics.QueryCount{q("hat", 2), q("shoes", 1)}},
		{"kind=zero-results&window=24h", "zero-results", "24h", []analytics.QueryCount{q("hat", 2), q("boots", 1), q("shoes", 1)}},
		{"kind=top&window=7d&limit=2", "top", "7d", []analytics.QueryCount{q("hat", 2), q("shoes", 2)}},
		{"", "top", "24h", []analytics.QueryCount{q("hat", 2), q("shoes", 2), q("boots", 1), q("lamp", 1)}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var got analytics.TopSearches
			f.get("/api/analytics/searches?"+tc.query, &got)
			if string(got.Kind) != tc.kind || string(got.Window) != tc.window || !reflect.DeepEqual(got.Items, tc.want) {
				t.Fatalf("got %+v, want %s over %s: %+v", got, tc.kind, tc.window, tc.want)
			}
		})
	}
	var s analytics.Summary
	f.get("/api/analytics/summary?window=24h", &s)
	if s.Totals.Searches != 7 || s.Totals.ZeroResultSearches != 5 {
		t.Fatalf("summary totals %+v, want 7 searches, 5 without results", s.Totals)
	}
}

func TestSummarySeries(t *testing.T) {
	f := newFixture(t)
	minute := now.Truncate(time.Minute) // 10:30
	f.ingest(
		view("a", "p1", minute.Add(-2*time.Minute+10*time.Second)), // 10:28
		view("b", "p2", minute.Add(-2*time.Minute+50*time.Second)), // 10:28
		cart("c", "p1", minute.Add(-time.Minute)),                  // 10:29
		purchase("d", "p1", 4, minute),                             // 10:30
		view("e", "p3", minute.Add(-3*time.Hour)),                  // 07:30: 24h and 7d only
	)
	f.search("s", "lamp", 0, minute.Add(-30*time.Second)) // 10:29

	var s analytics.Summary
	f.get("/api/analytics/summary?window=1h", &s)
	if s.Window != "1h" || s.Bucket != "1m" || len(s.Series) != 60 {
		t.Fatalf("window %s, bucket %s, %d points; want 1h, 1m, 60", s.Window, s.Bucket, len(s.Series))
	}
	if first, last := s.Series[0].Minute, s.Series[59].Minute; !first.Equal(minute.Add(-59*time.Minute)) || !last.Equal(minute) {
		t.Fatalf("series from %s to %s, want 09:31 to 10:30", first, last)
	}
	point := func(at time.Time, views, carts, purchases, searches int64) analytics.SeriesPoint {
		return analytics.SeriesPoint{Minute: at, Views: views, AddToCart: carts, Purchases: purchases, Searches: searches}
	}
	wantTail := []analytics.SeriesPoint{
		point(minute.Add(-3*time.Minute), 0, 0, 0, 0),
		point(minute.Add(-2*time.Minute), 2, 0, 0, 0),
		point(minute.Add(-time.Minute), 0, 1, 0, 1),
		point(minute, 0, 0, 1, 0),
	}
	if got := s.Series[56:]; !equalPoints(got, wantTail) {
		t.Fatalf("series ends %+v, want %+v", got, wantTail)
	}
	if want := (analytics.Counters{Views: 2, AddToCart: 1, Purchases: 1, UnitsSold: 4, Searches: 1, ZeroResultSearches: 1}); s.Totals != want {
		t.Fatalf("1h totals %+v, want %+v", s.Totals, want)
	}

	f.get("/api/analytics/summary?window=24h", &s)
	// 24h from 10:31 yesterday, in 5-minute buckets from 10:30 yesterday to 10:30 today.
	if s.Bucket != "5m" || len(s.Series) != 289 {
		t.Fatalf("24h: bucket %s, %d points; want 5m, 289", s.Bucket, len(s.Series))
	}
	wantTail = []analytics.SeriesPoint{point(minute.Add(-5*time.Minute), 2, 1, 0, 1), point(minute, 0, 0, 1, 0)}
	if got := s.Series[287:]; !equalPoints(got, wantTail) {
		t.Fatalf("24h series ends %+v, want %+v", got, wantTail)
	}
	if p := s.Series[288-36]; !p.Minute.Equal(minute.Add(-3*time.Hour)) || p.Views != 1 {
		t.Fatalf("24h point at 07:30: %+v", p)
	}
	if s.Totals.Views != 3 {
		t.Fatalf("24h totals %+v", s.Totals)
	}

	f.get("/api/analytics/summary?window=7d", &s)
	hour := now.Truncate(time.Hour)
	if s.Bucket != "1h" || len(s.Series) != 7*24+1 || !s.Series[len(s.Series)-1].Minute.Equal(hour) {
		t.Fatalf("7d: bucket %s, %d points", s.Bucket, len(s.Series))
	}
	if got := s.Series[len(s.Series)-1]; !equalPoints([]analytics.SeriesPoint{got}, []analytics.SeriesPoint{point(hour, 2, 1, 1, 1)}) {
		t.Fatalf("7d last point %+v", got)
	}
}

func equalPoints(a, b []analytics.SeriesPoint) bool {
	return slices.EqualFunc(a, b, func(x, y analytics.SeriesPoint) bool {
		return x.Minute.Equal(y.Minute) && x.Views == y.Views && x.AddToCart == y.AddToCart &&
			x.Purchases == y.Purchases && x.Searches == y.Searches
	})
}

func TestReportQueryErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ target, field string }{
		{"/api/analytics/top-products?sort=desc", "sort"},
		{"/api/analytics/top-products?metric=likes", "metric"},
		{"/api/analytics/top-products?window=2h", "window"},
		{"/api/analytics/top-products?window=", "window"},
		{"/api/analytics/top-products?limit=0", "limit"},
		{"/api/analytics/top-products?limit=101", "limit"},
		{"/api/analytics/top-products?limit=ten", "limit"},
		{"/api/analytics/top-products?limit=5&limit=6", "limit"},
		{"/api/analytics/top-products?kind=top", "kind"},
		{"/api/analytics/searches?kind=popular", "kind"},
		{"/api/analytics/searches?metric=views", "metric"},
		{"/api/analytics/searches?window=30d", "window"},
		{"/api/analytics/summary?window=1y", "window"},
		{"/api/analytics/summary?limit=5", "limit"},
		{"/api/analytics/summary?window=%zz", "query"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			fields := problemFields(t, f.do("GET", tc.target, f.admin, "", ""), http.StatusBadRequest)
			if !slices.Contains(fields, tc.field) {
				t.Fatalf("problem names %v, want %q", fields, tc.field)
			}
		})
	}
	// The faults of the query string are named together, as are those of its values.
	fields := problemFields(t, f.do("GET", "/api/analytics/top-products?limit=0&z=1", f.admin, "", ""), http.StatusBadRequest)
	if fmt.Sprint(fields) != "[z limit]" {
		t.Fatalf("fields %v, want [z limit]", fields)
	}
	fields = problemFields(t, f.do("GET", "/api/analytics/top-products?metric=x&window=y", f.admin, "", ""), http.StatusBadRequest)
	if fmt.Sprint(fields) != "[metric window]" {
		t.Fatalf("fields %v, want [metric window]", fields)
	}
}
