package searchevents_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchevents"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// BenchmarkCatalogReplay measures what a new search instance does first:
// consume the whole catalog stream (on the local NATS server) into an
// empty index, through the search service's own consumer, with several
// batch sizes. VITRINE_CATALOG_SIZE sets the number of products (default
// 20,000):
//
//	go test ./internal/search/searchevents -run '^$' -bench CatalogReplay -benchtime 1x
func BenchmarkCatalogReplay(b *testing.B) {
	n := st.CatalogSize(b, 20_000)
	stream := bustest.Open(b, true)
	publishProducts(b, stream, n)
	last, err := stream.LastSeq(context.Background(), events.CatalogStream)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{500, 1000, 2000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			for b.Loop() {
				replay(b, stream, size, last)
			}
			perSecond := float64(b.N*n) / b.Elapsed().Seconds()
			b.ReportMetric(perSecond, "products/s")
		})
	}
}

// replay consumes the stream into a new index in batches of size until it
// has applied last.
func replay(b *testing.B, stream *bus.Bus, size int, last uint64) {
	svc, err := search.Open(b.TempDir(), search.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	consumer := searchevents.Consumers(svc)[0].(bus.Consumer[events.Catalog])
	consumer.Batch = size
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); consumer.Run(ctx, stream) }()
	defer func() { cancel(); <-done }()
	for svc.LastApplied() < last {
		time.Sleep(5 * time.Millisecond)
	}
}

// publishProducts publishes the categories and n generated products.
func publishProducts(b *testing.B, stream *bus.Bus, n int) {
	for _, c := range st.Categories {
		if err := stream.PublishEvent(context.Background(), c, ""); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		ev := st.Generated(i)
		if err := stream.PublishEvent(context.Background(), ev, ""); err != nil {
			b.Fatal(err)
		}
	}
}
