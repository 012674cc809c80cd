package productdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// crashingPublisher publishes up to limit events and then dies: the last
// event reaches the stream but the relay never learns it, as when the
// process is killed between publish and delete.
type crashingPublisher struct {
	real  outbox.Publisher
	limit int
	mu    sync.Mutex // the relay publishes concurrently
	sent  int
}

var errCrashed = errors.New("process killed")

func (p *crashingPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sent == p.limit {
		return errCrashed
	}
	p.sent++
	if err := p.real.Publish(ctx, subject, msgID, data); err != nil {
		return err
	}
	if p.sent == p.limit {
		return errCrashed // published, but the acknowledgement is lost
	}
	return nil
}

// TestOutboxDeliversEveryEventOnceAcrossACrash: writes commit their events;
// the relay dies mid-way (one event published but not marked); a restarted
// relay sends the rest. Consumers see every event exactly once.
func TestOutboxDeliversEveryEventOnceAcrossACrash(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			store, err := productdb.Open(ctx, sqltest.Config(t, d, "product"))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			b := bustest.Open(t, d == sqldb.Postgres) // the split shape uses the external server
			const n = 5
			var ids []string
			for i := 0; i < n; i++ {
				p := newProduct(i, "Acme", "", 100)
				mustCreate(t, store, p) // committed; the process "dies" before any publish
				ids = append(ids, p.ID)
			}

			first := outbox.New(store.DB(), &crashingPublisher{real: b, limit: 3}, "product", slog.Default())
			if sent, err := first.Flush(ctx); sent != 2 || err != nil {
				t.Fatalf("first relay sent %d (%v), want 2 before the crash", sent, err)
			}
			// The restarted process relays what is left, including the
			// event whose acknowledgement was lost.
			second := outbox.New(store.DB(), b, "product", slog.Default())
			if sent, err := second.Flush(ctx); sent != n-2 || err != nil {
				t.Fatalf("second relay sent %d (%v), want %d", sent, err, n-2)
			}
			if backlog, _ := second.Backlog(ctx); backlog != 0 {
				t.Fatalf("outbox still holds %d events", backlog)
			}
			last, err := b.LastSeq(ctx, events.CatalogStream)
			if err != nil || last != n {
				t.Fatalf("stream holds %d events (%v), want exactly %d", last, err, n)
			}
			got := consumeProducts(t, b, n)
			for _, id := range ids {
				if got[id] != 1 {
					t.Fatalf("product %s delivered %d times", id, got[id])
				}
			}
		})
	}
}

func consumeProducts(t *testing.T, b *bus.Bus, n int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen, total := map[string]int{}, 0
	_ = b.Consume(ctx, bus.Subscription{Stream: events.CatalogStream, StartSeq: 1}, func(_ context.Context, m bus.Msg) error {
		var ev events.ProductChanged
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Errorf("bad event: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		seen[ev.ID]++
		if total++; total == n {
			// Wait a moment for anything extra, then stop.
			time.AfterFunc(300*time.Millisecond, cancel)
		}
		return nil
	})
	return seen
}

// slowPublisher acknowledges each event after a pause, as a stream
// electing a new leader does.
type slowPublisher struct{ pause time.Duration }

func (p slowPublisher) Publish(ctx context.Context, _, _ string, _ []byte) error {
	select {
	case <-time.After(p.pause):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A relay given a deadline stops publishing at half of it and still
// deletes what the stream acknowledged: a slow stream makes its batches
// smaller, never endless, and nothing is sent twice for nothing.
func TestOutboxRelayKeepsWithinItsDeadline(t *testing.T) {
	ctx := context.Background()
	store, err := productdb.Open(ctx, sqltest.Config(t, sqldb.Postgres, "product"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// One product's events: the relay sends them in order, one after
	// another (different products' go out at once).
	const n = 10
	p := newProduct(1, "Acme", "", 100)
	mustCreate(t, store, p)
	for i := 1; i < n; i++ {
		p.Description = fmt.Sprintf("edit %d", i)
		if err := store.UpdateProduct(ctx, p, p.Version); err != nil {
			t.Fatal(err)
		}
	}
	relay := outbox.New(store.DB(), slowPublisher{pause: 100 * time.Millisecond}, "product", slog.Default())
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	sent, err := relay.Flush(fctx)
	if took := time.Since(start); err != nil || took > time.Second || sent == 0 || sent >= n {
		t.Fatalf("relayed %d of %d in %s (%v): want some, within the 1s deadline", sent, n, took, err)
	}
	if backlog, _ := relay.Backlog(ctx); backlog != n-sent {
		t.Fatalf("outbox holds %d events after %d were relayed, want %d", backlog, sent, n-sent)
	}
}
