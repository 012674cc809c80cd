package obs

import (
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// requestCounts gathers vitrine_http_requests_total by "method status".
func requestCounts(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "vitrine_http_requests_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["route"]+" "+labels["method"]+" "+labels["status"]] = metric.GetCounter().GetValue()
		}
	}
	return out
}

// The children resolved once per label set count exactly what
// WithLabelValues would, for every route, method and status.
func TestObserveRequestCountsPerLabelSet(t *testing.T) {
	m := NewMetrics()
	get := httptest.NewRequest(http.MethodGet, "/x", nil)
	post := httptest.NewRequest(http.MethodPost, "/x", nil)
	for range 3 {
		m.ObserveRequest(get, 200, time.Millisecond)
	}
	m.ObserveRequest(get, 404, time.Millisecond)
	m.ObserveRequest(post, 200, time.Millisecond)
	got := requestCounts(t, m)
	want := map[string]float64{"unmatched GET 200": 3, "unmatched GET 404": 1, "unmatched POST 200": 1}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

// Past maxResolved label sets (odd methods, say), requests are still
// counted, resolved each time.
func TestObserveRequestPastTheResolvedBound(t *testing.T) {
	m := NewMetrics()
	n := maxResolved + 10
	for i := range n {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Method = "M" + strconv.Itoa(i)
		m.ObserveRequest(r, 200, time.Millisecond)
		m.ObserveRequest(r, 200, time.Millisecond)
	}
	got := requestCounts(t, m)
	if len(got) != n {
		t.Fatalf("%d series, want %d", len(got), n)
	}
	for i := range n {
		if c := got["unmatched M"+strconv.Itoa(i)+" 200"]; c != 2 {
			t.Fatalf("method M%d: %v requests, want 2", i, c)
		}
	}
}

// A handler's cache outcome (httpx.NoteCache) labels the latency of its
// request, and the histogram has a bucket at each latency objective.
func TestRequestLatencyByCacheOutcome(t *testing.T) {
	m := NewMetrics()
	handler := httpx.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("lookups") {
		case "hit":
			httpx.NoteCache(r.Context(), true)
		case "hit,miss":
			httpx.NoteCache(r.Context(), true)
			httpx.NoteCache(r.Context(), false)
		}
	}), httpx.Edge(nil), httpx.Log(slog.New(slog.DiscardHandler), m.ObserveRequest))
	for _, q := range []string{"hit", "hit", "hit,miss", ""} {
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x?lookups="+q, nil))
	}

	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "vitrine_http_request_duration_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			var bounds []float64
			for _, b := range metric.GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			if !slices.Contains(bounds, 0.05) || !slices.Contains(bounds, 0.2) {
				t.Errorf("buckets %v: want one at 0.05 and one at 0.2", bounds)
			}
			for _, l := range metric.GetLabel() {
				if l.GetName() == "cache" {
					counts[l.GetValue()] = metric.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if want := map[string]uint64{"hit": 2, "miss": 1, "none": 1}; !maps.Equal(counts, want) {
		t.Fatalf("requests by cache outcome %v, want %v", counts, want)
	}
}
