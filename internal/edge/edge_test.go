package edge_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/edge"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

func TestTouched(t *testing.T) {
	for _, c := range []struct {
		subject string
		want    []string
	}{
		{events.ProductSubjectPrefix + "0190", []string{"p:0190", "listings", "search", "bestsellers"}},
		{events.CategorySubjectPrefix + "lamps", []string{"c:lamps", "categories", "listings", "search", "bestsellers"}},
		{events.StatsSubject, nil},
	} {
		if got := edge.Touched(c.subject); !slices.Equal(got, c.want) {
			t.Errorf("Touched(%q) = %q, want %q", c.subject, got, c.want)
		}
	}
}

// purges records what the consumer purged; it fails while failing is set.
type purges struct {
	mu      sync.Mutex
	calls   [][]string
	lags    []time.Time
	failing bool
}

func (p *purges) Purge(_ context.Context, changedAt time.Time, keys ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, keys)
	p.lags = append(p.lags, changedAt)
	if p.failing {
		return errors.New("edge down")
	}
	return nil
}

func (p *purges) snapshot() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// A catalog change published on the stream is purged by its keys at
// once, and again a moment later; a purge that fails does not stop the
// consumer.
func TestConsumerPurgesEachChange(t *testing.T) {
	b := bustest.Open(t, false)
	p := &purges{failing: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go edge.Consumer(p, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx, b)

	publish := func(subject string) {
		if err := b.Publish(ctx, subject, subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	publish(events.ProductSubjectPrefix + "a")
	testwait.Until(t, 10*time.Second, "the first purge", func() bool { return len(p.snapshot()) >= 1 })
	p.mu.Lock()
	p.failing = false
	p.mu.Unlock()
	publish(events.CategorySubjectPrefix + "lamps")
	testwait.Until(t, 10*time.Second, "the category's purge", func() bool {
		for _, keys := range p.snapshot() {
			if slices.Contains(keys, "c:lamps") && slices.Contains(keys, "categories") {
				return true
			}
		}
		return false
	})
	count := func(key string) (n int) {
		for _, keys := range p.snapshot() {
			if slices.Contains(keys, key) {
				n++
			}
		}
		return n
	}
	testwait.Until(t, 10*time.Second, "the second purges", func() bool { return count("p:a") >= 2 && count("c:lamps") >= 2 })
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lags[0].IsZero() || time.Since(p.lags[0]) > time.Minute {
		t.Errorf("the purge's change time %v is not the event's", p.lags[0])
	}
}
