package obs

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Traffic adds up every route, method and status; errors are the 5xx.
func TestTrafficSumsEveryRoute(t *testing.T) {
	m := NewMetrics()
	get := httptest.NewRequest(http.MethodGet, "/a", nil)
	post := httptest.NewRequest(http.MethodPost, "/b", nil)
	took := []time.Duration{300 * time.Microsecond, 2 * time.Millisecond, 3 * time.Second}
	m.ObserveRequest(get, 200, took[0])
	m.ObserveRequest(get, 404, took[1])
	m.ObserveRequest(post, 503, took[2])

	tr, err := m.Traffic(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Requests != 3 || tr.Errors != 1 {
		t.Errorf("requests %d, errors %d; want 3 and 1", tr.Requests, tr.Errors)
	}
	last := tr.Latency[len(tr.Latency)-1]
	if last.LE != nil || last.Count != 3 {
		t.Errorf("last bucket %+v, want +Inf holding all 3", last)
	}
	for _, b := range tr.Latency[:len(tr.Latency)-1] {
		var want uint64 // cumulative: the requests that took at most LE
		for _, d := range took {
			if d.Seconds() <= *b.LE {
				want++
			}
		}
		if b.Count != want {
			t.Errorf("bucket le=%v holds %d, want %d", *b.LE, b.Count, want)
		}
	}
	if len(tr.Gauges) != 0 {
		t.Errorf("gauges %v from a process that runs no service", tr.Gauges)
	}
}
