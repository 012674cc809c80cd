package events_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
)

var at = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func snapshot() *events.Product {
	variants := []events.Variant{
		{SKU: "a", Options: map[string]string{"size": "s"}, Price: events.Money{Amount: 1200, Currency: "EUR"}, Stock: 0},
		{SKU: "b", Options: map[string]string{"size": "m"}, Price: events.Money{Amount: 900, Currency: "EUR"}, Stock: 3},
	}
	price, inStock := events.Derive(variants)
	return &events.Product{ID: "p1", Slug: "lamp", Name: "Lamp", Tags: []string{}, Attributes: map[string]string{},
		Status: "active", Images: []events.Image{{URL: "https://img.example/1.jpg"}}, Variants: variants,
		Price: price, InStock: inStock, Version: 2, CreatedAt: at, UpdatedAt: at}
}

func TestRoundTrips(t *testing.T) {
	type codec struct {
		ev      interface{ Encode() ([]byte, error) }
		subject string
		decode  func([]byte) (any, error)
	}
	cases := map[string]codec{
		"product upsert": {events.ProductChanged{Op: events.OpUpsert, ID: "p1", Version: 2, Product: snapshot(), At: at},
			events.ProductSubjectPrefix + "p1", func(b []byte) (any, error) { return events.DecodeProductChanged(b) }},
		"product delete": {events.ProductChanged{Op: events.OpDelete, ID: "p1", Version: 3, At: at},
			events.ProductSubjectPrefix + "p1", func(b []byte) (any, error) { return events.DecodeProductChanged(b) }},
		"category": {events.CategoryChanged{Op: events.OpUpsert, Slug: "audio", Name: "Audio", Parent: "electronics", At: at},
			events.CategorySubjectPrefix + "audio", func(b []byte) (any, error) { return events.DecodeCategoryChanged(b) }},
		"search": {events.SearchPerformed{ID: "s1", Query: "lamp", Results: 4, At: at},
			events.SearchSubject, func(b []byte) (any, error) { return events.DecodeSearchPerformed(b) }},
		"searches": {events.Searches{ID: "b1", Searches: []events.SearchPerformed{{ID: "s1", Query: "lamp", Results: 4, At: at}, {ID: "s2", Query: "zeppelin", At: at, Unknown: []string{"zeppelin"}}}},
			events.SearchesSubject, func(b []byte) (any, error) { return events.DecodeSearches(b) }},
		"stats": {events.ProductStats{Items: []events.ProductStat{{ProductID: "p1", Sales: 3, Views: 9}}, At: at},
			events.StatsSubject, func(b []byte) (any, error) { return events.DecodeProductStats(b) }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := c.ev.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.decode(data)
			if err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			// The decoded event carries the version it was written with.
			want := reflect.New(reflect.TypeOf(c.ev)).Elem()
			want.Set(reflect.ValueOf(c.ev))
			want.FieldByName("Schema").SetInt(events.SchemaVersion)
			if !reflect.DeepEqual(got, want.Interface()) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want.Interface())
			}
			if s := c.ev.(interface{ Subject() string }).Subject(); s != c.subject {
				t.Fatalf("subject %q, want %q", s, c.subject)
			}
		})
	}
}

