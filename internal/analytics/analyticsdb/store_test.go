package analyticsdb_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// TestStoreContract runs one suite against every implementation of
// analytics.Store: SQLite and PostgreSQL.
func TestStoreContract(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			open := func(t *testing.T) analytics.Store {
				s, err := analyticsdb.Open(context.Background(), sqltest.Config(t, d, "analytics"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			t.Run("OutcomesOfEvents", func(t *testing.T) { testOutcomes(t, open(t)) })
			t.Run("KnownProductsFollowVersions", func(t *testing.T) { testKnownProducts(t, open(t)) })
			t.Run("TopProductsAcrossMinuteAndHourRollups", func(t *testing.T) { testTopProducts(t, open(t)) })
			t.Run("Searches", func(t *testing.T) { testSearches(t, open(t)) })
			t.Run("SummaryBuckets", func(t *testing.T) { testSummary(t, open(t)) })
			t.Run("UnpublishedTotals", func(t *testing.T) { testUnpublishedTotals(t, open(t)) })
			t.Run("Prune", func(t *testing.T) { testPrune(t, open(t)) })
			t.Run("ShopperGate", func(t *testing.T) { testShopperGate(t, open(t)) })
			t.Run("ConcurrentShopperBatchesShareTheCap", func(t *testing.T) { testShopperCapRace(t, open(t)) })
			t.Run("ConcurrentReplaysCountOnce", func(t *testing.T) { testConcurrentReplays(t, open(t)) })
			t.Run("Reopen", func(t *testing.T) { testReopen(t, d) })
		})
	}
}

// t0 is the start of an hour; tests place events around it.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func known(t *testing.T, s analytics.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.SetProduct(context.Background(), analytics.ProductState{ID: id, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

func view(id, product string, at time.Time) analytics.Event {
	return analytics.Event{ID: id, Type: analytics.TypeView, ProductID: product, Quantity: 1, At: at}
}

func purchase(id, product string, units int64, at time.Time) analytics.Event {
	return analytics.Event{ID: id, Type: analytics.TypePurchase, ProductID: product, Quantity: units, At: at}
}

func cart(id, product string, at time.Time) analytics.Event {
	return analytics.Event{ID: id, Type: analytics.TypeAddToCart, ProductID: product, Quantity: 2, At: at}
}

func record(t *testing.T, s analytics.Store, evs ...analytics.Event) []analytics.Outcome {
	t.Helper()
	out, err := s.RecordEvents(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(evs) {
		t.Fatalf("%d outcomes for %d events", len(out), len(evs))
	}
	return out
}

func assertOutcomes(t *testing.T, got []analytics.Outcome, want ...analytics.Outcome) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
}

