// Package obs sets up logging and Prometheus metrics shared by all services.
package obs

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// NewLogger returns a JSON logger at the named level (debug, info, warn, error).
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Metrics holds a registry and the RED metrics of the HTTP server.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// children holds the counter and histogram of each route, method and
	// status seen, resolved once: WithLabelValues hashes the labels and
	// formats the status on every call. The map is copied on write (a new
	// label set is rare), so reading it takes no lock.
	children   atomic.Pointer[map[requestLabels]*requestChildren]
	childrenMu sync.Mutex
}

type requestLabels struct {
	route, method string
	status        int
	cache         httpx.CacheOutcome
}

type requestChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// DurationBuckets are the upper bounds of the request latency histogram.
// 0.05 and 0.2 are the latency objectives (a cache hit within 50 ms, a
// miss within 200 ms): with a bucket at each, the share of requests that
// met them is exact, not interpolated.
var DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5}

// NewMetrics returns a registry with Go and process collectors and the HTTP
// request metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vitrine_http_request_duration_seconds",
			Help:    "HTTP request latency by route, and by the outcome of its cache lookup (hit, miss or none).",
			Buckets: DurationBuckets,
		}, []string{"route", "method", "cache"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// ObserveRequest records one finished request. The route is the matched
// pattern, so unknown paths do not explode the label set; the cache
// outcome is what the handler noted with httpx.NoteCache.
func (m *Metrics) ObserveRequest(r *http.Request, status int, elapsed time.Duration) {
	route := httpx.Route(r)
	if route == "" {
		route = "unmatched"
	}
	key := requestLabels{route, r.Method, status, httpx.CacheOutcomeOf(r.Context())}
	var ch *requestChildren
	if children := m.children.Load(); children != nil {
		ch = (*children)[key]
	}
	if ch == nil {
		ch = m.resolve(key)
	}
	ch.requests.Inc()
	ch.duration.Observe(elapsed.Seconds())
}

// maxResolved bounds the label sets whose children are kept.
const maxResolved = 1024

// resolve adds the children of a label set not seen before.
func (m *Metrics) resolve(key requestLabels) *requestChildren {
	m.childrenMu.Lock()
	defer m.childrenMu.Unlock()
	old := m.children.Load()
	if old != nil {
		if ch := (*old)[key]; ch != nil {
			return ch
		}
	}
	ch := &requestChildren{
		requests: m.requests.WithLabelValues(key.route, key.method, strconv.Itoa(key.status)),
		duration: m.duration.WithLabelValues(key.route, key.method, key.cache.String()),
	}
	if len(m.childrenOf(old)) >= maxResolved {
		// Label sets past this are rare (odd methods): resolved each time.
		return ch
	}
	next := make(map[requestLabels]*requestChildren, len(m.childrenOf(old))+1)
	for k, v := range m.childrenOf(old) {
		next[k] = v
	}
	next[key] = ch
	m.children.Store(&next)
	return ch
}

func (m *Metrics) childrenOf(p *map[requestLabels]*requestChildren) map[requestLabels]*requestChildren {
	if p == nil {
		return nil
	}
	return *p
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