// Payloads written before the schema field existed (as the CATALOG stream
// still holds them) decode as version 1.
func TestOldPayloadsDecodeAsVersion1(t *testing.T) {
	product := `{"op":"upsert","id":"p1","version":2,"at":"2024-05-01T12:00:00Z","product":{"id":"p1","slug":"lamp",` +
		`"name":"Lamp","description":"","brand":"","category":"","tags":[],"attributes":{},"status":"active",` +
		`"images":[{"url":"https://img.example/1.jpg","alt":""}],"variants":[{"sku":"a","options":{"size":"s"},` +
		`"price":{"amount":1200,"currency":"EUR"},"stock":0},{"sku":"b","options":{"size":"m"},"price":{"amount":900,` +
		`"currency":"EUR"},"stock":3}],"price":{"min":900,"max":1200,"currency":"EUR"},"in_stock":true,` +
		`"sales_count":0,"view_count":0,"version":2,"created_at":"2024-05-01T12:00:00Z","updated_at":"2024-05-01T12:00:00Z"}}`
	p, err := events.DecodeProductChanged([]byte(product))
	if err != nil {
		t.Fatal(err)
	}
	want := events.ProductChanged{Schema: 1, Op: events.OpUpsert, ID: "p1", Version: 2, Product: snapshot(), At: at}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("old product event:\n got %+v\nwant %+v", p, want)
	}
	old := map[string]func([]byte) (int, error){
		`{"op":"delete","id":"p1","version":3,"at":"2024-05-01T12:00:00Z"}`: func(b []byte) (int, error) {
			e, err := events.DecodeProductChanged(b)
			return e.Schema, err
		},
		`{"op":"upsert","slug":"audio","name":"Audio","parent":"electronics","at":"2024-05-01T12:00:00Z"}`: func(b []byte) (int, error) {
			e, err := events.DecodeCategoryChanged(b)
			return e.Schema, err
		},
		`{"id":"s1","query":"lamp","results":4,"at":"2024-05-01T12:00:00Z"}`: func(b []byte) (int, error) {
			e, err := events.DecodeSearchPerformed(b)
			return e.Schema, err
		},
		`{"items":[{"product_id":"p1","sales":3,"views":9}],"at":"2024-05-01T12:00:00Z"}`: func(b []byte) (int, error) {
			e, err := events.DecodeProductStats(b)
			return e.Schema, err
		},
	}
	for payload, decode := range old {
		if v, err := decode([]byte(payload)); err != nil || v != 1 {
			t.Errorf("%s: version %d, %v; want 1", payload, v, err)
		}
	}
}

// The largest batch of the longest queries fits in a NATS message (1 MiB):
// 200 characters that JSON escapes (< is \u003c), one word the catalog
// does not know, which the event repeats.
func TestLargestSearchBatchFitsAMessage(t *testing.T) {
	word := strings.Repeat("<", 200)
	b := events.Searches{ID: "0190f3a8-7c2e-7d1a-9f00-000000000000"}
	for range events.MaxSearchBatch {
		b.Searches = append(b.Searches, events.SearchPerformed{ID: "0190f3a8-7c2e-7d1a-9f00-000000000001", Query: word,
			Results: 0, At: at, Unknown: []string{word}})
	}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 1<<20 {
		t.Fatalf("the largest batch is %d bytes, more than a NATS message's 1 MiB", len(data))
	}
}

func TestUndecodable(t *testing.T) {
	for name, payload := range map[string]string{
		"not json":        `{"op":`,
		"no id":           `{"op":"delete","version":1}`,
		"unknown op":      `{"op":"rename","id":"p1"}`,
		"upsert, no body": `{"op":"upsert","id":"p1","version":1}`,
		"future version":  `{"schema":99,"op":"delete","id":"p1"}`,
	} {
		if _, err := events.DecodeProductChanged([]byte(payload)); !errors.Is(err, events.ErrUndecodable) {
			t.Errorf("%s: %v, want ErrUndecodable", name, err)
		}
	}
	if _, err := events.DecodeSearchPerformed([]byte(`{"query":"x"}`)); !errors.Is(err, events.ErrUndecodable) {
		t.Errorf("search event without id: %v", err)
	}
	for name, payload := range map[string]string{
		"batch without id": `{"searches":[{"id":"s1","query":"x"}]}`,
		"empty batch":      `{"id":"b1","searches":[]}`,
		"oversized batch":  `{"id":"b1","searches":[` + strings.Repeat(`{"id":"s","query":"x"},`, events.MaxSearchBatch) + `{"id":"s","query":"x"}]}`,
	} {
		if _, err := events.DecodeSearches([]byte(payload)); !errors.Is(err, events.ErrUndecodable) {
			t.Errorf("%s: %v, want ErrUndecodable", name, err)
		}
	}
	if _, err := events.DecodeCatalog("catalog.other.x", []byte(`{}`)); !errors.Is(err, events.ErrUndecodable) {
		t.Errorf("unknown catalog subject: %v", err)
	}
	c, err := events.DecodeCatalog(events.CategorySubjectPrefix+"audio", []byte(`{"op":"delete","slug":"audio"}`))
	if err != nil || c.Category == nil || c.Product != nil {
		t.Errorf("catalog category: %+v, %v", c, err)
	}
}