func top(t *testing.T, s analytics.Store, m analytics.Metric, from time.Time, limit int) []analytics.ProductValue {
	t.Helper()
	items, err := s.TopProducts(context.Background(), m, from, limit)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func assertTop[T any](t *testing.T, got []T, want ...T) {
	t.Helper()
	if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

const (
	A = analytics.Accepted
	D = analytics.Duplicate
	U = analytics.UnknownProduct
)

func testOutcomes(t *testing.T, s analytics.Store) {
	known(t, s, "p1", "p2")
	assertOutcomes(t, record(t, s,
		view("e1", "p1", t0),
		view("e2", "nope", t0), // unknown product
		view("e1", "p1", t0),   // the same id again in the batch
		purchase("e3", "p2", 3, t0),
	), A, U, D, A)
	// A replay counts nothing; the unknown product's id was not taken, so it
	// counts once the product is known.
	known(t, s, "nope")
	assertOutcomes(t, record(t, s, view("e1", "p1", t0), view("e2", "nope", t0), purchase("e3", "p2", 3, t0)), D, A, D)
	assertTop(t, top(t, s, analytics.MetricViews, t0, 10), analytics.ProductValue{ProductID: "nope", Value: 1}, analytics.ProductValue{ProductID: "p1", Value: 1})
	assertTop(t, top(t, s, analytics.MetricSales, t0, 10), analytics.ProductValue{ProductID: "p2", Value: 3})
	if out, err := s.RecordEvents(context.Background(), nil); err != nil || len(out) != 0 {
		t.Fatalf("empty batch: %v, %v", out, err)
	}
}

func testKnownProducts(t *testing.T, s analytics.Store) {
	ctx := context.Background()
	set := func(version int64, deleted bool) {
		t.Helper()
		if err := s.SetProduct(ctx, analytics.ProductState{ID: "p", Version: version, Deleted: deleted}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	try := func(want analytics.Outcome) {
		t.Helper()
		n++
		assertOutcomes(t, record(t, s, view(fmt.Sprint("e", n), "p", t0)), want)
	}
	try(U)
	set(2, false)
	try(A)
	set(3, true)
	try(U)
	set(2, false) // a late, older upsert does not revive it
	try(U)
	set(3, false) // nor does one at the deletion's version
	try(U)
	set(4, false)
	try(A)
	set(4, true) // at the same version a deletion wins
	try(U)
}

func testTopProducts(t *testing.T, s analytics.Store) {
	known(t, s, "p1", "p2", "p3")
	record(t, s,
		view("a", "p1", t0.Add(-90*time.Minute)), // in the hour before the window's first whole hour
		view("b", "p1", t0.Add(-70*time.Minute)),
		view("c", "p2", t0.Add(-50*time.Minute)),
		view("d", "p2", t0.Add(-50*time.Minute+30*time.Second)),
		view("e", "p3", t0.Add(10*time.Minute)),
		purchase("f", "p3", 5, t0.Add(11*time.Minute)),
		purchase("g", "p1", 2, t0.Add(-73*time.Minute)),
		cart("h", "p2", t0),
	)
	p := func(id string, v int64) analytics.ProductValue {
		return analytics.ProductValue{ProductID: id, Value: v}
	}
	// From 10:00-75min = 08:45: the minutes 08:45-08:59 from the minute
	// rollup, the hours 09:00 on from the hourly one.
	from := t0.Add(-75 * time.Minute)
	assertTop(t, top(t, s, analytics.MetricViews, from, 10), p("p2", 2), p("p1", 1), p("p3", 1))
	assertTop(t, top(t, s, analytics.MetricViews, t0.Add(-2*time.Hour), 10), p("p1", 2), p("p2", 2), p("p3", 1))
	assertTop(t, top(t, s, analytics.MetricViews, t0.Add(-2*time.Hour), 1), p("p1", 2))
	assertTop(t, top(t, s, analytics.MetricViews, t0.Add(-49*time.Minute), 10), p("p3", 1))
	assertTop(t, top(t, s, analytics.MetricSales, from, 10), p("p3", 5), p("p1", 2))
	assertTop(t, top(t, s, analytics.MetricSales, t0.Add(-72*time.Minute), 10), p("p3", 5))
	// Carts alone put a product in neither ranking.
	assertTop(t, top(t, s, analytics.MetricSales, t0, 10), p("p3", 5))
}

func testSearches(t *testing.T, s analytics.Store) {
	ctx := context.Background()
	searches := []analytics.Search{
		{ID: "s1", Query: "shoes", Results: 4, At: t0},
		{ID: "s2", Query: "shoes", Results: 0, At: t0.Add(time.Minute)},
		{ID: "s3", Query: "hat", Results: 0, At: t0},
		{ID: "s4", Query: "hat", Results: 0, At: t0.Add(-2 * time.Hour)},
		{ID: "s5", Query: "lamp", Results: 1, At: t0},
		{ID: "s1", Query: "shoes", Results: 4, At: t0}, // redelivered in the batch
		{ID: "s6", Query: "", Results: 9, At: t0},      // browsing: summary only
	}
	fresh, err := s.RecordSearches(ctx, searches)
	if err != nil {
		t.Fatal(err)
	}
	assertTop(t, fresh, true, true, true, true, true, false, true)
	fresh, err = s.RecordSearches(ctx, searches[:2])
	if err != nil {
		t.Fatal(err)
	}
	assertTop(t, fresh, false, false)
	q := func(query string, n int64) analytics.QueryCount { return analytics.QueryCount{Query: query, Count: n} }
	topSearches := func(kind analytics.SearchKind, from time.Time) []analytics.QueryCount {
		t.Helper()
		items, err := s.TopSearches(ctx, kind, from, 10)
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	assertTop(t, topSearches(analytics.SearchTop, t0.Add(-time.Hour)), q("shoes", 2), q("hat", 1), q("lamp", 1))
	assertTop(t, topSearches(analytics.SearchTop, t0.Add(-3*time.Hour)), q("hat", 2), q("shoes", 2), q("lamp", 1))
	assertTop(t, topSearches(analytics.SearchZeroResults, t0.Add(-3*time.Hour)), q("hat", 2), q("shoes", 1))

	// the zero-results report shows the words the catalog did not know,
	// as the latest search of each query said
	_, err = s.RecordSearches(ctx, []analytics.Search{
		{ID: "u1", Query: "zeppelin poster", Results: 0, At: t0, Unknown: []string{"zeppelin", "poster"}},
		{ID: "u2", Query: "zeppelin poster", Results: 0, At: t0.Add(time.Minute), Unknown: []string{"zeppelin"}},
		{ID: "u3", Query: "zeppelin poster", Results: 0, At: t0.Add(-time.Minute), Unknown: []string{"poster"}}, // older
	})
	if err != nil {
		t.Fatal(err)
	}
	zero := topSearches(analytics.SearchZeroResults, t0.Add(-3*time.Hour))
	if len(zero) != 3 || zero[0].Query != "zeppelin poster" || !slices.Equal(zero[0].UnknownWords, []string{"zeppelin"}) ||
		zero[1].UnknownWords != nil || zero[2].UnknownWords != nil {
		t.Fatalf("zero-results report %+v, want zeppelin poster first with its unknown word", zero)
	}
	buckets, err := s.Summary(ctx, t0.Add(-3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var total analytics.Counters
	for _, b := range buckets {
		total.Add(b.Counters)
	}
	if total != (analytics.Counters{Searches: 9, ZeroResultSearches: 6}) { // the zeppelin searches included
		t.Fatalf("summary totals %+v", total)
	}
}

func testSummary(t *testing.T, s analytics.Store) {
	known(t, s, "p1", "p2")
	record(t, s,
		view("a", "p1", t0),
		view("b", "p2", t0.Add(30*time.Second)),
		cart("c", "p1", t0.Add(4*time.Minute)),
		purchase("d", "p1", 3, t0.Add(5*time.Minute)),
		view("e", "p1", t0.Add(-time.Minute)),
	)
	if _, err := s.RecordSearches(context.Background(), []analytics.Search{{ID: "s", Query: "x", Results: 0, At: t0.Add(6 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	summary := func(from time.Time, bucket time.Duration) []analytics.SummaryBucket {
		t.Helper()
		b, err := s.Summary(context.Background(), from, bucket)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := func(at time.Time, c analytics.Counters) analytics.SummaryBucket {
		return analytics.SummaryBucket{Start: at, Counters: c}
	}
	assertTop(t, summary(t0, time.Minute),
		b(t0, analytics.Counters{Views: 2}),
		b(t0.Add(4*time.Minute), analytics.Counters{AddToCart: 1}),
		b(t0.Add(5*time.Minute), analytics.Counters{Purchases: 1, UnitsSold: 3}),
		b(t0.Add(6*time.Minute), analytics.Counters{Searches: 1, ZeroResultSearches: 1}))
	assertTop(t, summary(t0.Add(-10*time.Minute), 5*time.Minute),
		b(t0.Add(-5*time.Minute), analytics.Counters{Views: 1}),
		b(t0, analytics.Counters{Views: 2, AddToCart: 1}),
		b(t0.Add(5*time.Minute), analytics.Counters{Purchases: 1, UnitsSold: 3, Searches: 1, ZeroResultSearches: 1}))
	// Buckets are aligned on the clock, not on from; minutes before from are left out.
	assertTop(t, summary(t0.Add(2*time.Minute), time.Hour),
		b(t0, analytics.Counters{AddToCart: 1, Purchases: 1, UnitsSold: 3, Searches: 1, ZeroResultSearches: 1}))
}

func unpublished(t *testing.T, s analytics.Store, after string, limit int) []analytics.ProductTotals {
	t.Helper()
	totals, err := s.UnpublishedTotals(context.Background(), after, limit)
	if err != nil {
		t.Fatal(err)
	}
	return totals
}

func testUnpublishedTotals(t *testing.T, s analytics.Store) {
	ctx := context.Background()
	known(t, s, "p1", "p2", "p3")
	record(t, s, view("a", "p1", t0), purchase("b", "p2", 4, t0), cart("c", "p3", t0), view("d", "p1", t0.Add(time.Hour)))
	got := unpublished(t, s, "", 10)
	if len(got) != 2 || got[0].ProductID != "p1" || got[0].Views != 2 || got[1].ProductID != "p2" ||
		got[1].UnitsSold != 4 || got[1].Purchases != 1 {
		t.Fatalf("unpublished %+v; want p1 (2 views) and p2 (4 units), not p3 (carts only)", got)
	}
	assertTop(t, unpublished(t, s, "p1", 10), got[1])
	assertTop(t, unpublished(t, s, "", 1), got[0])

	// p2 changes after it was read: marking what was read leaves it to publish again.
	record(t, s, purchase("e", "p2", 1, t0))
	if err := s.MarkPublished(ctx, got); err != nil {
		t.Fatal(err)
	}
	again := unpublished(t, s, "", 10)
	if len(again) != 1 || again[0].ProductID != "p2" || again[0].UnitsSold != 5 {
		t.Fatalf("after mark: %+v, want p2 with 5 units", again)
	}
	if err := s.MarkPublished(ctx, again); err != nil {
		t.Fatal(err)
	}
	if left := unpublished(t, s, "", 10); len(left) != 0 {
		t.Fatalf("after marking everything: %+v", left)
	}
	// An old mark (a slow instance) does not move published_rev back.
	if err := s.MarkPublished(ctx, got); err != nil {
		t.Fatal(err)
	}
	if left := unpublished(t, s, "", 10); len(left) != 0 {
		t.Fatalf("after a stale mark: %+v", left)
	}
	// Carts change the totals but not what stats carry.
	record(t, s, cart("f", "p1", t0))
	if left := unpublished(t, s, "", 10); len(left) != 0 {
		t.Fatalf("after a cart: %+v", left)
	}
	record(t, s, view("g", "p3", t0))
	if left := unpublished(t, s, "", 10); len(left) != 1 || left[0].ProductID != "p3" || left[0].AddToCart != 1 || left[0].Views != 1 {
		t.Fatalf("after a view of p3: %+v", left)
	}
}

func testPrune(t *testing.T, s analytics.Store) {
	ctx := context.Background()
	known(t, s, "p1")
	old, recent := t0.Add(-9*24*time.Hour), t0.Add(-time.Hour)
	record(t, s, view("old", "p1", old), view("recent", "p1", recent))
	if _, err := s.RecordSearches(ctx, []analytics.Search{{ID: "s-old", Query: "q", At: old}, {ID: "s-recent", Query: "q", At: recent}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx, t0.Add(-8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	longAgo := t0.Add(-30 * 24 * time.Hour)
	assertTop(t, top(t, s, analytics.MetricViews, longAgo, 10), analytics.ProductValue{ProductID: "p1", Value: 1})
	searches, err := s.TopSearches(ctx, analytics.SearchTop, longAgo, 10)
	if err != nil {
		t.Fatal(err)
	}
	assertTop(t, searches, analytics.QueryCount{Query: "q", Count: 1})
	buckets, err := s.Summary(ctx, longAgo, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) != 1 || buckets[0].Views != 1 || buckets[0].Searches != 1 {
		t.Fatalf("summary after prune: %+v", buckets)
	}
	// The pruned ids are forgotten, the recent ones not; totals are all-time.
	assertOutcomes(t, record(t, s, view("old", "p1", old), view("recent", "p1", recent)), A, D)
	if totals := unpublished(t, s, "", 10); len(totals) != 1 || totals[0].Views != 3 {
		t.Fatalf("totals after prune: %+v", totals)
	}
}

// testConcurrentReplays sends one batch from several goroutines at once, in
// different orders: every event counts exactly once and no transaction
// deadlocks (on PostgreSQL rows are locked in one order).
func testConcurrentReplays(t *testing.T, s analytics.Store) {
	known(t, s, "p1", "p2", "p3")
	var batch []analytics.Event
	for i := range 60 {
		batch = append(batch, purchase(fmt.Sprint("e", i), fmt.Sprint("p", 1+i%3), 1, t0.Add(time.Duration(i%4)*time.Minute)))
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := slices.Clone(batch)
			if g%2 == 1 {
				slices.Reverse(evs)
			}
			out, err := s.RecordEvents(context.Background(), evs)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, o := range out {
				if o == analytics.Accepted {
					accepted++
				}
			}
		}()
	}
	wg.Wait()
	if accepted != len(batch) {
		t.Fatalf("%d events accepted across replays, want %d", accepted, len(batch))
	}
	p := func(id string, v int64) analytics.ProductValue {
		return analytics.ProductValue{ProductID: id, Value: v}
	}
	assertTop(t, top(t, s, analytics.MetricSales, t0, 10), p("p1", 20), p("p2", 20), p("p3", 20))
}

// testReopen checks the migrations are applied once: a second Open of the
// same database finds the data.
func testReopen(t *testing.T, d sqldb.Dialect) {
	ctx := context.Background()
	cfg := sqltest.Config(t, d, "analytics")
	s, err := analyticsdb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	known(t, s, "p1")
	s.Close()
	s, err = analyticsdb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertOutcomes(t, record(t, s, view("e", "p1", t0)), A)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

const (
	R = analytics.Repeated
	O = analytics.OverCap
)

func gateOf(shopper string, window time.Time, cap int) analytics.ShopperGate {
	return analytics.ShopperGate{Shopper: []byte(shopper), Window: window, Hour: window.Truncate(time.Hour), Cap: cap}
}

func recordShopper(t *testing.T, s analytics.Store, g analytics.ShopperGate, evs ...analytics.Event) []analytics.Outcome {
	t.Helper()
	out, err := s.RecordShopperEvents(context.Background(), g, evs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testShopperGate(t *testing.T, s analytics.Store) {
	known(t, s, "p1", "p2", "p3")
	w1, w2 := t0, t0.Add(30*time.Minute)
	ada, bob := gateOf("ada", w1, 4), gateOf("bob", w1, 4)
	assertOutcomes(t, recordShopper(t, s, ada,
		view("a1", "p1", t0), view("a2", "p1", t0), // the second view of p1 repeats the first
		cart("a3", "p1", t0),   // another type counts on its own
		view("a4", "nope", t0), // unknown products are no shopper's business
		view("a1", "p2", t0),   // nor are duplicate ids
	), A, R, A, U, D)
	assertOutcomes(t, recordShopper(t, s, ada, view("a5", "p1", t0)), R)                  // a later batch of the window
	assertOutcomes(t, recordShopper(t, s, bob, view("b1", "p1", t0)), A)                  // another shopper
	assertOutcomes(t, recordShopper(t, s, gateOf("ada", w2, 4), view("a6", "p1", t0)), A) // the next window
	// ada had three counted this hour; of three new products, one fits.
	assertOutcomes(t, recordShopper(t, s, gateOf("ada", w2, 4), view("a7", "p2", t0), view("a8", "p3", t0), cart("a9", "p2", t0)), A, O, O)
	// A retry of what was not counted is a duplicate, not a second chance.
	assertOutcomes(t, recordShopper(t, s, gateOf("ada", w2, 10), view("a8", "p3", t0)), D)
	// Nor does a product recorded past the cap count later in the window.
	assertOutcomes(t, recordShopper(t, s, gateOf("ada", w2, 10), view("a10", "p3", t0)), R)

	p := func(id string, v int64) analytics.ProductValue {
		return analytics.ProductValue{ProductID: id, Value: v}
	}
	assertTop(t, top(t, s, analytics.MetricViews, t0, 10), p("p1", 3), p("p2", 1))
	if got := unpublished(t, s, "", 10); len(got) != 2 || got[0].Views != 3 || got[0].AddToCart != 1 || got[1].Views != 1 {
		t.Fatalf("totals %+v", got)
	}

	// Once pruned, a window is forgotten.
	if err := s.PruneShoppers(context.Background(), w2.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	assertOutcomes(t, recordShopper(t, s, gateOf("ada", w2, 4), view("a11", "p1", t0)), A)
}

// testShopperCapRace: batches of one shopper at once never have more than
// the cap counted between them.
func testShopperCapRace(t *testing.T, s analytics.Store) {
	var products []string
	for i := range 40 {
		products = append(products, fmt.Sprint("q", i))
	}
	known(t, s, products...)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var evs []analytics.Event
			for i := range 10 {
				evs = append(evs, view(fmt.Sprint("g", g, "-", i), products[g*10+i], t0))
			}
			out, err := s.RecordShopperEvents(context.Background(), gateOf("ada", t0, 15), evs)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, o := range out {
				if o == analytics.Accepted {
					accepted++
				}
			}
		}()
	}
	wg.Wait()
	if accepted != 15 {
		t.Fatalf("%d events counted, want the cap of 15", accepted)
	}
}
