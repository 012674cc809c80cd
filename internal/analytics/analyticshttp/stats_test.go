package analyticshttp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/events"
)

func stat(id string, sales, views int64) events.ProductStat {
	return events.ProductStat{ProductID: id, Sales: sales, Views: views}
}

// publish runs one publication pass and returns the items sent.
func publish(t *testing.T, f *fixture, pub *recordingPublisher) [][]events.ProductStat {
	t.Helper()
	if err := f.svc.PublishStats(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	return pub.batchItems()
}

func assertSent(t *testing.T, got [][]events.ProductStat, want ...[]events.ProductStat) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("published %+v, want %+v", got, want)
	}
}

func TestStatsArePublishedAsTotals(t *testing.T) {
	f := newFixture(t)
	pub := &recordingPublisher{}
	f.ingest(
		purchase("b1", "p1", 2, now), purchase("b2", "p1", 3, now), view("v1", "p1", now),
		view("v2", "p2", now),
		cart("c1", "p3", now), // carts are not part of the stats
	)
	assertSent(t, publish(t, f, pub), []events.ProductStat{stat("p1", 5, 1), stat("p2", 0, 1)})

	// Nothing changed, nothing is sent; a replayed batch changes nothing.
	assertSent(t, publish(t, f, pub))
	f.ingest(purchase("b1", "p1", 2, now), view("v2", "p2", now))
	assertSent(t, publish(t, f, pub))

	// A new purchase re-sends the product's all-time totals, not the delta.
	f.ingest(purchase("b3", "p1", 1, now))
	assertSent(t, publish(t, f, pub), []events.ProductStat{stat("p1", 6, 1)})
}

func TestStatsAreRetriedAfterAFailedPublish(t *testing.T) {
	f := newFixture(t)
	pub := &recordingPublisher{}
	f.ingest(purchase("b1", "p2", 2, now))
	pub.failNext(1)
	if err := f.svc.PublishStats(context.Background(), pub); !errors.Is(err, errBusDown) {
		t.Fatalf("publish on a bus that is down: %v", err)
	}
	assertSent(t, pub.batchItems())
	// The change waits, and the next one joins it.
	f.ingest(view("v1", "p2", now))
	assertSent(t, publish(t, f, pub), []events.ProductStat{stat("p2", 2, 1)})
	assertSent(t, publish(t, f, pub))
}

func TestStatsBatchesAreBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	var views []any
	for i := range analytics.MaxStatsBatch + 1 {
		id := fmt.Sprintf("q%03d", i)
		ids = append(ids, id)
		if err := f.svc.ApplyProduct(ctx, events.ProductChanged{Op: events.OpUpsert, ID: id, Version: 1}); err != nil {
			t.Fatal(err)
		}
		views = append(views, view("v"+id, id, now))
	}
	f.ingest(views[:analytics.MaxBatch]...)
	f.ingest(views[analytics.MaxBatch:]...)
	pub := &recordingPublisher{}
	sent := publish(t, f, pub)
	if len(sent) != 2 || len(sent[0]) != analytics.MaxStatsBatch || len(sent[1]) != 1 {
		t.Fatalf("published batches of %d items", len(sent))
	}
	var got []string
	for _, b := range sent {
		for _, s := range b {
			got = append(got, s.ProductID)
			if s.Views != 1 {
				t.Fatalf("stat %+v", s)
			}
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("published %d products, want each of %d once", len(got), len(ids))
	}
}

func TestRunPublishesEveryIntervalAndRetries(t *testing.T) {
	f := newFixtureConfig(t, analytics.Config{StatsInterval: 10 * time.Millisecond})
	pub := &recordingPublisher{}
	pub.failNext(2)
	f.ingest(purchase("b1", "p3", 4, now), view("v1", "p3", now))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Run(ctx, pub)
	}()
	var sent []events.ProductStats
	for deadline := time.Now().Add(10 * time.Second); len(sent) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no stats published within 10s")
		}
		time.Sleep(5 * time.Millisecond)
		sent = pub.sent()
	}
	cancel()
	<-done
	if len(sent) != 1 || !slices.Equal(sent[0].Items, []events.ProductStat{stat("p3", 4, 1)}) || !sent[0].At.Equal(now) {
		t.Fatalf("published %+v", sent)
	}
	if calls := pub.callCount(); calls < 3 {
		t.Fatalf("%d calls: the two failures were not retried", calls)
	}
	// Run stopped with its context: nothing more is published.
	f.ingest(purchase("b2", "p3", 1, now))
	time.Sleep(30 * time.Millisecond)
	if more := pub.sent(); len(more) != 0 {
		t.Fatalf("published after Run returned: %+v", more)
	}
}
