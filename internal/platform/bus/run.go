package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Consumer is one consumer of a service: what it reads, how it decodes a
// message and what it does with what it decoded. Run runs it.
type Consumer[T any] struct {
	// Name identifies the consumer in logs, metrics and dead letters; a
	// shared consumer is durable under this name.
	Name     string
	Stream   string
	Subjects []string // filters; empty means the whole stream
	// Shared consumers hand each message to one instance of the service
	// and resume where they acked. Others are private to the process: each
	// instance sees every message, from From().
	Shared bool
	// From is asked, at every (re)start of a private consumer, for the
	// stream sequence to start at (1: everything); nil means only new
	// messages.
	From  func() uint64
	Batch int // messages per Handle at most; 0 means 1
	// Decode turns a message into T. An error means the message can never
	// be used: it is logged, counted and parked on the dead-letter subject.
	Decode func(subject string, data []byte) (T, error)
	// Handle gets the decoded messages in stream order. An error retries
	// the batch (a shared consumer redelivers it, after a delay), unless
	// it is made with Reject.
	Handle func(ctx context.Context, evs []Event[T]) error
}

// Event is one decoded message.
type Event[T any] struct {
	Subject string // without the deployment prefix
	Seq     uint64 // stream sequence
	Time    time.Time
	Value   T
}

// Reject marks err, returned by a Handle, as permanent: the messages of the
// batch are parked on the dead-letter subject like undecodable ones, not
// retried.
func Reject(err error) error { return rejected{err} }

type rejected struct{ error }

func (r rejected) Unwrap() error { return r.error }

// Headers of a dead letter.
const (
	HeaderSubject  = "Vitrine-Original-Subject"
	HeaderSeq      = "Vitrine-Original-Seq"
	HeaderStream   = "Vitrine-Original-Stream"
	HeaderConsumer = "Vitrine-Consumer"
	HeaderError    = "Vitrine-Error"
)

// Run consumes until ctx ends, starting the consumer again when it fails.
func Run[T any](ctx context.Context, b *Bus, c Consumer[T]) {
	// The consumer's count exists from the start, at 0, so that an
	// increase() over it sees the first parked message.
	b.undecodable.WithLabelValues(c.Stream, c.Name)
	if c.Shared {
		b.lag.watch(c.Stream, c.Name)
	}
	for ctx.Err() == nil {
		sub := Subscription{Stream: c.Stream, Subjects: c.Subjects}
		if c.Shared {
			sub.Durable = c.Name
		} else if c.From != nil {
			sub.StartSeq = c.From()
		}
		err := b.ConsumeBatches(ctx, sub, max(c.Batch, 1), func(ctx context.Context, msgs []Msg) error {
			ctx, end := b.startProcess(ctx, c.Name, msgs)
			err := c.handle(ctx, b, msgs)
			end(err)
			return err
		})
		if err != nil {
			b.logger.Warn("event consumer stopped; restarting", "stream", c.Stream, "consumer", c.Name, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
}

// handle decodes a batch, parks what cannot be decoded, and hands over the
// rest.
func (c Consumer[T]) handle(ctx context.Context, b *Bus, msgs []Msg) error {
	evs := make([]Event[T], 0, len(msgs))
	var used []Msg
	for _, m := range msgs {
		v, err := c.Decode(m.Subject, m.Data)
		if err != nil {
			if err := b.deadLetter(ctx, c.Stream, c.Name, m, err); err != nil {
				return err
			}
			continue
		}
		evs = append(evs, Event[T]{Subject: m.Subject, Seq: m.Seq, Time: m.Time, Value: v})
		used = append(used, m)
	}
	if len(evs) == 0 {
		return nil
	}
	err := c.Handle(ctx, evs)
	var r rejected
	if !errors.As(err, &r) {
		return err
	}
	for _, m := range used {
		if err := b.deadLetter(ctx, c.Stream, c.Name, m, r.error); err != nil {
			return err
		}
	}
	return nil
}

// deadLetter logs a message that cannot be used, counts it and publishes
// it on the dead-letter subject, with headers naming where it came from
// and why. It returns an error only when the dead letter could not be
// published (the message is then retried, not lost).
func (b *Bus) deadLetter(ctx context.Context, stream, consumer string, m Msg, cause error) error {
	b.logger.WarnContext(ctx, "event stream: unusable message parked on the dead-letter subject",
		"stream", stream, "consumer", consumer, "subject", m.Subject, "seq", m.Seq, "err", cause)
	b.undecodable.WithLabelValues(stream, consumer).Inc()
	if b.dlqPrefix == "" {
		return nil
	}
	seq := strconv.FormatUint(m.Seq, 10)
	msg := nats.NewMsg(b.subject(b.dlqPrefix + m.Subject))
	msg.Data = m.Data
	msg.Header.Set(HeaderSubject, m.Subject)
	msg.Header.Set(HeaderSeq, seq)
	msg.Header.Set(HeaderStream, stream)
	msg.Header.Set(HeaderConsumer, consumer)
	msg.Header.Set(HeaderError, cause.Error())
	// Every instance of a private consumer meets the same message: one
	// copy is kept.
	msg.Header.Set(nats.MsgIdHdr, stream+"."+seq+"."+consumer)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := b.js.PublishMsg(pctx, msg)
	return err
}

// Runner is a consumer of any payload type, as the services' event
// adapters hand them to the process.
type Runner interface {
	Run(ctx context.Context, b *Bus)
	String() string
}

// Run is Run(ctx, b, c), for Runner.
func (c Consumer[T]) Run(ctx context.Context, b *Bus) { Run(ctx, b, c) }

// String names the consumer.
func (c Consumer[T]) String() string { return c.Stream + "/" + c.Name }

// Payload is an event with its subject, as package events defines them.
type Payload interface {
	Subject() string
	Encode() ([]byte, error)
}

// PublishEvent encodes ev and publishes it on its subject; msgID as for
// Publish.
func (b *Bus) PublishEvent(ctx context.Context, ev Payload, msgID string) error {
	data, err := ev.Encode()
	if err != nil {
		return fmt.Errorf("bus: encode %s: %w", ev.Subject(), err)
	}
	return b.Publish(ctx, ev.Subject(), msgID, data)
}

// Data makes a Decode of a function that reads only the payload.
func Data[T any](decode func(data []byte) (T, error)) func(subject string, data []byte) (T, error) {
	return func(_ string, data []byte) (T, error) { return decode(data) }
}

// Each makes a Handle that applies one event at a time, in order, stopping
// at the first error.
func Each[T any](apply func(ctx context.Context, v T) error) func(ctx context.Context, evs []Event[T]) error {
	return func(ctx context.Context, evs []Event[T]) error {
		for _, ev := range evs {
			if err := apply(ctx, ev.Value); err != nil {
				return err
			}
		}
		return nil
	}
}
