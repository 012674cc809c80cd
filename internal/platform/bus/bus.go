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
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/tracing"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
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
	// Streams are created (or updated) on Open.
	Streams []Stream
	// DeadLetterPrefix, when set, is where Run parks a message it cannot
	// decode: DeadLetterPrefix + the message's subject, on a stream of
	// Streams that takes those subjects.
	DeadLetterPrefix string
	// Registerer takes the bus's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Replicas is how many servers of a NATS cluster keep each stream; 0
	// means 1. A three-node cluster with 3 survives the loss of one node.
	Replicas int
	// Tracer, when set, traces publishes and consumers of events that
	// travel inside a trace; nil (tracing off) costs nothing.
	Tracer trace.TracerProvider

	// Breakers makes the breaker in front of publishing, "nats-publish":
	// while the stream does not acknowledge, publishers are refused at
	// once instead of each waiting for the deadline. Nil makes one with
	// the default policy.
	Breakers *resilience.Breakers
}

// Stream is one stream to create.
type Stream struct {
	Name     string
	Subjects []string
	// LatestPerSubject keeps only the last message of each subject, like a
	// compacted log, so a read model can rebuild from the stream.
	LatestPerSubject bool
	MaxAge           time.Duration // 0: forever
}

// Bus publishes and consumes events.
type Bus struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	srv         *server.Server
	prefix      string
	logger      *slog.Logger
	streams     []Stream
	dlqPrefix   string
	undecodable *prometheus.CounterVec
	lag         *consumerLag
	replicas    int
	tracer      trace.Tracer // nil when tracing is off
	publish     *resilience.Breaker
}

// Open connects to (or starts) the server and makes sure the streams exist.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Breakers == nil {
		cfg.Breakers = resilience.NewBreakers(resilience.DefaultPolicy(), cfg.Logger)
	}
	b := &Bus{publish: cfg.Breakers.Breaker("nats-publish"), prefix: cfg.Prefix, logger: cfg.Logger, streams: cfg.Streams, dlqPrefix: cfg.DeadLetterPrefix, replicas: cfg.Replicas,
		undecodable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_events_undecodable_total",
			Help: "Messages a consumer could not decode, parked on the dead-letter subject.",
		}, []string{"stream", "consumer"})}
	b.lag = newConsumerLag(b)
	if cfg.Tracer != nil {
		b.tracer = tracing.ChildrenOnly(cfg.Tracer).Tracer(tracerName)
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{b.undecodable, b.lag} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("bus: metrics: %w", err)
			}
		}
	}
	opts := append(failoverOptions(),
		nats.Name(cfg.Name),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				cfg.Logger.Warn("event stream disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			cfg.Logger.Info("event stream reconnected", "server", nc.ConnectedUrlRedacted())
		}),
	)
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

// Server is the URL of the server the bus is connected to now (without
// its password), or "" while it is not connected.
func (b *Bus) Server() string { return b.nc.ConnectedUrlRedacted() }

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

// ensureStreams creates or updates the configured streams. Every stream
// deduplicates by message id over 10 minutes.
func (b *Bus) ensureStreams(ctx context.Context) error {
	for _, st := range b.streams {
		cfg := jetstream.StreamConfig{
			Name:       b.stream(st.Name),
			Storage:    jetstream.FileStorage,
			MaxAge:     st.MaxAge,
			Duplicates: 10 * time.Minute,
		}
		for _, subj := range st.Subjects {
			cfg.Subjects = append(cfg.Subjects, b.subject(subj))
		}
		if st.LatestPerSubject {
			cfg.MaxMsgsPerSubject = 1
		}
		cfg.Replicas = max(b.replicas, 1)
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Publish sends data on subject and waits for the stream's ack, within the
// breaker's deadline. msgID, when set, deduplicates: a second publish with
// the same id is dropped by the server (within the stream's duplicate
// window), which makes the publish safe to retry: it is, a few times with
// jitter, while ctx lasts. While the breaker is open Publish fails at once
// with an error wrapping resilience.ErrOpen.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	send := func(ctx context.Context) error {
		_, err := b.js.Publish(ctx, b.subject(subject), data, opts...)
		return err
	}
	if b.tracer != nil {
		send = func(ctx context.Context) error {
			msg := nats.NewMsg(b.subject(subject))
			msg.Data = data
			ctx, span := b.startPublish(ctx, subject, msgID, msg.Header)
			defer span.End()
			_, err := b.js.PublishMsg(ctx, msg, opts...)
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			return err
		}
	}
	publish := func(ctx context.Context) error { return b.publish.Do(ctx, send) }
	if msgID == "" {
		return publish(ctx)
	}
	return resilience.Retry(ctx, publishAttempts, publishRetryBase, publish)
}

// A publish with a message id is tried this many times, waiting up to
// publishRetryBase, then twice that, between tries: enough to ride over a
// stream leader's election in a NATS cluster.
const (
	publishAttempts  = 3
	publishRetryBase = 200 * time.Millisecond
)

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
