package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
)

// TestUndecodableMessagesAreParked: a message the consumer cannot decode
// is logged, counted and parked on the dead-letter subject with headers
// naming its origin; the messages after it are still handled, by shared
// and private consumers, on both shapes.
func TestUndecodableMessagesAreParked(t *testing.T) {
	for _, shape := range []string{"embedded", "external"} {
		for _, shared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/shared=%v", shape, shared), func(t *testing.T) {
				testParked(t, shape == "external", shared)
			})
		}
	}
}

func testParked(t *testing.T, external, shared bool) {
	reg := prometheus.NewRegistry()
	b := bustest.OpenConfig(t, external, bus.Config{Registerer: reg})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, data := range []string{"one", "bad", "two", "reject", "three"} {
		if err := b.Publish(ctx, events.SearchSubject, "", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		got []string
	)
	done := make(chan struct{})
	c := bus.Consumer[string]{
		Name: "test-parked", Shared: shared, Stream: events.AnalyticsStream, Subjects: []string{events.SearchSubject},
		From: func() uint64 { return 1 }, Batch: 10,
		Decode: func(_ string, data []byte) (string, error) {
			if string(data) == "bad" {
				return "", errors.New("cannot read bad")
			}
			return string(data), nil
		},
		Handle: func(_ context.Context, evs []bus.Event[string]) error {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range evs {
				if ev.Value == "reject" {
					return bus.Reject(errors.New("never usable"))
				}
			}
			for _, ev := range evs {
				got = append(got, ev.Value)
			}
			if len(got) >= 2 && got[len(got)-1] == "three" {
				close(done)
			}
			return nil
		},
	}
	// One at a time, so that the rejected message is alone in its batch.
	c.Batch = 1
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { bus.Run(runCtx, b, c) })
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("handled %v; the stream did not move past the bad messages", got)
	}
	stop()
	wg.Wait()
	if !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("handled %v, want one two three", got)
	}

	var parked []bus.Msg
	collectCtx, cancelCollect := context.WithTimeout(ctx, 10*time.Second)
	defer cancelCollect()
	_ = b.Consume(collectCtx, bus.Subscription{Stream: events.DeadLetterStream, StartSeq: 1}, func(_ context.Context, m bus.Msg) error {
		parked = append(parked, m)
		if len(parked) == 2 {
			cancelCollect()
		}
		return nil
	})
	if len(parked) != 2 {
		t.Fatalf("dead letters: %d, want 2", len(parked))
	}
	for i, want := range []struct{ data, seq, err string }{{"bad", "2", "cannot read bad"}, {"reject", "4", "never usable"}} {
		m := parked[i]
		h := func(k string) string {
			if v := m.Header[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		if m.Subject != events.DeadLetterPrefix+events.SearchSubject || string(m.Data) != want.data ||
			h(bus.HeaderSubject) != events.SearchSubject || h(bus.HeaderSeq) != want.seq ||
			h(bus.HeaderError) != want.err || h(bus.HeaderStream) != events.AnalyticsStream || h(bus.HeaderConsumer) != "test-parked" {
			t.Errorf("dead letter %d: %s %q %v", i, m.Subject, m.Data, m.Header)
		}
	}
	if n := undecodable(t, reg); n < 2 {
		t.Errorf("vitrine_events_undecodable_total = %v, want 2 or more", n)
	}
}

func undecodable(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() != "vitrine_events_undecodable_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}
