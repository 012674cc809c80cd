package search_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/search"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// generatedCatalog returns n deterministic products spread over the test
// category tree, 40 brands and a few hundred distinct words.
func generatedCatalog(n int) []search.Change {
	rng := rand.New(rand.NewPCG(1, 2))
	adjectives := []string{"Wireless", "Portable", "Compact", "Premium", "Classic", "Smart", "Ultra", "Mini", "Pro", "Studio",
		"Outdoor", "Waterproof", "Foldable", "Ergonomic", "Vintage", "Modern", "Silent", "Rugged", "Slim", "Deluxe"}
	nouns := map[string][]string{
		"headphones":  {"Headphones", "Earbuds", "Headset", "Earphones"},
		"speakers":    {"Speaker", "Soundbar", "Subwoofer", "Boombox"},
		"televisions": {"Television", "Monitor", "Projector", "Display"},
		"seating":     {"Sofa", "Armchair", "Couch", "Stool", "Bench"},
	}
	leaves := []string{"headphones", "speakers", "televisions", "seating"}
	filler := []string{"sound", "battery", "bluetooth", "comfort", "design", "bass", "linen", "oak", "colour", "noise",
		"cancelling", "hours", "charging", "cushion", "frame", "panel", "resolution", "contrast", "warranty", "travel"}
	var changes []search.Change
	for i, c := range st.Categories {
		changes = append(changes, search.Change{Seq: uint64(i + 1), Category: &c})
	}
	for i := range n {
		cat := leaves[rng.IntN(len(leaves))]
		brand := fmt.Sprintf("Brand%02d", rng.IntN(40))
		name := fmt.Sprintf("%s %s %s %d", brand, adjectives[rng.IntN(len(adjectives))], nouns[cat][rng.IntN(len(nouns[cat]))], 100+rng.IntN(900))
		p := st.NewProduct(fmt.Sprintf("gen-%05d", i), name, brand, cat, rng.IntN(5) > 0,
			time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Hour), int64(500+rng.IntN(200_000)))
		desc := make([]byte, 0, 200)
		for range 25 {
			desc = append(desc, filler[rng.IntN(len(filler))]...)
			desc = append(desc, ' ')
		}
		p.Description = string(desc)
		p.SalesCount = int64(rng.IntN(1000))
		ev := p.Event()
		changes = append(changes, search.Change{Seq: uint64(len(changes) + 1), Product: &ev})
	}
	return changes
}

func applyAll(tb testing.TB, svc *search.Service, changes []search.Change) {
	applyInBatches(tb, svc, changes, 500)
}

func applyInBatches(tb testing.TB, svc *search.Service, changes []search.Change, size int) {
	for i := 0; i < len(changes); i += size {
		if err := svc.ApplyBatch(context.Background(), changes[i:min(i+size, len(changes))]); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkSearch measures one search request (all its Bleve searches) on
// about 5,000 products.
func BenchmarkSearch(b *testing.B) {
	svc, err := search.Open(b.TempDir(), search.Options{Recorder: recorderFunc(func(events.SearchPerformed) {})})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	applyAll(b, svc, generatedCatalog(5000))
	ctx := context.Background()
	facets := search.FacetSet{Brand: true, Category: true, Price: true}
	for _, bc := range []struct {
		name string
		q    search.Query
	}{
		{"word", search.Query{Text: "headphones"}},
		{"typo", search.Query{Text: "wireles hedphones"}},
		{"prefix", search.Query{Text: "portable spe"}},
		{"one-letter-prefix", search.Query{Text: "s"}},
		{"browse-category-facets", search.Query{Category: "electronics", Facets: facets}},
		{"text-filters-facets-sort", search.Query{Text: "wireless", Category: "audio", Brands: []string{"Brand01", "Brand02"},
			MinPrice: ptr[int64](1000), MaxPrice: ptr[int64](100_000), InStock: true, Sort: search.SortPrice, Facets: facets}},
		{"deep-page", search.Query{Text: "sofa", Page: 50, PerPage: 20}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := svc.Search(ctx, bc.q); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Search(ctx, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("suggest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Suggest(ctx, "wireless headph"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReplay measures rebuilding an index of 5,000 products from the
// stream, in batches of 500.
func BenchmarkReplay(b *testing.B) {
	changes := generatedCatalog(5000)
	for b.Loop() {
		svc, err := search.Open(b.TempDir(), search.Options{})
		if err != nil {
			b.Fatal(err)
		}
		applyAll(b, svc, changes)
		_ = svc.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5000), "ns/product")
}

// BenchmarkReplayBatches measures rebuilding an index of 20,000 products
// from the stream with index batches of several sizes: each batch is one
// Bleve segment, persisted and synced before it returns.
//
//	go test ./internal/search -run '^$' -bench ReplayBatches -benchtime 1x -count 3
func BenchmarkReplayBatches(b *testing.B) {
	const n = 20_000
	changes := generatedCatalog(n)
	for _, size := range []int{500, 2000, 5000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			for b.Loop() {
				svc, err := search.Open(b.TempDir(), search.Options{})
				if err != nil {
					b.Fatal(err)
				}
				applyInBatches(b, svc, changes, size)
				_ = svc.Close()
			}
			perProduct := float64(b.Elapsed().Nanoseconds()) / float64(b.N*n)
			b.ReportMetric(perProduct, "ns/product")
			b.ReportMetric(1e9/perProduct, "products/s")
		})
	}
}

type recorderFunc func(events.SearchPerformed)

func (f recorderFunc) RecordSearches(evs []events.SearchPerformed) {
	for _, ev := range evs {
		f(ev)
	}
}
