package bus

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// Events carry the trace they were published in as a W3C traceparent
// header, so a consumer in another process continues it. Only an event
// published inside a trace is traced (tracing.ChildrenOnly): a replay of
// old messages, or a timer's publish, makes no spans.

const tracerName = "github.com/vitrine-dev/vitrine/internal/platform/bus"

var natsSystem = semconv.MessagingSystemKey.String("nats")

// startPublish starts the producer span of a publish on subject, and
// writes its context into header.
func (b *Bus) startPublish(ctx context.Context, subject, msgID string, header map[string][]string) (context.Context, trace.Span) {
	ctx, span := b.tracer.Start(ctx, "publish "+subject, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(natsSystem, semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(subject), semconv.MessagingMessageID(msgID)))
	tracing.Inject(ctx, header)
	return ctx, span
}

// startProcess starts one consumer span for each traced message of a
// batch, as a child of the span that published it, and returns the
// context of the first (what the handler's own calls are traced under)
// and a function that ends them all with the batch's outcome. A batch
// with no traced message costs nothing.
func (b *Bus) startProcess(ctx context.Context, consumer string, msgs []Msg) (context.Context, func(error)) {
	if b.tracer == nil {
		return ctx, func(error) {}
	}
	var (
		spans  []trace.Span
		handle = ctx
	)
	for _, m := range msgs {
		parent := tracing.Extract(ctx, m.Header)
		if !trace.SpanContextFromContext(parent).IsValid() {
			continue
		}
		sctx, span := b.tracer.Start(parent, "process "+m.Subject, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(natsSystem, semconv.MessagingOperationTypeProcess,
				semconv.MessagingDestinationName(m.Subject), semconv.MessagingConsumerGroupName(consumer),
				semconv.MessagingBatchMessageCount(len(msgs)), attribute.Int64("messaging.nats.stream_sequence", int64(m.Seq))))
		if len(spans) == 0 {
			handle = sctx
		}
		spans = append(spans, span)
	}
	return handle, func(err error) {
		for _, span := range spans {
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
	}
}
