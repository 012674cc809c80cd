package analyticshttp_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/events"
)

// Only the checkout service reports purchases: from anyone else a batch
// holding one is refused whole, naming each purchase by its place in the
// request, and nothing of it is recorded.
func TestPurchasesNeedACredential(t *testing.T) {
	f := newFixture(t)
	body := batchBody(t,
		view("v1", "p1", now),
		"not an event", // malformed items keep their place in the count
		cart("c1", "p2", now),
		purchase("b1", "p2", 1000, now),
		purchase("b2", "p3", 1000, now),
	)
	for _, tc := range []struct{ name, bearer string }{
		{"anonymous", ""},
		{"customer", f.customer},
		{"admin", f.admin},
		{"credential without the scope", unscopedCredential},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("POST", "/api/analytics/events", tc.bearer, "application/json", body)
			fields := problemFields(t, w, http.StatusForbidden)
			if !slices.Equal(fields, []string{"events[3].type", "events[4].type"}) {
				t.Fatalf("problem names %v, want events[3].type and events[4].type", fields)
			}
		})
	}
	problemFields(t, f.do("POST", "/api/analytics/events", "vtc_forged", "application/json", body), http.StatusUnauthorized)

	var s analytics.Summary
	f.get("/api/analytics/summary?window=1h", &s)
	if s.Totals != (analytics.Counters{}) {
		t.Fatalf("refused batches were counted: %+v", s.Totals)
	}
	res := f.ingest(view("v1", "p1", now), cart("c1", "p2", now), purchase("b1", "p2", 1000, now), purchase("b2", "p3", 1000, now))
	if res.Accepted != 4 || res.Uncounted != 0 {
		t.Fatalf("the checkout's batch: %+v", res)
	}
}

// TestOneShopperCannotMoveRankings: however many events one client sends,
// each product and type counts once per window for it, and not past its
// hourly cap; other shoppers count on their own.
func TestOneShopperCannotMoveRankings(t *testing.T) {
	f := newFixtureConfig(t, analytics.Config{ShopperCap: 4})
	var flood []any
	for i := range 200 {
		flood = append(flood, view(fmt.Sprintf("f%d", i), "p1", now))
	}
	res := f.ingestAs("", "198.51.100.7:5000", flood...)
	if res.Accepted != 200 || res.Uncounted != 199 || res.Rejected != 0 {
		t.Fatalf("a flood of views: %+v", res)
	}
	// Another connection of the same client, and another address of its
	// IPv6 /64, are the same shopper.
	if res := f.ingestAs("", "198.51.100.7:5001", view("g1", "p1", now)); res.Uncounted != 1 {
		t.Fatalf("the same client again: %+v", res)
	}
	if res := f.ingestAs("", "[2001:db8::1]:1", view("h1", "p1", now)); res.Uncounted != 0 {
		t.Fatalf("an IPv6 client: %+v", res)
	}
	if res := f.ingestAs("", "[2001:db8::2]:1", view("h2", "p1", now)); res.Uncounted != 1 {
		t.Fatalf("the same IPv6 /64: %+v", res)
	}
	// A signed-in shopper is known by account, wherever it is.
	if res := f.ingestAs(f.customer, "198.51.100.7:5000", view("u1", "p1", now), view("u2", "p1", now)); res.Uncounted != 1 {
		t.Fatalf("a customer: %+v", res)
	}
	// The hourly cap: the client had one view counted, three more fit.
	res = f.ingestAs("", "198.51.100.7:5000",
		cart("k1", "p1", now), view("k2", "p2", now), view("k3", "p3", now), cart("k4", "p2", now), cart("k5", "p3", now))
	if res.Accepted != 5 || res.Uncounted != 2 {
		t.Fatalf("past the cap: %+v", res)
	}

	var top analytics.TopProducts
	f.get("/api/analytics/top-products?metric=views&window=1h", &top)
	want := []analytics.ProductValue{{ProductID: "p1", Value: 3}, {ProductID: "p2", Value: 1}, {ProductID: "p3", Value: 1}}
	if !slices.Equal(top.Items, want) {
		t.Fatalf("top products %+v, want %+v", top.Items, want)
	}
	// What feeds bestsellers and search popularity is only what counted.
	assertSent(t, publish(t, f, &recordingPublisher{}),
		[]events.ProductStat{stat("p1", 0, 3), stat("p2", 0, 1), stat("p3", 0, 1)})
}

// Even the checkout cannot date a purchase where no report would see it
// arrive honestly, nor sell more than MaxQuantity units in one event.
func TestPurchaseBounds(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(
		purchase("b1", "p1", 1, now.Add(analytics.DefaultMaxSkew+time.Second)), // beyond the skew
		purchase("b2", "p1", 1, now.Add(-analytics.MaxAge-time.Second)),        // older than the 7d report
		ev{"id": "b3", "type": "purchase", "product_id": "p1", "quantity": analytics.MaxQuantity + 1},
		purchase("b4", "p1", 2, now.Add(-analytics.MaxAge+time.Minute)), // the oldest that counts
		purchase("b5", "p1", 3, now.Add(analytics.DefaultMaxSkew)),      // within the skew: counts now
	)
	fields := []string{}
	for _, e := range res.Errors {
		fields = append(fields, fmt.Sprint(e.Index, e.Field))
	}
	if res.Accepted != 2 || res.Rejected != 3 || !slices.Equal(fields, []string{"0at", "1at", "2quantity"}) {
		t.Fatalf("result %+v", res)
	}
	var top analytics.TopProducts
	f.get("/api/analytics/top-products?metric=sales&window=7d", &top)
	if !slices.Equal(top.Items, []analytics.ProductValue{{ProductID: "p1", Value: 5}}) {
		t.Fatalf("7d sales %+v, want the 5 units of the two accepted purchases", top.Items)
	}
}
