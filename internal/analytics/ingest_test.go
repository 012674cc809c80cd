package analytics

import (
	"strings"
	"testing"
	"time"
)

func TestCheckEventBoundaries(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	skew := 5 * time.Minute
	qty := func(n int64) *int64 { return &n }
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	for _, tc := range []struct {
		name   string
		in     ClientEvent
		fields []string // at fault; none means valid
		wantAt time.Time
	}{
		{"no time is now", ClientEvent{ID: "a", Type: TypeView, ProductID: "p"}, nil, now},
		{"at the skew limit counts now", ClientEvent{ID: "a", Type: TypeView, ProductID: "p", At: at(skew)}, nil, now},
		{"past the skew", ClientEvent{ID: "a", Type: TypeView, ProductID: "p", At: at(skew + time.Nanosecond)}, []string{"at"}, time.Time{}},
		{"exactly 7 days old", ClientEvent{ID: "a", Type: TypeView, ProductID: "p", At: at(-MaxAge)}, nil, now.Add(-MaxAge)},
		{"older", ClientEvent{ID: "a", Type: TypeView, ProductID: "p", At: at(-MaxAge - time.Second)}, []string{"at"}, time.Time{}},
		{"other zone", ClientEvent{ID: "a", Type: TypeView, ProductID: "p", At: "2026-03-02T11:00:00+01:00"}, nil, now.Add(-30 * time.Minute)},
		{"quantity 1000", ClientEvent{ID: "a", Type: TypePurchase, ProductID: "p", Quantity: qty(1000)}, nil, now},
		{"quantity 1001", ClientEvent{ID: "a", Type: TypeAddToCart, ProductID: "p", Quantity: qty(1001)}, []string{"quantity"}, time.Time{}},
		{"negative quantity", ClientEvent{ID: "a", Type: TypePurchase, ProductID: "p", Quantity: qty(-1)}, []string{"quantity"}, time.Time{}},
		{"view with quantity 1", ClientEvent{ID: "a", Type: TypeView, ProductID: "p", Quantity: qty(1)}, nil, now},
		{"id of 64", ClientEvent{ID: strings.Repeat("i", 64), Type: TypeView, ProductID: "p"}, nil, now},
		{"id with a space", ClientEvent{ID: "a b", Type: TypeView, ProductID: "p"}, []string{"id"}, time.Time{}},
		{"non-ASCII product", ClientEvent{ID: "a", Type: TypeView, ProductID: "pé"}, []string{"product_id"}, time.Time{}},
		{"everything wrong", ClientEvent{Type: "VIEW", Quantity: qty(0), At: "now"}, []string{"id", "type", "product_id", "quantity", "at"}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, faults := checkEvent(tc.in, now, skew)
			var fields []string
			for _, f := range faults {
				fields = append(fields, f.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("faults %+v, want fields %v", faults, tc.fields)
			}
			if faults == nil && (!ev.At.Equal(tc.wantAt) || ev.At.Location() != time.UTC || ev.Quantity < 1) {
				t.Fatalf("event %+v, want at %s", ev, tc.wantAt)
			}
		})
	}
}

func TestNormalizeQuery(t *testing.T) {
	for in, want := range map[string]string{
		"  Red   SHOES\t":        "red shoes",
		"lamp\x00\x07":           "lamp",
		"caf\xe9":                "caf",
		"\n":                     "",
		"Ärger":                  "ärger",
		strings.Repeat("é", 150): strings.Repeat("é", 100),
	} {
		if got := NormalizeQuery(in); got != want {
			t.Errorf("NormalizeQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
