package httpx

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Trace gives every request a server span named for its route, continuing
// the trace of an incoming W3C traceparent header. It belongs after
// Router.Name (which names the route) and before Log (whose lines then
// carry the trace id). Probes of /healthz and /readyz, a load balancer's
// every second, are not traced. A nil provider (tracing off) adds nothing
// to the chain.
func Trace(tp trace.TracerProvider) Middleware {
	if tp == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	return otelhttp.NewMiddleware("http",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if route := Route(r); route != "" {
				return route
			}
			return r.Method + " unmatched"
		}),
		otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/healthz" && r.URL.Path != "/readyz"
		}))
}
