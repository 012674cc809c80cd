package httpx_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// TestTracedRequestNamesItsRouteAndItsTrace: a request that arrives with a
// traceparent gets a server span in that trace, named for its route, and
// the lines logged while serving it name the trace.
func TestTracedRequestNamesItsRouteAndItsTrace(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	var logs bytes.Buffer
	logger := slog.New(httpx.WithRequestIDs(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	rt := httpx.NewRouter()
	rt.HandleFunc("GET /api/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "reading product")
		w.WriteHeader(http.StatusNoContent)
	})
	h := httpx.Chain(rt, httpx.Edge(nil), rt.Name, httpx.Trace(tp), httpx.Log(logger))

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := httptest.NewRequest("GET", "/api/products/lamp", nil)
	req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want the one server span", len(ended))
	}
	span := ended[0]
	if span.Name() != "GET /api/products/{id}" || span.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q of kind %v, want the route as a server span", span.Name(), span.SpanKind())
	}
	if got := span.SpanContext().TraceID().String(); got != traceID {
		t.Errorf("span in trace %s, want the caller's %s", got, traceID)
	}
	if got := span.Parent().SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("span's parent %s, want the caller's span", got)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 { // the handler's line and the request line
		t.Fatalf("log lines %q", lines)
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["trace_id"] != traceID || rec["request_id"] == "" {
			t.Errorf("line %s: want trace_id %s beside the request id", line, traceID)
		}
	}
}

// TestUntracedRequestsMakeNoSpans: probes are not traced, and with tracing
// off (nil provider) the middleware is not there at all.
func TestUntracedRequestsMakeNoSpans(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	httpx.Trace(tp)(ok).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/readyz", nil))
	if n := len(spans.Ended()); n != 0 {
		t.Errorf("a readiness probe made %d spans", n)
	}

	var logs bytes.Buffer
	logger := slog.New(httpx.WithRequestIDs(slog.NewJSONHandler(&logs, nil)))
	off := httpx.Trace(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "served")
	}))
	req := httptest.NewRequest("GET", "/api/products", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	off.ServeHTTP(httptest.NewRecorder(), req)
	if strings.Contains(logs.String(), "trace_id") {
		t.Errorf("tracing off, yet a line names a trace: %s", logs.String())
	}
}
