package searchsnap_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/product/productseed"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchsnap"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// BenchmarkStartFromSnapshot measures what a new search instance of a
// large catalog waits for: it indexes the first VITRINE_CATALOG_SIZE
// products of `vitrine seed --seed 1` (default 20,000) in batches of 500,
// as a rebuild from the stream does, takes
// a snapshot into a blob store on local disk, then restores it into an
// empty directory and opens it, ready to serve:
//
//	VITRINE_CATALOG_SIZE=1000000 go test ./internal/search/searchsnap -run '^$' -bench StartFromSnapshot -benchtime 1x -timeout 2h
func BenchmarkStartFromSnapshot(b *testing.B) {
	n := st.CatalogSize(b, 20_000)
	ctx := context.Background()
	source, err := search.Open(b.TempDir(), search.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer source.Close()
	start := time.Now()
	build(b, source, n)
	rebuild := time.Since(start)
	fmt.Printf("indexed %d products in %s (%.0f products/s)\n", n, rebuild.Round(time.Second), float64(n)/rebuild.Seconds())

	blobs, err := blobstore.Open(ctx, (&url.URL{Scheme: "file", Path: b.TempDir()}).String())
	if err != nil {
		b.Fatal(err)
	}
	defer blobs.Close()
	snaps := searchsnap.New(blobs, "search-snapshots/", nil)
	start = time.Now()
	m, err := snaps.Take(ctx, source, b.TempDir(), time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("snapshot taken in %s: %d documents, %.1f MB packed, %.1f MB unpacked\n",
		time.Since(start).Round(time.Millisecond), m.Documents, float64(m.Size)/1e6, float64(m.Unpacked)/1e6)

	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "search")
		start := time.Now()
		if _, ok, err := snaps.Restore(ctx, dir, searchsnap.Usable{Schema: search.Schema, StreamLast: m.Seq}); err != nil || !ok {
			b.Fatalf("restore: %v, %v", ok, err)
		}
		restored := time.Since(start)
		svc, err := search.Open(dir, search.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := svc.Search(ctx, search.Query{Text: productseed.NewGenerator(1).Product(0).Name})
		if err != nil || res.Total == 0 {
			b.Fatalf("search after restore: %v, %v", res, err)
		}
		fmt.Printf("restored in %s, open and first search after %s (%d results)\n",
			restored.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), res.Total)
		_ = svc.Close()
	}
	b.ReportMetric(rebuild.Seconds(), "rebuild-s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/1000, "start-s")
}

// build indexes the categories and the first n products of the seeder.
func build(b *testing.B, svc *search.Service, n int) {
	var changes []search.Change
	for i, c := range productseed.Categories() {
		ev := events.CategoryChanged{Op: events.OpUpsert, Slug: c.Slug, Name: c.Name, Parent: c.Parent}
		changes = append(changes, search.Change{Seq: uint64(i + 1), Category: &ev})
	}
	seq := uint64(len(changes))
	g := productseed.NewGenerator(1)
	for i := range n {
		seq++
		p := g.Product(i)
		ev := events.ProductChanged{Op: events.OpUpsert, ID: p.ID, Version: p.Version, Product: p.Snapshot(), At: p.UpdatedAt}
		changes = append(changes, search.Change{Seq: seq, Product: &ev})
		if len(changes) == 500 || i == n-1 {
			if err := svc.ApplyBatch(context.Background(), changes); err != nil {
				b.Fatal(err)
			}
			changes = changes[:0]
		}
	}
}
