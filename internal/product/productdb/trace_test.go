package productdb_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// TestOutboxCarriesTheWritersTrace: a product written inside a trace is
// relayed, published and consumed in that same trace: the relay's span is
// a child of the write's, the publish a child of the relay's, and the
// consumer's a child of the publish, which it learnt from the message's
// traceparent header. The consumer's handler runs under its span.
func TestOutboxCarriesTheWritersTrace(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			ctx := context.Background()
			cfg := sqltest.Config(t, d, "product")
			cfg.Tracer = tp
			store, err := productdb.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			b := bustest.OpenConfig(t, d == sqldb.Postgres, bus.Config{Tracer: tp})

			wctx, write := tp.Tracer("test").Start(ctx, "write")
			p := newProduct(1, "Acme", "", 100)
			if err := store.CreateProduct(wctx, p, nil); err != nil {
				t.Fatal(err)
			}
			write.End()
			untraced := newProduct(2, "Acme", "", 100)
			mustCreate(t, store, untraced) // no trace: relayed without spans

			relay := outbox.New(store.DB(), b, "product", slog.Default())
			relay.TraceWith(tp)
			if sent, err := relay.Flush(ctx); sent != 2 || err != nil {
				t.Fatalf("relay sent %d (%v), want 2", sent, err)
			}

			// The relay sends the events of two products concurrently: they
			// may arrive in either order.
			type handling struct {
				id string
				sc trace.SpanContext
			}
			handled := make(chan handling, 2)
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			go bus.Run(cctx, b, bus.Consumer[events.ProductChanged]{
				Name: "trace-test", Stream: events.CatalogStream, From: func() uint64 { return 1 },
				Decode: bus.Data(func(data []byte) (ev events.ProductChanged, err error) {
					return ev, json.Unmarshal(data, &ev)
				}),
				Handle: bus.Each(func(ctx context.Context, ev events.ProductChanged) error {
					handled <- handling{ev.ID, trace.SpanContextFromContext(ctx)}
					return nil
				}),
			})
			inHandler := make([]trace.SpanContext, 2) // the traced event's, then the untraced one's
			for range 2 {
				select {
				case h := <-handled:
					if h.id == p.ID {
						inHandler[0] = h.sc
					} else {
						inHandler[1] = h.sc
					}
				case <-cctx.Done():
					t.Fatal("the consumer did not get both events")
				}
			}
			cancel()

			byName := map[string]sdktrace.ReadOnlySpan{}
			sqlSpans := 0
			for _, s := range spans.Ended() {
				if s.SpanContext().TraceID() == write.SpanContext().TraceID() {
					byName[s.Name()] = s
					if s.InstrumentationScope().Name == "github.com/exaring/otelpgx" {
						sqlSpans++
					}
				} else {
					t.Errorf("span %q is in another trace: the untraced write made spans", s.Name())
				}
			}
			if d == sqldb.Postgres && sqlSpans == 0 {
				t.Error("the write's PostgreSQL statements made no spans")
			}
			subject := events.ProductSubjectPrefix + p.ID
			chain := []struct {
				name   string
				kind   trace.SpanKind
				parent string
			}{
				{"outbox relay " + subject, trace.SpanKindInternal, "write"},
				{"publish " + subject, trace.SpanKindProducer, "outbox relay " + subject},
				{"process " + subject, trace.SpanKindConsumer, "publish " + subject},
			}
			for _, link := range chain {
				s, ok := byName[link.name]
				if !ok {
					t.Errorf("no span %q in the write's trace; spans there: %v", link.name, names(byName))
					continue
				}
				if s.SpanKind() != link.kind {
					t.Errorf("%q is of kind %v, want %v", link.name, s.SpanKind(), link.kind)
				}
				parent := spanID(byName, link.parent)
				if s.Parent().SpanID() != parent {
					t.Errorf("%q's parent is %s, want %q", link.name, s.Parent().SpanID(), link.parent)
				}
			}
			if process, ok := byName["process "+subject]; ok {
				if inHandler[0].SpanID() != process.SpanContext().SpanID() {
					t.Errorf("the handler ran under span %s, want the consumer span %s", inHandler[0].SpanID(), process.SpanContext().SpanID())
				}
			}
			if inHandler[1].IsValid() {
				t.Errorf("the untraced event was handled under span %s", inHandler[1].SpanID())
			}
		})
	}
}

func spanID(spans map[string]sdktrace.ReadOnlySpan, name string) trace.SpanID {
	if s, ok := spans[name]; ok {
		return s.SpanContext().SpanID()
	}
	return trace.SpanID{}
}

func names(spans map[string]sdktrace.ReadOnlySpan) []string {
	var out []string
	for n := range spans {
		out = append(out, n)
	}
	return out
}
