package tracing

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ChildrenOnly returns a provider whose spans exist only inside a trace
// that is already going on: a database or Redis call made for a request
// or an event is traced, the background ones (the outbox relay's poll
// every 250 ms, pool pings) are not, so they do not bury the traces worth
// reading. nil stays nil (tracing off).
func ChildrenOnly(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return nil
	}
	return childrenOnly{TracerProvider: tp}
}

// childrenOnly embeds the interfaces it wraps, and with them their
// embedded markers, so it keeps up with new methods of the API.
type childrenOnly struct{ trace.TracerProvider }

func (c childrenOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{Tracer: c.TracerProvider.Tracer(name, opts...)}
}

type childTracer struct{ trace.Tracer }

var noSpan = noop.Span{}

func (t childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, noSpan
	}
	return t.Tracer.Start(ctx, name, opts...)
}
