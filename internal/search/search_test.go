package search_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/search"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// openCatalog opens an index in a temporary directory, with the test
// synonyms, and feeds it the test catalog.
func openCatalog(t *testing.T, opts search.Options) (*search.Service, string) {
	t.Helper()
	dir := t.TempDir()
	synFile := filepath.Join(dir, "synonyms.txt")
	if err := os.WriteFile(synFile, []byte(st.Synonyms), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.SynonymsFile = synFile
	svc, err := search.Open(filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	st.Seed(t, svc)
	return svc, dir
}

func run(t *testing.T, svc *search.Service, q search.Query) *search.Result {
	t.Helper()
	res, err := svc.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func ids(res *search.Result) []string {
	out := make([]string, len(res.Items))
	for i, it := range res.Items {
		out[i] = it.ID
	}
	return out
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	return slices.Equal(g, w)
}

func wantIDs(t *testing.T, res *search.Result, want ...string) {
	t.Helper()
	if !sameSet(ids(res), want) || res.Total != len(want) {
		t.Fatalf("got %v (total %d), want %v", ids(res), res.Total, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestFullText(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	headphones := []string{st.SonyHeadphones, st.BoseHeadphones, st.AirPods}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"exact word", "headphones", headphones},
		{"singular finds plural", "headphone", headphones},
		{"typo: one letter missing", "hedphones", headphones},
		{"typo: swapped letters", "speakre", []string{st.JBLFlip, st.JBLClip, st.SonySpeaker}},
		{"no typo in a four-letter word", "bsoe", nil},
		{"a four-letter word is not another one typo away", "flip", []string{st.JBLFlip}},
		{"typo: two edits in a long word", "headfones", headphones},
		{"prefix of the last word", "headph", headphones},
		{"brand", "bose", []string{st.BoseHeadphones}},
		{"accents are folded", "télévision", []string{st.SamsungTV, st.LGTV}},
		{"synonym, both ways", "tv", []string{st.SamsungTV, st.LGTV}},
		{"synonym", "sofa", []string{st.SofaBed, st.Couch}},
		{"synonym, the other way", "couch", []string{st.SofaBed, st.Couch}},
		{"synonym phrase, not its words anywhere", "earbuds", []string{st.AirPods}}, // not the Bose: "headphones ... ears"
		{"tags are searched", "bluetooth", []string{st.SonyHeadphones, st.JBLFlip}},
		{"category words are searched", "seating", []string{st.SofaBed, st.Couch}},
		{"description is searched", "carabiner", []string{st.JBLClip}},
		{"draft is not searchable", "sennheiser", nil},
		{"archived is not searchable", "walkman", nil},
		{"stop words only", "!!!", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantIDs(t, run(t, svc, search.Query{Text: tc.text}), tc.want...)
		})
	}
}

func TestRelevance(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	first := func(text string) []string {
		t.Helper()
		return ids(run(t, svc, search.Query{Text: text}))
	}
	// products with every word first, then those with some
	if got := first("sony headph"); len(got) < 2 || got[0] != st.SonyHeadphones {
		t.Fatalf("sony headph: got %v, want the Sony headphones first", got)
	}
	if got := first("sony speaker"); len(got) < 2 || got[0] != st.SonySpeaker {
		t.Fatalf("sony speaker: got %v, want the Sony speaker first", got)
	}
	// a match in the name outranks one in the category or description
	if got := first("headphones"); got[len(got)-1] != st.AirPods {
		t.Fatalf("headphones: got %v, want AirPods (category and description only) last", got)
	}
}

func TestHighlights(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	res := run(t, svc, search.Query{Text: "hedphones"})
	for _, it := range res.Items {
		if it.ID == st.BoseHeadphones {
			if want := "Bose QuietComfort 45 <mark>Headphones</mark>"; !slices.Contains(it.Highlights["name"], want) {
				t.Fatalf("name highlights %q, want %q", it.Highlights["name"], want)
			}
			if d := it.Highlights["description"]; len(d) != 1 || !strings.Contains(d[0], "<mark>headphones</mark>") {
				t.Fatalf("description highlights %q", d)
			}
		}
		if it.ID == st.AirPods && it.Highlights["name"] != nil {
			t.Fatalf("AirPods name has no match but highlights %q", it.Highlights["name"])
		}
	}
	// prefix matches are highlighted too
	res = run(t, svc, search.Query{Text: "quietc"})
	if len(res.Items) != 1 || !slices.Contains(res.Items[0].Highlights["name"], "Bose <mark>QuietComfort</mark> 45 Headphones") {
		t.Fatalf("prefix highlights: %+v", res.Items)
	}
}

func TestItemShape(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	res := run(t, svc, search.Query{Text: "WH-1000XM5"})
	if len(res.Items) != 1 {
		t.Fatalf("got %v", ids(res))
	}
	it := res.Items[0]
	want := search.Item{ID: st.SonyHeadphones, Slug: "sony-wh-1000xm5-wireless-noise-cancelling-headphones",
		Name: "Sony WH-1000XM5 Wireless Noise Cancelling Headphones", Brand: "Sony", Category: "headphones",
		Price: search.Price{Min: 34999, Max: 36999, Currency: "EUR"}, InStock: true,
		Image: "https://img.example/p-sony-wh.jpg", Thumbnail: "https://img.example/p-sony-wh.jpg"}
	it.Highlights = nil
	if got, _ := json.Marshal(it); string(got) != mustJSON(want) {
		t.Fatalf("item\n got %s\nwant %s", got, mustJSON(want))
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestFilters(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	for _, tc := range []struct {
		name string
		q    search.Query
		want []string
	}{
		{"brand", search.Query{Brands: []string{"Sony"}}, []string{st.SonyHeadphones, st.SonySpeaker}},
		{"brand is case-insensitive", search.Query{Brands: []string{"sony"}}, []string{st.SonyHeadphones, st.SonySpeaker}},
		{"brands are any-of", search.Query{Brands: []string{"Sony", "Bose"}}, []string{st.SonyHeadphones, st.SonySpeaker, st.BoseHeadphones}},
		{"category leaf", search.Query{Category: "speakers"}, []string{st.JBLFlip, st.JBLClip, st.SonySpeaker}},
		{"category includes descendants", search.Query{Category: "audio"},
			[]string{st.SonyHeadphones, st.BoseHeadphones, st.AirPods, st.JBLFlip, st.JBLClip, st.SonySpeaker}},
		{"category two levels down", search.Query{Category: "home"}, []string{st.Couch, st.SofaBed}},
		{"unknown category", search.Query{Category: "garden"}, nil},
		{"price range on the lowest variant price, inclusive", search.Query{MinPrice: ptr[int64](34999), MaxPrice: ptr[int64](79999)},
			[]string{st.SonyHeadphones, st.SamsungTV, st.SofaBed}},
		{"max price only", search.Query{MaxPrice: ptr[int64](5999)}, []string{st.JBLClip, st.SonySpeaker}},
		{"in stock", search.Query{Category: "speakers", InStock: true}, []string{st.JBLFlip, st.JBLClip}},
		{"text and filters", search.Query{Text: "speaker", Brands: []string{"JBL"}, MaxPrice: ptr[int64](10000)}, []string{st.JBLClip}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantIDs(t, run(t, svc, tc.q), tc.want...) })
	}
}

func TestFacets(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	all := search.FacetSet{Brand: true, Category: true, Price: true}

	// Sony is selected in audio: the brand facet still counts the other
	// audio brands; the category facet ignores the category filter but not
	// the brand filter.
	res := run(t, svc, search.Query{Category: "audio", Brands: []string{"Sony"}, Facets: all})
	wantIDs(t, res, st.SonyHeadphones, st.SonySpeaker)
	wantFacet(t, "brand", res.Facets.Brand, "Apple", 1, "Bose", 1, "JBL", 2, "Sony", 2)
	wantFacet(t, "category", res.Facets.Category, "audio", 2, "electronics", 2, "headphones", 1, "speakers", 1)

	// with a price filter the price facet ignores it; min and max too
	res = run(t, svc, search.Query{Category: "audio", MinPrice: ptr[int64](20000), Facets: all})
	wantIDs(t, res, st.SonyHeadphones, st.BoseHeadphones, st.AirPods)
	p := res.Facets.Price
	if p == nil || p.Min == nil || p.Max == nil || *p.Min != 5499 || *p.Max != 34999 {
		t.Fatalf("price facet %+v, want min 5499 max 34999", p)
	}
	wantRanges := []search.PriceRange{{From: 5000, To: ptr[int64](10000), Count: 2}, {From: 10000, To: ptr[int64](20000), Count: 1},
		{From: 20000, To: ptr[int64](50000), Count: 3}}
	if mustJSON(p.Ranges) != mustJSON(wantRanges) {
		t.Fatalf("price ranges %s, want %s", mustJSON(p.Ranges), mustJSON(wantRanges))
	}
	// the brand facet does apply the price filter
	wantFacet(t, "brand", res.Facets.Brand, "Apple", 1, "Bose", 1, "Sony", 1)

	// counts roll up the category tree and respect the text query
	res = run(t, svc, search.Query{Text: "speaker", Facets: search.FacetSet{Category: true}})
	wantFacet(t, "category", res.Facets.Category, "audio", 3, "electronics", 3, "speakers", 3)
	if res.Facets.Brand != nil || res.Facets.Price != nil {
		t.Fatalf("facets not asked for: %+v", res.Facets)
	}

	// no results: empty facets, no min/max
	res = run(t, svc, search.Query{Text: "zeppelin", Facets: all})
	if res.Total != 0 || len(res.Facets.Brand) != 0 || res.Facets.Price.Min != nil || len(res.Facets.Price.Ranges) != 0 {
		t.Fatalf("empty result facets: %s", mustJSON(res.Facets))
	}
}

func wantFacet(t *testing.T, name string, got []search.FacetValue, want ...any) {
	t.Helper()
	var w []search.FacetValue
	for i := 0; i < len(want); i += 2 {
		w = append(w, search.FacetValue{Value: want[i].(string), Count: want[i+1].(int)})
	}
	g := slices.Clone(got)
	slices.SortFunc(g, func(a, b search.FacetValue) int { return strings.Compare(a.Value, b.Value) })
	if mustJSON(g) != mustJSON(w) {
		t.Fatalf("%s facet %s, want %s", name, mustJSON(g), mustJSON(w))
	}
}

func TestSortAndPaging(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	prices := func(res *search.Result) []int64 {
		var out []int64
		for _, it := range res.Items {
			out = append(out, it.Price.Min)
		}
		return out
	}
	res := run(t, svc, search.Query{Sort: search.SortPrice, PerPage: 100})
	if res.Total != 10 || !slices.IsSorted(prices(res)) {
		t.Fatalf("sort=price: %v (total %d)", prices(res), res.Total)
	}
	res = run(t, svc, search.Query{Sort: search.SortPriceDesc})
	desc := prices(res)
	slices.Reverse(desc)
	if !slices.IsSorted(desc) || res.Items[0].ID != st.LGTV {
		t.Fatalf("sort=-price: %v", prices(res))
	}
	res = run(t, svc, search.Query{Sort: search.SortNewest, PerPage: 3})
	if got := ids(res); !slices.Equal(got, []string{st.AirPods, st.SonyHeadphones, st.LGTV}) || res.Total != 10 {
		t.Fatalf("sort=newest: %v (total %d)", got, res.Total)
	}

	// pages are disjoint, cover everything, and the total is exact on each
	var seen []string
	for page := 1; page <= 4; page++ {
		res := run(t, svc, search.Query{Sort: search.SortPrice, Page: page, PerPage: 3})
		if res.Total != 10 || res.Page != page || res.PerPage != 3 {
			t.Fatalf("page %d: total %d page %d per_page %d", page, res.Total, res.Page, res.PerPage)
		}
		if want := min(3, 10-3*(page-1)); len(res.Items) != want {
			t.Fatalf("page %d: %d items, want %d", page, len(res.Items), want)
		}
		seen = append(seen, ids(res)...)
	}
	if all := ids(run(t, svc, search.Query{Sort: search.SortPrice, PerPage: 10})); !slices.Equal(seen, all) {
		t.Fatalf("pages %v, want %v", seen, all)
	}
	if res := run(t, svc, search.Query{Page: 5, PerPage: 3}); len(res.Items) != 0 || res.Total != 10 {
		t.Fatalf("past the end: %v total %d", ids(res), res.Total)
	}
}

func TestPopularity(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	ctx := context.Background()
	err := svc.ApplyStats(ctx, events.ProductStats{Items: []events.ProductStat{
		{ProductID: st.JBLClip, Sales: 500, Views: 9000},
		{ProductID: st.Couch, Sales: 20, Views: 100},
		{ProductID: st.BoseHeadphones, Sales: 20, Views: 300},
		{ProductID: "not-indexed", Sales: 1000},
	}})
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, svc, search.Query{Sort: search.SortPopular, PerPage: 3})
	if got := ids(res); !slices.Equal(got, []string{st.JBLClip, st.BoseHeadphones, st.Couch}) {
		t.Fatalf("sort=popular: %v", got)
	}
	// totals never go down: an older stats message arriving late is ignored
	if err := svc.ApplyStats(ctx, events.ProductStats{Items: []events.ProductStat{{ProductID: st.JBLClip, Sales: 1}}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(run(t, svc, search.Query{Sort: search.SortPopular, PerPage: 1})); got[0] != st.JBLClip {
		t.Fatalf("after a stale stats message: %v", got)
	}
	// a product updated after its stats keeps them
	clip := catalogProduct(st.JBLClip)
	clip.Version, clip.Name = 2, "JBL Clip 5 Portable Speaker"
	if err := svc.ApplyProduct(ctx, clip.Event(), 100); err != nil {
		t.Fatal(err)
	}
	if got := ids(run(t, svc, search.Query{Sort: search.SortPopular, PerPage: 1})); got[0] != st.JBLClip {
		t.Fatalf("after an update: %v", got)
	}
	// stats that arrived before their product apply when it does
	p := st.NewProduct("p-late", "Late Arrival Lamp", "Muuto", "furniture", true, time.Now(), 100)
	if err := svc.ApplyStats(ctx, events.ProductStats{Items: []events.ProductStat{{ProductID: "p-late", Sales: 10_000}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.ApplyProduct(ctx, p.Event(), 101); err != nil {
		t.Fatal(err)
	}
	if got := ids(run(t, svc, search.Query{Sort: search.SortPopular, PerPage: 1})); got[0] != "p-late" {
		t.Fatalf("stats before product: %v", got)
	}
}

func catalogProduct(id string) st.Product {
	for _, p := range st.Catalog() {
		if p.ID == id {
			return p
		}
	}
	panic("no product " + id)
}

func TestUpdatesReachTheIndex(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	ctx := context.Background()
	seq := uint64(100)
	apply := func(ev events.ProductChanged) {
		t.Helper()
		seq++
		if err := svc.ApplyProduct(ctx, ev, seq); err != nil {
			t.Fatal(err)
		}
		if svc.LastApplied() != seq {
			t.Fatalf("LastApplied %d, want %d", svc.LastApplied(), seq)
		}
	}
	bose := catalogProduct(st.BoseHeadphones)
	v1 := bose.Event()

	bose.Version, bose.Name = 2, "Bose QuietComfort Ultra Headphones"
	apply(bose.Event())
	wantIDs(t, run(t, svc, search.Query{Text: "ultra"}), st.BoseHeadphones, st.JBLClip) // the Clip is "ultra-portable"
	wantIDs(t, run(t, svc, search.Query{Text: "45"}))

	apply(v1) // a redelivered old version changes nothing
	wantIDs(t, run(t, svc, search.Query{Text: "45"}))
	wantIDs(t, run(t, svc, search.Query{Text: "quietcomfort"}), st.BoseHeadphones)

	bose.Version, bose.Status = 3, "archived"
	apply(bose.Event())
	wantIDs(t, run(t, svc, search.Query{Text: "quietcomfort"}))

	bose.Version, bose.Status = 4, "active"
	apply(bose.Event())
	wantIDs(t, run(t, svc, search.Query{Text: "quietcomfort"}), st.BoseHeadphones)

	// the product service deletes with the next version
	apply(events.ProductChanged{Op: events.OpDelete, ID: st.BoseHeadphones, Version: 5})
	wantIDs(t, run(t, svc, search.Query{Text: "quietcomfort"}))
	apply(bose.Event()) // version 4, older than the delete
	wantIDs(t, run(t, svc, search.Query{Text: "quietcomfort"}))

	// a draft published later becomes searchable
	draft := catalogProduct(st.DraftHeadphone)
	draft.Version, draft.Status = 2, "active"
	apply(draft.Event())
	wantIDs(t, run(t, svc, search.Query{Text: "sennheiser"}), st.DraftHeadphone)

	// an upsert that cannot apply (no product: undecodable payloads are
	// parked by the consumer before they get here) is skipped, not fatal;
	// its sequence counts
	apply(events.ProductChanged{Op: events.OpUpsert, ID: "p-bad", Version: 1})
	status, err := svc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status.Documents != 10 {
		t.Fatalf("documents %d, want 10", status.Documents)
	}
}

func TestBatchReplay(t *testing.T) {
	svc, err := search.Open(t.TempDir(), search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var changes []search.Change
	for i, c := range st.Categories {
		changes = append(changes, search.Change{Seq: uint64(i + 1), Category: &c})
	}
	for _, p := range st.Catalog() {
		ev := p.Event()
		changes = append(changes, search.Change{Seq: uint64(len(changes) + 1), Product: &ev})
	}
	// the same product twice in one batch: the later version wins, and an
	// older one after it is ignored
	flip := catalogProduct(st.JBLFlip)
	flip.Version, flip.Name = 2, "JBL Flip 7 Portable Speaker"
	v2 := flip.Event()
	v1 := catalogProduct(st.JBLFlip).Event()
	changes = append(changes, search.Change{Seq: uint64(len(changes) + 1), Product: &v2},
		search.Change{Seq: uint64(len(changes) + 2), Product: &v1})
	if err := svc.ApplyBatch(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	if svc.LastApplied() != uint64(len(changes)) {
		t.Fatalf("LastApplied %d, want %d", svc.LastApplied(), len(changes))
	}
	wantIDs(t, run(t, svc, search.Query{Text: "flip 7"}), st.JBLFlip)
	wantIDs(t, run(t, svc, search.Query{Category: "electronics"}),
		st.SonyHeadphones, st.BoseHeadphones, st.AirPods, st.JBLFlip, st.JBLClip, st.SonySpeaker, st.SamsungTV, st.LGTV)

	if err := svc.ApplyBatch(context.Background(), []search.Change{{Seq: 99}}); err == nil {
		t.Fatal("a change with neither product nor category was accepted")
	}
}

func TestCategoryChanges(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	ctx := context.Background()
	// move speakers under home: audio no longer includes them
	if err := svc.ApplyCategory(ctx, events.CategoryChanged{Op: events.OpUpsert, Slug: "speakers", Parent: "home"}, 200); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, run(t, svc, search.Query{Category: "audio"}), st.SonyHeadphones, st.BoseHeadphones, st.AirPods)
	wantIDs(t, run(t, svc, search.Query{Category: "home", Text: "speaker"}), st.JBLFlip, st.JBLClip, st.SonySpeaker)
	if err := svc.ApplyCategory(ctx, events.CategoryChanged{Op: events.OpDelete, Slug: "furniture"}, 201); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, run(t, svc, search.Query{Category: "home", Text: "sofa"}))
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	svc, err := search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := st.Seed(t, svc) + 1
	if err := svc.ApplyProduct(context.Background(), events.ProductChanged{Op: events.OpDelete, ID: st.SofaBed, Version: 2}, last); err != nil {
		t.Fatal(err)
	}
	if err := svc.ApplyStats(context.Background(), events.ProductStats{Items: []events.ProductStat{{ProductID: st.Couch, Sales: 7}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	svc, err = search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.LastApplied() != last {
		t.Fatalf("LastApplied after reopen %d, want %d", svc.LastApplied(), last)
	}
	wantIDs(t, run(t, svc, search.Query{Text: "hedphones"}), st.SonyHeadphones, st.BoseHeadphones, st.AirPods)
	wantIDs(t, run(t, svc, search.Query{Category: "home"}), st.Couch) // the tree survived
	if got := ids(run(t, svc, search.Query{Sort: search.SortPopular, PerPage: 1})); got[0] != st.Couch {
		t.Fatalf("popularity after reopen: %v", got)
	}
	// a replayed old event is still recognised as old: deletions are remembered
	if err := svc.ApplyProduct(context.Background(), catalogProduct(st.SofaBed).Event(), last+2); err != nil {
		t.Fatal(err)
	}
	if got := ids(run(t, svc, search.Query{Text: "sofa bed"})); slices.Contains(got, st.SofaBed) {
		t.Fatalf("sofa bed: %v, the deleted sofa bed is back", got)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	// a deleted index reopens empty, asking for a replay
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	svc, err = search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if svc.LastApplied() != 0 {
		t.Fatalf("LastApplied of a new index %d", svc.LastApplied())
	}
	if res := run(t, svc, search.Query{}); res.Total != 0 {
		t.Fatalf("new index has %d documents", res.Total)
	}
	all := search.FacetSet{Brand: true, Category: true, Price: true}
	if res := run(t, svc, search.Query{Text: "hedphones", Facets: all}); res.Total != 0 {
		t.Fatalf("new index finds %d documents", res.Total)
	}
}

func TestCorruptIndexIsRecreated(t *testing.T) {
	dir := t.TempDir()
	svc, err := search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Seed(t, svc)
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "index_meta.json"))
	if len(metas) != 1 {
		t.Fatalf("index_meta.json: %v", metas)
	}
	if err := os.WriteFile(metas[0], []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err = search.Open(dir, search.Options{})
	if err != nil {
		t.Fatalf("reopen corrupt: %v", err)
	}
	defer svc.Close()
	if svc.LastApplied() != 0 || run(t, svc, search.Query{}).Total != 0 {
		t.Fatalf("corrupt index reopened with LastApplied %d", svc.LastApplied())
	}
	st.Seed(t, svc) // and it works
	wantIDs(t, run(t, svc, search.Query{Text: "couch"}), st.Couch)
}

func TestIndexHeldByAnotherOpen(t *testing.T) {
	dir := t.TempDir()
	svc, err := search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := search.Open(dir, search.Options{}); err == nil || !strings.Contains(err.Error(), "held open") {
		t.Fatalf("second open: %v", err)
	}
}

func TestValidation(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	for _, tc := range []struct {
		q     search.Query
		field string
	}{
		{search.Query{PerPage: 101}, "per_page"},
		{search.Query{Page: -1}, "page"},
		{search.Query{Page: 101, PerPage: 100}, "page"},
		{search.Query{Sort: "cheapest"}, "sort"},
		{search.Query{Text: strings.Repeat("a", search.MaxQueryLen+1)}, "q"},
		{search.Query{Text: "\xff"}, "q"},
		{search.Query{Category: "Not A Slug"}, "category"},
		{search.Query{MinPrice: ptr[int64](10), MaxPrice: ptr[int64](5)}, "max_price"},
		{search.Query{Brands: []string{" "}}, "brand"},
	} {
		_, err := svc.Search(context.Background(), tc.q)
		var e *errs.Error
		if !errs.Is(err, errs.KindInvalid) || !errorsAs(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
			t.Errorf("%+v: got %v, want invalid %s", tc.q, err, tc.field)
		}
	}
	// page*per_page at the bound is fine
	if _, err := svc.Search(context.Background(), search.Query{Page: 100, PerPage: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Search(context.Background(), search.Query{Text: strings.Repeat("é", search.MaxQueryLen)}); err != nil {
		t.Fatalf("200 characters: %v", err)
	}
}

func errorsAs(err error, e **errs.Error) bool {
	var ok bool
	*e, ok = err.(*errs.Error)
	return ok
}

func TestSuggest(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{})
	ctx := context.Background()
	names := func(text string) []string {
		t.Helper()
		sg, err := svc.Suggest(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range sg {
			out = append(out, s.Name)
		}
		return out
	}
	if got := names("sony w"); !slices.Equal(got, []string{"Sony WH-1000XM5 Wireless Noise Cancelling Headphones"}) {
		t.Fatalf("sony w: %v", got)
	}
	if got := names("portble sp"); !sameSet(got, []string{"JBL Flip 6 Portable Speaker", "JBL Clip 4 Portable Speaker"}) {
		t.Fatalf("portble sp: %v", got)
	}
	if got := names("s"); len(got) == 0 || len(got) > search.MaxSuggestions {
		t.Fatalf("s: %v", got)
	}
	if got := names("  "); len(got) != 0 {
		t.Fatalf("blank: %v", got)
	}
	sg, _ := svc.Suggest(ctx, "televi")
	if len(sg) != 2 || !strings.Contains(sg[0].Highlight, "<mark>Television</mark>") {
		t.Fatalf("televi: %+v", sg)
	}
	if _, err := svc.Suggest(ctx, strings.Repeat("x", 201)); !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("long suggest query: %v", err)
	}
}

type collector struct {
	mu  sync.Mutex
	got []events.SearchPerformed
	ch  chan struct{}
}

func (c *collector) RecordSearches(evs []events.SearchPerformed) {
	for _, ev := range evs {
		c.mu.Lock()
		c.got = append(c.got, ev)
		c.mu.Unlock()
		c.ch <- struct{}{}
	}
}

func TestRecordsSearches(t *testing.T) {
	rec := &collector{ch: make(chan struct{}, 10)}
	svc, _ := openCatalog(t, search.Options{Recorder: rec})
	run(t, svc, search.Query{Text: "  Hedphones  "})
	run(t, svc, search.Query{Category: "audio"}) // browsing is not a search
	run(t, svc, search.Query{Text: "zeppelin"})
	run(t, svc, search.Query{Text: "speaker", Brands: []string{"Apple"}}) // known words, filtered out
	for range 3 {
		select {
		case <-rec.ch:
		case <-time.After(10 * time.Second):
			t.Fatal("search events did not arrive")
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) != 3 || rec.got[0].Query != "hedphones" || rec.got[0].Results != 3 || rec.got[0].Unknown != nil ||
		rec.got[1].Query != "zeppelin" || rec.got[1].Results != 0 || !slices.Equal(rec.got[1].Unknown, []string{"zeppelin"}) ||
		rec.got[2].Results != 0 || rec.got[2].Unknown != nil {
		t.Fatalf("events %+v", rec.got)
	}
	for _, ev := range rec.got {
		if id, err := uuid.Parse(ev.ID); err != nil || id.Version() != 7 || ev.At.IsZero() {
			t.Fatalf("event id %q (%v) at %v", ev.ID, err, ev.At)
		}
	}
}

func TestStatus(t *testing.T) {
	streamLast := uint64(30)
	svc, _ := openCatalog(t, search.Options{StreamLast: func(context.Context) (uint64, error) { return streamLast, nil }})
	s, err := svc.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	applied := uint64(len(st.Categories) + len(st.Catalog()))
	if s.Documents != 10 || s.LastApplied != applied || s.LastAppliedAt == nil || *s.StreamLast != 30 || *s.Lag != 30-applied {
		t.Fatalf("status %s", mustJSON(s))
	}
}

// Searches run while events are applied; under -race this checks the
// service's own state is shared safely.
func TestConcurrentApplyAndSearch(t *testing.T) {
	svc, _ := openCatalog(t, search.Options{Recorder: recorderFunc(func(events.SearchPerformed) {})})
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		p := catalogProduct(st.JBLFlip)
		for i := range 20 {
			p.Version++
			p.Name = fmt.Sprintf("JBL Flip %d Portable Speaker", i)
			if err := svc.ApplyProduct(ctx, p.Event(), uint64(1000+i)); err != nil {
				done <- err
				return
			}
			if err := svc.ApplyCategory(ctx, events.CategoryChanged{Op: events.OpUpsert, Slug: fmt.Sprintf("c%d", i), Parent: "audio"}, uint64(2000+i)); err != nil {
				done <- err
				return
			}
		}
		done <- svc.ApplyStats(ctx, events.ProductStats{Items: []events.ProductStat{{ProductID: st.JBLFlip, Sales: 5}}})
	}()
	for range 20 {
		res := run(t, svc, search.Query{Text: "speaker", Category: "audio", Facets: search.FacetSet{Brand: true, Category: true, Price: true}})
		if res.Total != 3 {
			t.Fatalf("total %d during updates", res.Total)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if svc.LastApplied() != 2019 {
		t.Fatalf("LastApplied %d", svc.LastApplied())
	}
}
