package tracing_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// TestTraceparentRoundTrip: what the outbox keeps and message headers
// carry brings back the span that wrote them.
func TestTraceparentRoundTrip(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "write")
	defer span.End()

	kept := tracing.Traceparent(ctx)
	if got := trace.SpanContextFromContext(tracing.WithTraceparent(context.Background(), kept)); !got.Equal(span.SpanContext().WithRemote(true)) {
		t.Errorf("traceparent %q brought back %v, want %v", kept, got, span.SpanContext())
	}
	header := map[string][]string{}
	tracing.Inject(ctx, header)
	if got := trace.SpanContextFromContext(tracing.Extract(context.Background(), header)); got.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("headers %v brought back span %s", header, got.SpanID())
	}

	if tp := tracing.Traceparent(context.Background()); tp != "" {
		t.Errorf("an untraced context has traceparent %q", tp)
	}
	if sc := trace.SpanContextFromContext(tracing.WithTraceparent(context.Background(), "garbage")); sc.IsValid() {
		t.Errorf("a malformed traceparent gave span %v", sc)
	}
}

// TestChildrenOnly: no span starts a trace of its own; a span inside one
// is recorded.
func TestChildrenOnly(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	tracer := tracing.ChildrenOnly(sdk).Tracer("test")

	_, orphan := tracer.Start(context.Background(), "poll")
	orphan.End()
	ctx, parent := sdk.Tracer("test").Start(context.Background(), "request")
	_, child := tracer.Start(ctx, "query")
	child.End()
	parent.End()

	var got []string
	for _, s := range spans.Ended() {
		got = append(got, s.Name())
	}
	if len(got) != 2 || got[0] != "query" || got[1] != "request" {
		t.Errorf("spans %v, want the query inside the request and no poll", got)
	}
	if tracing.ChildrenOnly(nil) != nil {
		t.Error("tracing off must stay off")
	}
}
