package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Msg is one delivered event.
type Msg struct {
	Subject string // without the deployment prefix
	Data    []byte
	Seq     uint64 // stream sequence
	Time    time.Time
	Header  map[string][]string // NATS headers (a dead letter's name its origin)
}

// Subscription says what to consume.
type Subscription struct {
	Stream   string
	Subjects []string // filters; empty means the whole stream
	// Durable names a consumer shared by every instance of a service: each
	// message goes to one of them, and a restarted consumer resumes where
	// it acked. Empty means a private, ordered consumer for this process
	// only, starting at StartSeq (0 = only new messages, 1 = everything).
	Durable  string
	StartSeq uint64
}

// Consume delivers raw messages to handle until ctx ends. A durable consumer's
// message is acked when handle returns nil and redelivered (after a delay)
// otherwise; a private consumer retries handle itself, so order is kept.
func (b *Bus) Consume(ctx context.Context, sub Subscription, handle func(context.Context, Msg) error) error {
	return b.ConsumeBatches(ctx, sub, 1, func(ctx context.Context, msgs []Msg) error { return handle(ctx, msgs[0]) })
}

// handleTimeout bounds one call of a handler, as a durable consumer's
// AckWait bounds it already (the server redelivers a message unacked for
// that long): a handler held by a dependency that stopped answering (a
// frozen database) fails, and its batch is tried again, instead of
// stopping the consumer for good.
const handleTimeout = 30 * time.Second

// batchWait is how long a batch waits for one more message that is not
// there yet, and batchWindow how long it may keep filling after its first
// message: replays fill whole batches, and live traffic, even a steady
// trickle, is handed over within batchWindow.
const (
	batchWait   = 20 * time.Millisecond
	batchWindow = 100 * time.Millisecond
)

// ConsumeBatches is Consume with up to max messages handed over at once
// (fewer when no more are waiting). A batch succeeds or fails as a whole.
func (b *Bus) ConsumeBatches(ctx context.Context, sub Subscription, max int, handle func(context.Context, []Msg) error) error {
	cons, err := b.consumer(ctx, sub)
	if err != nil {
		return fmt.Errorf("bus: consumer on %s: %w", sub.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		// Drain, not Stop: messages already fetched stay readable, so a
		// durable consumer can hand them back at once instead of leaving
		// them to AckWait before another consumer may have them.
		it.Drain()
	}()
	for {
		raw, done := b.nextBatch(ctx, it, sub, max)
		if done {
			return nil
		}
		msgs, kept := b.deliveries(raw)
		switch {
		case len(msgs) == 0:
		case sub.Durable != "":
			b.handleDurable(ctx, kept, msgs, handle)
		default:
			b.handleOrdered(ctx, msgs, handle)
		}
	}
}

// consumer creates the durable or ordered consumer sub asks for.
func (b *Bus) consumer(ctx context.Context, sub Subscription) (jetstream.Consumer, error) {
	var filters []string
	for _, s := range sub.Subjects {
		filters = append(filters, b.subject(s))
	}
	if sub.Durable == "" {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverNewPolicy}
		if sub.StartSeq > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, sub.StartSeq
		}
		return b.js.OrderedConsumer(ctx, b.stream(sub.Stream), cfg)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       sub.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       handleTimeout,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	// One filter goes in the field every server version knows
	// (FilterSubjects needs nats-server 2.10).
	if len(filters) == 1 {
		cfg.FilterSubject = filters[0]
	} else {
		cfg.FilterSubjects = filters
	}
	return b.js.CreateOrUpdateConsumer(ctx, b.stream(sub.Stream), cfg)
}

// nextBatch waits for a message, then takes up to max-1 more that are
// already waiting or arrive within batchWindow. done is true once the iterator is closed. A durable
// consumer that is stopping hands back what it still receives.
func (b *Bus) nextBatch(ctx context.Context, it jetstream.MessagesContext, sub Subscription, max int) (raw []jetstream.Msg, done bool) {
	first, err := it.Next()
	if err == nil && ctx.Err() != nil {
		if sub.Durable != "" {
			_ = first.Nak()
		}
		return nil, false
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil, true
		}
		b.logger.Warn("event stream: fetch", "stream", sub.Stream, "err", err)
		select {
		case <-ctx.Done():
			return nil, true
		case <-time.After(time.Second):
		}
		return nil, false
	}
	raw = []jetstream.Msg{first}
	closes := time.Now().Add(batchWindow)
	for len(raw) < max {
		wait := min(batchWait, time.Until(closes))
		if wait <= 0 {
			break
		}
		m, err := it.Next(jetstream.NextMaxWait(wait))
		if err != nil {
			break
		}
		raw = append(raw, m)
	}
	return raw, false
}

// deliveries reads the metadata of raw; a message without any is
// terminated (it cannot be placed in the stream).
func (b *Bus) deliveries(raw []jetstream.Msg) ([]Msg, []jetstream.Msg) {
	msgs := make([]Msg, 0, len(raw))
	kept := raw[:0]
	for _, m := range raw {
		meta, err := m.Metadata()
		if err != nil {
			_ = m.Term()
			continue
		}
		kept = append(kept, m)
		msgs = append(msgs, Msg{Subject: b.unprefix(m.Subject()), Data: m.Data(), Seq: meta.Sequence.Stream, Time: meta.Timestamp,
			Header: m.Headers()})
	}
	return msgs, kept
}

// handleDurable acks a handled batch and hands back (after a delay) a
// failed one, for this or another instance to try again.
func (b *Bus) handleDurable(ctx context.Context, kept []jetstream.Msg, msgs []Msg, handle func(context.Context, []Msg) error) {
	if err := handleWithin(ctx, msgs, handle); err != nil {
		b.logger.Warn("event handler failed; will redeliver", "subject", msgs[0].Subject, "seq", msgs[0].Seq, "err", err)
		for _, m := range kept {
			_ = m.NakWithDelay(2 * time.Second)
		}
		return
	}
	for _, m := range kept {
		_ = m.Ack()
	}
}

// handleOrdered retries a private consumer's batch until it succeeds, so
// that order is kept.
func (b *Bus) handleOrdered(ctx context.Context, msgs []Msg, handle func(context.Context, []Msg) error) {
	for attempt := 0; ; attempt++ {
		err := handleWithin(ctx, msgs, handle)
		if err == nil || ctx.Err() != nil {
			return
		}
		b.logger.Warn("event handler failed; retrying", "subject", msgs[0].Subject, "seq", msgs[0].Seq, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)):
		}
	}
}

// handleWithin calls handle with handleTimeout.
func handleWithin(ctx context.Context, msgs []Msg, handle func(context.Context, []Msg) error) error {
	ctx, cancel := context.WithTimeout(ctx, handleTimeout)
	defer cancel()
	return handle(ctx, msgs)
}
