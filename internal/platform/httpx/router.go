package httpx

import (
	"net/http"
	"sort"
	"strings"
)

// Router is a net/http ServeMux that remembers its patterns (so tests can
// hold the OpenAPI document to them) and answers unknown routes (404) and
// wrong methods (405) with problems instead of plain text.
type Router struct {
	mux      *http.ServeMux
	patterns []string
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// Handle registers h for a Go 1.22 method pattern such as "GET /api/products/{id}".
// A request whose path value is not text (see TextQuery) gets a 400 naming
// the wildcard, before h sees it.
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, textPathValues(pattern, h))
	rt.patterns = append(rt.patterns, pattern)
}

// HandleFunc registers f for pattern.
func (rt *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(f))
}

// Patterns returns the registered patterns, sorted.
func (rt *Router) Patterns() []string {
	out := append([]string(nil), rt.patterns...)
	sort.Strings(out)
	return out
}

// Name records in the request's Info the pattern of the route that will
// serve it, for a chain in which layers before the router may answer
// first (429, 401, 503, 408): logs and metrics then name the route of
// those requests too, not "unmatched".
func (rt *Router) Name(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := InfoFrom(r.Context()); info != nil {
			_, info.Route = rt.mux.Handler(r)
			info.named = true
		}
		next.ServeHTTP(w, r)
	})
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := InfoFrom(r.Context())
	if info != nil && info.named && info.Route != "" && info.Route != PreflightRoute {
		// Name matched this request already: route it without asking twice.
		rt.mux.ServeHTTP(w, r)
		return
	}
	if _, pattern := rt.mux.Handler(r); pattern != "" {
		if info != nil {
			info.Route = pattern
		}
		rt.mux.ServeHTTP(w, r)
		return
	}
	// Let the mux decide between 404 and 405 (and compute Allow), then answer
	// with a problem.
	probe := &statusProbe{header: http.Header{}}
	rt.mux.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteProblem(w, r, Problem{Status: http.StatusMethodNotAllowed,
			Detail: "method " + r.Method + " is not allowed here; allowed: " + strings.ReplaceAll(probe.header.Get("Allow"), ",", ", ")})
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		for k, v := range probe.header {
			w.Header()[k] = v
		}
		w.WriteHeader(probe.status)
	default:
		WriteProblem(w, r, Problem{Status: http.StatusNotFound, Detail: "no route for " + r.URL.Path})
	}
}

type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
