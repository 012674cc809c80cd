package analyticshttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

func TestIngestMixedBatch(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(
		view("v1", "p1", now.Add(-time.Minute)),                                     // 0: good
		ev{"id": "c1", "type": "click", "product_id": "p1"},                         // 1: unknown type
		view("f1", "p1", now.Add(10*time.Minute)),                                   // 2: future beyond the skew
		purchase("b1", "p2", 3, now.Add(-time.Hour)),                                // 3: good
		view("u1", "p404", now),                                                     // 4: unknown product
		view("o1", "p1", now.Add(-8*24*time.Hour)),                                  // 5: older than 7 days
		purchase("q0", "p1", 0, now),                                                // 6: quantity below 1
		ev{"id": "q1", "type": "add_to_cart", "product_id": "p1", "quantity": 1001}, // 7: above 1000
		ev{"type": "view", "product_id": "p1"},                                      // 8: no id
		view(strings.Repeat("x", 65), "p1", now),                                    // 9: id too long
		ev{"id": "m1", "type": "view", "product_id": "p1", "color": "red"},          // 10: unknown field
		ev{"id": "m2", "type": "purchase", "product_id": "p1", "quantity": "two"},   // 11: not a number
		"not an event",                          // 12
		ev{"id": "n1", "type": "view"},          // 13: no product
		cart("a1", "p3", now.Add(-2*time.Hour)), // 14: good
		ev{"id": "t1", "type": "view", "product_id": "p1", "at": "yesterday"}, // 15: not a time
		view("s1", "p1", now.Add(2*time.Minute)),                              // 16: good, within the skew
		ev{"id": "w1", "type": "view", "product_id": "p1", "quantity": 2},     // 17: views have no quantity
		ev{"id": "g1", "type": "purchase", "product_id": "p2"},                // 18: good, one unit
	)
	if res.Accepted != 5 || res.Duplicates != 0 || res.Rejected != 14 {
		t.Fatalf("accepted %d, duplicates %d, rejected %d; want 5, 0, 14", res.Accepted, res.Duplicates, res.Rejected)
	}
	type fault struct {
		index     int
		id, field string
	}
	want := []fault{
		{1, "c1", "type"}, {2, "f1", "at"}, {4, "u1", "product_id"}, {5, "o1", "at"}, {6, "q0", "quantity"},
		{7, "q1", "quantity"}, {8, "", "id"}, {9, strings.Repeat("x", 65), "id"}, {10, "m1", "color"},
		{11, "m2", "quantity"}, {12, "", "event"}, {13, "n1", "product_id"}, {15, "t1", "at"}, {17, "w1", "quantity"},
	}
	var got []fault
	for _, e := range res.Errors {
		got = append(got, fault{e.Index, e.ID, e.Field})
		if e.Detail == "" {
			t.Errorf("item %d: error on %s without a detail", e.Index, e.Field)
		}
	}
	// Item 8 lacks only its id; 13 lacks only its product.
	if !slices.Equal(got, want) {
		t.Fatalf("errors:\n got %+v\nwant %+v", got, want)
	}
	if d := res.Errors[2].Detail; d != "unknown product" {
		t.Fatalf("unknown product detail %q", d)
	}

	// What was accepted is counted, at its time (the skewed one now).
	var s analytics.Summary
	f.get("/api/analytics/summary?window=24h", &s)
	wantTotals := analytics.Counters{Views: 2, AddToCart: 1, Purchases: 2, UnitsSold: 4}
	if s.Totals != wantTotals {
		t.Fatalf("totals %+v, want %+v", s.Totals, wantTotals)
	}
}

func TestIngestReplayedBatchCountsOnce(t *testing.T) {
	f := newFixture(t)
	batch := []any{
		view("e1", "p1", now.Add(-time.Minute)),
		purchase("e2", "p2", 2, now.Add(-time.Minute)),
		view("e1", "p1", now.Add(-time.Minute)), // the client sent it twice
	}
	if res := f.ingest(batch...); res.Accepted != 2 || res.Duplicates != 1 || res.Rejected != 0 || len(res.Errors) != 0 {
		t.Fatalf("first delivery: %+v", res)
	}
	if res := f.ingest(batch...); res.Accepted != 0 || res.Duplicates != 3 || res.Rejected != 0 {
		t.Fatalf("replay: %+v", res)
	}
	var s analytics.Summary
	f.get("/api/analytics/summary?window=1h", &s)
	if want := (analytics.Counters{Views: 1, Purchases: 1, UnitsSold: 2}); s.Totals != want {
		t.Fatalf("totals %+v, want %+v", s.Totals, want)
	}
}

