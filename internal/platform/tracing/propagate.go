package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Propagator is how a trace travels between services: the W3C
// traceparent (and tracestate) header, on HTTP requests and on events.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Traceparent returns the W3C traceparent of the span in ctx, or "" when
// ctx holds none: what the outbox keeps beside an event, for the relay to
// continue the trace that wrote it.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	Propagator.Inject(ctx, c)
	return c["traceparent"]
}

// WithTraceparent returns ctx carrying the remote span that traceparent
// names; an empty or malformed one leaves ctx as it is.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// Inject writes the trace context of ctx into message headers (a NATS
// header is a map of the same shape as an HTTP one).
func Inject(ctx context.Context, header map[string][]string) {
	Propagator.Inject(ctx, propagation.HeaderCarrier(http.Header(header)))
}

// Extract returns ctx carrying the remote span that message headers name.
func Extract(ctx context.Context, header map[string][]string) context.Context {
	if len(header) == 0 {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.HeaderCarrier(http.Header(header)))
}
