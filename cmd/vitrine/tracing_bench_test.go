package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vitrine-dev/vitrine/internal/modules"
)

// BenchmarkTracingCost measures the hottest read (a product by id, from a
// warm cache, through the whole chain) with tracing off, as by default,
// and on: every request sampled and its spans batched to an exporter that
// drops them, so what is measured is the instrumentation, not a network.
// Off installs no instrumentation at all, so "off" should match
// BenchmarkPublicReads/product-by-id of a build without tracing; the
// figures are in docs/benchmarks.md.
//
//	go test ./cmd/vitrine -run '^$' -bench TracingCost -benchtime 5000x -count 5
func BenchmarkTracingCost(b *testing.B) {
	for _, bc := range []struct {
		name   string
		tracer func() *sdktrace.TracerProvider
	}{
		{"off", nil},
		{"on", func() *sdktrace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			app, fx := startReadBenchApp(b, func(cfg *modules.Config) {
				if bc.tracer != nil {
					cfg.Tracer = bc.tracer()
				}
			})
			path := "/api/products/" + fx.id
			clients := make([]string, 1<<10)
			for i := range clients {
				clients[i] = fmt.Sprintf("10.0.%d.%d:40000", i>>8, i&0xff)
				if code, body := serveRead(app.Handler, path, clients[i]); code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", path, code, body)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.RemoteAddr = clients[i%len(clients)]
				app.Handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
			}
		})
	}
}
