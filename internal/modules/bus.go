package modules

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
)

// BusConfig says where the event stream is.
type BusConfig struct {
	// NATSURL is an external NATS JetStream; empty embeds a server that
	// keeps its streams under --data-dir.
	NATSURL string
	// StreamReplicas is how many servers of a NATS cluster keep each
	// stream.
	StreamReplicas int
}

// RegisterFlags registers --nats-url and --stream-replicas.
func (c *BusConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.NATSURL, "nats-url", "", "NATS JetStream URL; empty embeds a server that keeps its streams under --data-dir")
	f.IntVar(&c.StreamReplicas, "stream-replicas", 1, "servers of the NATS cluster that keep each stream (3 in a three-node cluster)")
}

// Validate checks the replica count.
func (c BusConfig) Validate() error {
	if c.StreamReplicas < 0 {
		return errors.New("--stream-replicas must not be negative")
	}
	return nil
}

// startBus connects to the event stream (or starts the embedded one) with
// the application's streams and its dead-letter subject.
func (a *App) startBus(ctx context.Context) error {
	b, err := bus.Open(ctx, bus.Config{
		URL: a.cfg.Bus.NATSURL, DataDir: a.cfg.Store.DataDir, Prefix: a.cfg.Namespace,
		Name: "vitrine-" + strings.Join(a.cfg.Targets, "-"), Logger: a.logger,
		Streams: events.Streams(), DeadLetterPrefix: events.DeadLetterPrefix, Registerer: a.metrics.Registry,
		Replicas: a.cfg.Bus.StreamReplicas, Tracer: a.cfg.Tracer, Breakers: a.breakers,
	})
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	a.bus = b
	a.closers = append(a.closers, b.Close)
	// Without the stream, writes wait in the outbox, consumers resume later
	// and product reads bypass the cache (streamGuard): the instance keeps
	// serving, so it stays in the pool.
	a.softChecks["event_stream"] = b.Ping
	return nil
}

// consume runs the consumers of a service's event adapter in the background.
func (a *App) consume(runners []bus.Runner) {
	for _, r := range runners {
		a.background = append(a.background, func(ctx context.Context) { r.Run(ctx, a.bus) })
	}
}
