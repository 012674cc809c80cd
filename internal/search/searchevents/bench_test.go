package searchevents_test

import (
	"context"
	"fmt"
	"os"
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
	n := 20_000
	if v := os.Getenv("VITRINE_CATALOG_SIZE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("VITRINE_CATALOG_SIZE: %v", err)
		}
	}
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

// publishProducts publishes n products in the shape of the seeder's,
// waiting for the stream to acknowledge them in windows.
func publishProducts(b *testing.B, stream *bus.Bus, n int) {
	for _, c := range st.Categories {
		if err := stream.PublishEvent(context.Background(), c, ""); err != nil {
			b.Fatal(err)
		}
	}
	nouns := []string{"Headphones", "Speaker", "Television", "Sofa", "Skillet", "Backpack", "Lamp"}
	filler := "durable everyday design with a two year warranty, tested for comfort and sound in real homes"
	for i := range n {
		brand := fmt.Sprintf("Brand%02d", i%40)
		p := st.NewProduct(fmt.Sprintf("p-%07d", i), fmt.Sprintf("%s %s %d", brand, nouns[i%len(nouns)], i), brand,
			st.Categories[2+i%7].Slug, i%5 > 0, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute),
			int64(500+i*37%200_000))
		p.Description = filler
		ev := p.Event()
		if err := stream.PublishEvent(context.Background(), ev, ""); err != nil {
			b.Fatal(err)
		}
	}
}
