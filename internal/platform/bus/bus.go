// Package bus is the event stream: NATS JetStream, either an embedded
// nats-server reached in-process (the all-in-one shape; it opens no port)
// or an external server given by URL. Both shapes use the same code.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// Config says which server to use.
type Config struct {
	URL     string // external NATS; empty starts an embedded server
	DataDir string // where the embedded server keeps its streams
	// Prefix isolates several deployments (or test runs) on one server:
	// stream names become PREFIX_NAME and subjects PREFIX.subject.
	Prefix string
	Name   string // connection name, for server-side monitoring
	Logger *slog.Logger

	// Replicas is how many servers of a NATS cluster keep each stream; 0
	// means 1. A three-node cluster with 3 survives the loss of one node.
	Replicas int
}

// Bus publishes and consumes events.
type Bus struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	srv    *server.Server
	prefix string
	logger *slog.Logger

	replicas int
}

// Open connects to (or starts) the server and makes sure the streams exist.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Bus{prefix: cfg.Prefix, logger: cfg.Logger, replicas: cfg.Replicas}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				cfg.Logger.Warn("event stream disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { cfg.Logger.Info("event stream reconnected") }),
	}
	url := cfg.URL
	if url == "" {
		srv, err := server.NewServer(&server.Options{
			ServerName: "vitrine-embedded",
			DontListen: true,
			JetStream:  true,
			StoreDir:   filepath.Join(cfg.DataDir, "nats"),
			NoSigs:     true,
		})
		if err != nil {
			return nil, fmt.Errorf("bus: embedded server: %w", err)
		}
		srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			srv.Shutdown()
			return nil, errors.New("bus: embedded server did not start")
		}
		b.srv = srv
		opts = append(opts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	b.nc = nc
	if b.js, err = jetstream.New(nc); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.ensureStreams(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() error {
	if b.nc != nil {
		_ = b.nc.Drain()
		for i := 0; i < 100 && !b.nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	return nil
}

// Ping reports whether the server is reachable.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return errors.New("bus: not connected")
	}
	_, err := b.js.AccountInfo(ctx)
	return err
}

func (b *Bus) stream(name string) string {
	if b.prefix == "" {
		return name
	}
	return b.prefix + "_" + name
}

func (b *Bus) subject(s string) string {
	if b.prefix == "" {
		return s
	}
	return b.prefix + "." + s
}

func (b *Bus) unprefix(s string) string {
	if b.prefix == "" {
		return s
	}
	return strings.TrimPrefix(s, b.prefix+".")
}

// ensureStreams creates or updates the two streams. CATALOG keeps the
// latest message per subject (one subject per product), like a compacted
// log, so a new read model can rebuild from it.
func (b *Bus) ensureStreams(ctx context.Context) error {
	streams := []jetstream.StreamConfig{{
		Name:              b.stream(events.CatalogStream),
		Subjects:          []string{b.subject(events.CatalogSubjects)},
		Storage:           jetstream.FileStorage,
		MaxMsgsPerSubject: 1,
		Duplicates:        10 * time.Minute,
	}, {
		Name:       b.stream(events.AnalyticsStream),
		Subjects:   []string{b.subject(events.AnalyticsSubjects)},
		Storage:    jetstream.FileStorage,
		MaxAge:     8 * 24 * time.Hour,
		Duplicates: 10 * time.Minute,
	}}
	for _, cfg := range streams {
		cfg.Replicas = max(b.replicas, 1)
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Publish sends data on subject and waits for the stream's ack. msgID, when
// set, deduplicates: a second publish with the same id is dropped by the
// server (within the stream's duplicate window).
func (b *Bus) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	_, err := b.js.Publish(ctx, b.subject(subject), data, opts...)
	return err
}

// LastSeq returns the last sequence number of a stream.
func (b *Bus) LastSeq(ctx context.Context, stream string) (uint64, error) {
	_, seq, err := b.Position(ctx, stream)
	return seq, err
}

// Position returns when a stream was created and its last sequence number.
func (b *Bus) Position(ctx context.Context, stream string) (created time.Time, lastSeq uint64, err error) {
	s, err := b.js.Stream(ctx, b.stream(stream))
	if err != nil {
		return time.Time{}, 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return time.Time{}, 0, err
	}
	return info.Created, info.State.LastSeq, nil
}

// Msg is one delivered event.
type Msg struct {
	Subject string // without the deployment prefix
	Data    []byte
	Seq     uint64 // stream sequence
	Time    time.Time
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

// Consume delivers messages to handle until ctx ends. A durable consumer's
// message is acked when handle returns nil and redelivered (after a delay)
// otherwise; a private consumer retries handle itself, so order is kept.
func (b *Bus) Consume(ctx context.Context, sub Subscription, handle func(context.Context, Msg) error) error {
	return b.ConsumeBatches(ctx, sub, 1, func(ctx context.Context, msgs []Msg) error { return handle(ctx, msgs[0]) })
}

// batchWait is how long a batch waits for one more message that is not
// there yet: replays fill whole batches, live traffic is not delayed.
const batchWait = 20 * time.Millisecond

// ConsumeBatches is Consume with up to max messages handed over at once
// (fewer when no more are waiting). A batch succeeds or fails as a whole.
func (b *Bus) ConsumeBatches(ctx context.Context, sub Subscription, max int, handle func(context.Context, []Msg) error) error {
	var filters []string
	for _, s := range sub.Subjects {
		filters = append(filters, b.subject(s))
	}
	var (
		cons jetstream.Consumer
		err  error
	)
	if sub.Durable != "" {
		cfg := jetstream.ConsumerConfig{
			Durable:       sub.Durable,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       30 * time.Second,
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
		cons, err = b.js.CreateOrUpdateConsumer(ctx, b.stream(sub.Stream), cfg)
	} else {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverNewPolicy}
		if sub.StartSeq > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, sub.StartSeq
		}
		cons, err = b.js.OrderedConsumer(ctx, b.stream(sub.Stream), cfg)
	}
	if err != nil {
		return fmt.Errorf("bus: consumer on %s: %w", sub.Stream, err)
	}
	it, err := cons.Messages()
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
		first, err := it.Next()
		if err == nil && ctx.Err() != nil {
			if sub.Durable != "" {
				_ = first.Nak()
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			b.logger.Warn("event stream: fetch", "stream", sub.Stream, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		raw := []jetstream.Msg{first}
		for len(raw) < max {
			m, err := it.Next(jetstream.NextMaxWait(batchWait))
			if err != nil {
				break
			}
			raw = append(raw, m)
		}
		msgs := make([]Msg, 0, len(raw))
		kept := raw[:0]
		for _, m := range raw {
			meta, err := m.Metadata()
			if err != nil {
				_ = m.Term()
				continue
			}
			kept = append(kept, m)
			msgs = append(msgs, Msg{Subject: b.unprefix(m.Subject()), Data: m.Data(), Seq: meta.Sequence.Stream, Time: meta.Timestamp})
		}
		if len(msgs) == 0 {
			continue
		}
		if sub.Durable != "" {
			if err := handle(ctx, msgs); err != nil {
				b.logger.Warn("event handler failed; will redeliver", "subject", msgs[0].Subject, "err", err)
				for _, m := range kept {
					_ = m.NakWithDelay(2 * time.Second)
				}
				continue
			}
			for _, m := range kept {
				_ = m.Ack()
			}
			continue
		}
		for attempt := 0; ; attempt++ {
			err := handle(ctx, msgs)
			if err == nil || ctx.Err() != nil {
				break
			}
			b.logger.Warn("event handler failed; retrying", "subject", msgs[0].Subject, "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)):
			}
		}
	}
}
