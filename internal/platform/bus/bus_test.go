package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
)

func TestBothShapes(t *testing.T) {
	for _, shape := range []string{"embedded", "external"} {
		t.Run(shape, func(t *testing.T) {
			b := bustest.Open(t, shape == "external")
			testDedupAndCompaction(t, b)
		})
	}
}

func testDedupAndCompaction(t *testing.T, b *bus.Bus) {
	ctx := context.Background()
	// Two versions of product 1, one of product 2, and a re-sent duplicate.
	for i, m := range []struct{ subj, id, data string }{
		{events.ProductSubjectPrefix + "1", "m1", "p1v1"},
		{events.ProductSubjectPrefix + "2", "m2", "p2v1"},
		{events.ProductSubjectPrefix + "1", "m3", "p1v2"},
		{events.ProductSubjectPrefix + "2", "m2", "p2v1"},
	} {
		if err := b.Publish(ctx, m.subj, m.id, []byte(m.data)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	last, err := b.LastSeq(ctx, events.CatalogStream)
	if err != nil || last != 3 {
		t.Fatalf("last seq %d (%v), want 3: the duplicate must be dropped", last, err)
	}
	// Replaying from the start sees only the latest message per product.
	got := collect(t, b, bus.Subscription{Stream: events.CatalogStream, StartSeq: 1}, 2)
	if fmt.Sprint(got) != "[p2v1 p1v2]" {
		t.Fatalf("replay: %v", got)
	}
}

func collect(t *testing.T, b *bus.Bus, sub bus.Subscription, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		got []string
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Consume(ctx, sub, func(_ context.Context, m bus.Msg) error {
			mu.Lock()
			defer mu.Unlock()
			if len(got) == n {
				return errors.New("enough: leave it unacked")
			}
			got = append(got, string(m.Data))
			if len(got) == n {
				cancel()
			}
			return nil
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) < n {
		t.Fatalf("received %v, want %d messages", got, n)
	}
	return got
}

func TestDurableConsumerResumesWhereItAcked(t *testing.T) {
	for _, shape := range []string{"embedded", "external"} {
		t.Run(shape, func(t *testing.T) { testDurable(t, bustest.Open(t, shape == "external")) })
	}
}

func testDurable(t *testing.T, b *bus.Bus) {
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := b.Publish(ctx, events.SearchSubject, "", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	sub := bus.Subscription{Stream: events.AnalyticsStream, Durable: "test", Subjects: []string{events.SearchSubject}}
	if got := collect(t, b, sub, 2); fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("first run: %v", got)
	}
	if err := b.Publish(ctx, events.SearchSubject, "", []byte("3")); err != nil {
		t.Fatal(err)
	}
	// The restarted consumer starts after the last acked message; the one
	// left unacked is redelivered, so order across them is not promised.
	got := collect(t, b, sub, 2)
	sort.Strings(got)
	if fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("after restart: %v", got)
	}
}

func TestPrefixIsolatesDeployments(t *testing.T) {
	a, b := bustest.Open(t, true), bustest.Open(t, true)
	ctx := context.Background()
	if err := a.Publish(ctx, events.ProductSubjectPrefix+"x", "", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.LastSeq(ctx, events.CatalogStream); n != 0 {
		t.Fatalf("deployment b sees %d messages of deployment a", n)
	}
}
