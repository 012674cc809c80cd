package authn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
)

// TestRemoteCredentialsCarryTheTrace: a credential check made while
// serving a traced request is a client span of it, and the auth service
// receives the trace in its traceparent header (never the credential in a
// span).
func TestRemoteCredentialsCarryTheTrace(t *testing.T) {
	fake := &fakeAuth{}
	var received string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received = r.Header.Get("Traceparent")
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	rc := authn.NewRemoteCredentials(srv.URL, nil)
	rc.TraceWith(tp)

	ctx, request := tp.Tracer("test").Start(context.Background(), "request")
	if _, err := rc.VerifyCredential(ctx, goodCredential); err != nil {
		t.Fatal(err)
	}
	request.End()

	traceID := request.SpanContext().TraceID().String()
	if !strings.Contains(received, traceID) {
		t.Errorf("auth received traceparent %q, want trace %s", received, traceID)
	}
	var client sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			client = s
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.String(), "secret") {
				t.Errorf("span %q holds the credential in %s", s.Name(), a.Key)
			}
		}
	}
	if client == nil || client.Parent().SpanID() != request.SpanContext().SpanID() {
		t.Fatalf("no client span under the request: %v", spans.Ended())
	}
}