func TestIngestRefusesWhatIsNotABatch(t *testing.T) {
	f := newFixture(t)
	var big strings.Builder
	big.WriteString(`{"events":[`)
	for i := range analytics.MaxBatch + 1 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `{"id":"e%d","type":"view","product_id":"p1"}`, i)
	}
	big.WriteString(`]}`)
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"501 events", "application/json", big.String(), http.StatusRequestEntityTooLarge, "events"},
		{"not JSON", "application/json", "events=1", http.StatusBadRequest, ""},
		{"plain text", "text/plain", `{"events":[]}`, http.StatusUnsupportedMediaType, ""},
		{"no events", "application/json", `{}`, http.StatusBadRequest, "events"},
		{"events null", "application/json", `{"events":null}`, http.StatusBadRequest, "events"},
		{"events not an array", "application/json", `{"events":{}}`, http.StatusBadRequest, "events"},
		{"an array", "application/json", `[]`, http.StatusBadRequest, ""},
		{"unknown field", "application/json", `{"events":[],"source":"web"}`, http.StatusBadRequest, "source"},
		{"two values", "application/json", `{"events":[]} {}`, http.StatusBadRequest, ""},
		{"stray bracket", "application/json", `{"events":[]}}`, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := problemFields(t, f.do("POST", "/api/analytics/events", "", tc.contentType, tc.body), tc.status)
			if tc.field != "" && !slices.Contains(fields, tc.field) {
				t.Fatalf("problem names %v, want %q", fields, tc.field)
			}
		})
	}
	// Nothing of the refused batch was counted: its first event is new.
	if res := f.ingest(view("e0", "p1", now)); res.Accepted != 1 {
		t.Fatalf("after the refused batch: %+v", res)
	}
	// An empty batch is a batch.
	if res := f.ingest(); res.Accepted != 0 || res.Rejected != 0 || res.Errors == nil {
		t.Fatalf("empty batch: %+v", res)
	}
}

func TestIngestFollowsTheCatalog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	apply := func(op string, version int64) {
		t.Helper()
		if err := f.svc.ApplyProduct(ctx, events.ProductChanged{Op: op, ID: "p1", Version: version}); err != nil {
			t.Fatal(err)
		}
	}
	apply(events.OpDelete, 2)
	if res := f.ingest(view("e1", "p1", now)); res.Rejected != 1 || res.Errors[0].Detail != "unknown product" {
		t.Fatalf("event of a deleted product: %+v", res)
	}
	apply(events.OpUpsert, 1) // redelivered late: the deletion stands
	if res := f.ingest(view("e1", "p1", now)); res.Rejected != 1 {
		t.Fatalf("after a stale upsert: %+v", res)
	}
	apply(events.OpUpsert, 3)
	if res := f.ingest(view("e1", "p1", now)); res.Accepted != 1 {
		t.Fatalf("after the product came back: %+v", res)
	}
	for _, bad := range []events.ProductChanged{{Op: "rename", ID: "p1"}, {Op: events.OpUpsert, ID: ""}} {
		if err := f.svc.ApplyProduct(ctx, bad); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("ApplyProduct(%+v): %v, want KindInvalid", bad, err)
		}
	}
}

// FuzzIngestBatch posts arbitrary bodies to the events endpoint. Each is
// either refused whole with a 4xx problem, or answered 202 with one fate
// per item: accepted + duplicates + rejected is the number of items, and
// every error points at an item in order and names a field. Never a 500.
func FuzzIngestBatch(f *testing.F) {
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	for _, seed := range []string{
		`{"events":[]}`,
		`{"events":[{"id":"a","type":"view","product_id":"p1"}]}`,
		`{"events":[{"id":"a","type":"purchase","product_id":"p2","quantity":3,"at":"` + at(-time.Hour) + `"},{"id":"a","type":"view","product_id":"p1"}]}`,
		`{"events":[{"id":"b","type":"add_to_cart","product_id":"p3","quantity":1000,"at":"` + at(4*time.Minute) + `"}]}`,
		`{"events":[{"id":"c","type":"click","product_id":"p9","quantity":-1,"at":"` + at(-8*24*time.Hour) + `"}]}`,
		`{"events":[{"id":"d","type":"view","product_id":"p1","at":"` + at(time.Hour) + `"},null,1,"x",[],{}]}`,
		`{"events":[{"id":"e","type":"purchase","product_id":"p1","quantity":1e30}]}`,
		`{"events":[{"id":"f","type":"view","product_id":"p1","extra":{"deep":[1,2]}}]}`,
		`{"events":[{"id":"\u0000","type":"view","product_id":"p\u00e9"}]}`,
		`{"events":[{"id":"g","type":"view","product_id":"p1","at":"2026-02-30T25:00:00Z"}]}`,
		`{"events":{}}`, `{"events":null}`, `{}`, `[]`, `null`, ``, `{"events":[`, `{"events":[]}x`,
	} {
		f.Add([]byte(seed))
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		// As the checkout, which may send every type of event.
		w := fx.do("POST", "/api/analytics/events", fx.checkout, "application/json", string(body))
		if w.Code != http.StatusAccepted {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%q: status %d: %s", body, w.Code, w.Body)
			}
			problemFields(t, w, w.Code)
			return
		}
		var envelope struct{ Events []json.RawMessage }
		if err := json.Unmarshal(body, &envelope); err != nil {
			t.Fatalf("%q accepted but not a batch: %v", body, err)
		}
		n := len(envelope.Events)
		var res analytics.IngestResult
		decode(t, w, &res)
		if res.Accepted+res.Duplicates+res.Rejected != n || n > analytics.MaxBatch {
			t.Fatalf("%q: %d items, result %+v", body, n, res)
		}
		rejected, last := 0, -1
		for _, e := range res.Errors {
			if e.Index < last || e.Index >= n || e.Field == "" || e.Detail == "" {
				t.Fatalf("%q: bad item error %+v in %+v", body, e, res.Errors)
			}
			if e.Index != last {
				rejected++
			}
			last = e.Index
		}
		if rejected != res.Rejected {
			t.Fatalf("%q: %d items with errors, %d rejected", body, rejected, res.Rejected)
		}
	})
}
