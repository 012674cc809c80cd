package bus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
)

// TestConsumerLag: vitrine_events_consumer_lag counts the messages a
// shared consumer has not acked, falls to 0 once it has handled them, and
// reads -1 (unknown) when NATS cannot be asked.
func TestConsumerLag(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := bustest.OpenConfig(t, true, bus.Config{Registerer: reg})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, data := range []string{"one", "two", "three"} {
		if err := b.Publish(ctx, events.SearchSubject, "", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	c := bus.Consumer[string]{
		Name: "test-lag", Shared: true, Stream: events.AnalyticsStream, Subjects: []string{events.SearchSubject},
		Decode: func(_ string, data []byte) (string, error) { return string(data), nil },
		Handle: func(ctx context.Context, _ []bus.Event[string]) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { bus.Run(runCtx, b, c) })
	defer wg.Wait()
	defer stop()

	waitForLag := func(want float64) {
		t.Helper()
		var got float64
		for ctx.Err() == nil {
			var ok bool
			if got, ok = consumerLag(t, reg, events.AnalyticsStream, "test-lag"); ok && got == want {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("vitrine_events_consumer_lag = %v, want %v", got, want)
	}
	waitForLag(3)
	close(release)
	waitForLag(0)
	b.Close()
	waitForLag(-1)
}

// consumerLag reads the consumer's lag; ok is false before Run has
// started watching it.
func consumerLag(t *testing.T, reg *prometheus.Registry, stream, consumer string) (lag float64, ok bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "vitrine_events_consumer_lag" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["stream"] == stream && labels["consumer"] == consumer {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}
