package bus

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reading the lag of the shared consumers costs one request to JetStream
// per consumer. A scrape reuses a reading younger than lagMaxAge, and a
// reading gives up after lagTimeout: /metrics answers promptly whatever
// state NATS is in.
const (
	lagMaxAge  = 2 * time.Second
	lagTimeout = 500 * time.Millisecond
)

// consumerLag is the collector of vitrine_events_consumer_lag{stream,
// consumer}: for each shared (durable) consumer this process runs, the
// messages JetStream holds for it that it has not acked yet (waiting to
// be delivered, or delivered and not acked). Every instance of a service
// reports the same consumer, so the number is the service's, not the
// instance's. -1 means it could not be read (NATS unreachable, or the
// consumer not created yet).
type consumerLag struct {
	b    *Bus
	desc *prometheus.Desc

	mu      sync.Mutex
	watched []durable
	values  map[durable]float64
	readAt  time.Time
}

type durable struct{ stream, name string }

func newConsumerLag(b *Bus) *consumerLag {
	return &consumerLag{b: b, values: map[durable]float64{}, desc: prometheus.NewDesc("vitrine_events_consumer_lag",
		"Messages a shared event consumer has not acked yet (-1: unknown).", []string{"stream", "consumer"}, nil)}
}

// watch adds a shared consumer to those reported.
func (l *consumerLag) watch(stream, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := (durable{stream, name}); !slices.Contains(l.watched, d) {
		l.watched = append(l.watched, d)
		l.values[d] = -1
		l.readAt = time.Time{}
	}
}

func (l *consumerLag) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *consumerLag) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.readAt) > lagMaxAge {
		l.read()
	}
	for _, d := range l.watched {
		ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, l.values[d], d.stream, d.name)
	}
}

// read asks JetStream for each watched consumer's counts, within
// lagTimeout for them all; a disconnected client is not asked at all (its
// requests would wait for the reconnection).
func (l *consumerLag) read() {
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	for _, d := range l.watched {
		l.values[d] = -1
		if !l.b.nc.IsConnected() || ctx.Err() != nil {
			continue
		}
		c, err := l.b.js.Consumer(ctx, l.b.stream(d.stream), d.name)
		if err != nil {
			continue
		}
		info := c.CachedInfo()
		l.values[d] = float64(info.NumPending) + float64(info.NumAckPending)
	}
	l.readAt = time.Now()
}
