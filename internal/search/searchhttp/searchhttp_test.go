package searchhttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchhttp"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// newServer serves a search service holding the test catalog.
func newServer(t *testing.T, opts search.Options) (http.Handler, *search.Service) {
	t.Helper()
	return newServerFor(t, opts, httpx.SharedCache{})
}

// newServerFor is newServer behind an edge that may keep answers as shared
// says.
func newServerFor(t *testing.T, opts search.Options, shared httpx.SharedCache) (http.Handler, *search.Service) {
	t.Helper()
	dir := t.TempDir()
	synFile := filepath.Join(dir, "synonyms.txt")
	if err := os.WriteFile(synFile, []byte(st.Synonyms), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.SynonymsFile = synFile
	svc, err := search.Open(filepath.Join(dir, "index"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	st.Seed(t, svc)
	rt := httpx.NewRouter()
	searchhttp.Routes(rt, svc, shared)
	return rt, svc
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

type searchResponse struct {
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Items   []struct {
		ID         string              `json:"id"`
		Name       string              `json:"name"`
		Image      string              `json:"image"`
		Price      map[string]any      `json:"price"`
		Highlights map[string][]string `json:"highlights"`
	} `json:"items"`
	Facets map[string]json.RawMessage `json:"facets"`
}

func TestSearch(t *testing.T) {
	h, _ := newServer(t, search.Options{})
	rec := get(t, h, "/api/search?q=hedphones&category=audio&brand=Sony&brand=Bose&facets=brand,price&facets=category&per_page=2&sort=price")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=30" {
		t.Fatalf("Cache-Control %q", cc)
	}
	res := decode[searchResponse](t, rec)
	if res.Total != 2 || res.Page != 1 || res.PerPage != 2 || len(res.Items) != 2 ||
		res.Items[0].ID != st.BoseHeadphones || res.Items[1].ID != st.SonyHeadphones {
		t.Fatalf("response %s", rec.Body)
	}
	if !strings.Contains(res.Items[0].Highlights["name"][0], "<mark>Headphones</mark>") || res.Items[0].Image == "" {
		t.Fatalf("item %+v", res.Items[0])
	}
	var brands []search.FacetValue
	if err := json.Unmarshal(res.Facets["brand"], &brands); err != nil || len(brands) != 3 { // Apple too: disjunctive
		t.Fatalf("brand facet %s", res.Facets["brand"])
	}
	if res.Facets["price"] == nil || res.Facets["category"] == nil {
		t.Fatalf("facets %s", rec.Body)
	}

	// the ETag lets a client revalidate
	req := httptest.NewRequest(http.MethodGet, "/api/search?q=hedphones", nil)
	first := httptest.NewRecorder()
	h.ServeHTTP(first, req)
	req.Header.Set("If-None-Match", first.Header().Get("ETag"))
	again := httptest.NewRecorder()
	h.ServeHTTP(again, req)
	if again.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", again.Code)
	}
}

func TestSearchRejectsBadInput(t *testing.T) {
	h, _ := newServer(t, search.Options{})
	for _, tc := range []struct{ query, field string }{
		{"colour=red", "colour"},
		{"q=a&q=b", "q"},
		{"per_page=101", "per_page"},
		{"per_page=0", "per_page"},
		{"page=abc", "page"},
		{"page=101&per_page=100", "page"},
		{"min_price=12.50", "min_price"},
		{"max_price=-1", "max_price"},
		{"min_price=500&max_price=100", "max_price"},
		{"in_stock=maybe", "in_stock"},
		{"sort=cheapest", "sort"},
		{"facets=brand,colour", "facets"},
		{"category=Audio%20Stuff", "category"},
		{"q=" + strings.Repeat("x", 201), "q"},
		{"q=%ff", "q"},
		{"q=%zz", "query"},
	} {
		rec := get(t, h, "/api/search?"+tc.query)
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", tc.query, rec.Code, rec.Body)
			continue
		}
		p := decode[httpx.Problem](t, rec)
		if !slices.ContainsFunc(p.Errors, func(e errs.FieldError) bool { return e.Field == tc.field }) {
			t.Errorf("%s: errors %+v, want field %s", tc.query, p.Errors, tc.field)
		}
		if rec.Header().Get("Cache-Control") != "" {
			t.Errorf("%s: an error is cacheable", tc.query)
		}
	}
	if rec := get(t, h, "/api/search/suggest?q=x&limit=3"); rec.Code != http.StatusBadRequest {
		t.Errorf("suggest with an unknown parameter: %d", rec.Code)
	}
	if rec := get(t, h, "/api/search/status?verbose=1"); rec.Code != http.StatusBadRequest {
		t.Errorf("status with a parameter: %d", rec.Code)
	}
}

func TestSuggest(t *testing.T) {
	h, _ := newServer(t, search.Options{})
	rec := get(t, h, "/api/search/suggest?q=headph")
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, max-age=30" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	res := decode[struct {
		Suggestions []search.Suggestion `json:"suggestions"`
	}](t, rec)
	var names []string
	for _, s := range res.Suggestions {
		names = append(names, s.Name)
	}
	want := []string{"Bose QuietComfort 45 Headphones", "Sony WH-1000XM5 Wireless Noise Cancelling Headphones"}
	if slices.Sort(names); !slices.Equal(names, want) {
		t.Fatalf("suggestions %v, want %v", names, want)
	}
	if !strings.Contains(res.Suggestions[0].Highlight, "<mark>Headphones</mark>") {
		t.Fatalf("highlight %q", res.Suggestions[0].Highlight)
	}
	if rec := get(t, h, "/api/search/suggest"); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"suggestions":[]}` {
		t.Fatalf("empty q: %d %s", rec.Code, rec.Body)
	}
}

func TestStatus(t *testing.T) {
	h, svc := newServer(t, search.Options{StreamLast: func(context.Context) (uint64, error) { return 50, nil }})
	rec := get(t, h, "/api/search/status")
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	s := decode[map[string]any](t, rec)
	last := float64(svc.LastApplied())
	if s["documents"] != 10.0 || s["last_applied"] != last || s["stream_last"] != 50.0 || s["lag"] != 50-last || s["last_applied_at"] == nil {
		t.Fatalf("status %s", rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
}

// blockingRecorder never returns until released: a search must not wait
// for it. It keeps the events and the size of each batch, and tells
// entered (when set) of each call.
type blockingRecorder struct {
	release chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	got     []events.SearchPerformed
	batches []int
}

func (b *blockingRecorder) RecordSearches(evs []events.SearchPerformed) {
	if b.entered != nil {
		b.entered <- struct{}{}
	}
	<-b.release
	b.mu.Lock()
	b.got = append(b.got, evs...)
	b.batches = append(b.batches, len(evs))
	b.mu.Unlock()
}

func TestSlowRecorderDelaysNoResponse(t *testing.T) {
	rec := &blockingRecorder{release: make(chan struct{}), entered: make(chan struct{}, 10)}
	h, svc := newServer(t, search.Options{Recorder: rec, RecordBuffer: 4})
	if code := get(t, h, "/api/search?q=speaker").Code; code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	select {
	case <-rec.entered: // the recorder holds the first search's event
	case <-time.After(10 * time.Second):
		t.Fatal("the recorder was not called")
	}
	// The buffer holds four more; the rest must be dropped, not waited
	// for. Were a search to wait, it would never end: the watchdog only
	// turns that hang into a failure.
	const searches = 20
	codes := make(chan int, searches)
	go func() {
		for i := range searches {
			codes <- get(t, h, "/api/search?q=speaker&page="+string(rune('1'+i%5))).Code
		}
	}()
	for i := range searches {
		select {
		case code := <-codes:
			if code != http.StatusOK {
				t.Fatalf("search %d: status %d", i, code)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("search %d is waiting for the recorder", i)
		}
	}
	if d := svc.EventsDropped(); d != searches-4 {
		t.Fatalf("dropped %d events, want %d", d, searches-4)
	}
	close(rec.release)
	if err := svc.Close(); err != nil { // passes on what was buffered
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Equal(rec.batches, []int{1, 4}) {
		t.Fatalf("recorded batches of %v events, want 1 then the 4 buffered", rec.batches)
	}
	for _, ev := range rec.got {
		if ev.Query != "speaker" || ev.Results != 3 {
			t.Fatalf("event %+v", ev)
		}
	}
}

// Searches made while the recorder publishes a batch make the next batch
// together: one call for them all, not one each.
func TestSearchEventsGoOutInBatches(t *testing.T) {
	rec := &blockingRecorder{release: make(chan struct{}), entered: make(chan struct{}, 10)}
	h, svc := newServer(t, search.Options{Recorder: rec, RecordBuffer: 64})
	get(t, h, "/api/search?q=speaker")
	select {
	case <-rec.entered: // the first search's event is being published
	case <-time.After(10 * time.Second):
		t.Fatal("the recorder was not called")
	}
	for range 10 {
		if code := get(t, h, "/api/search?q=sofa").Code; code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	close(rec.release)
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Equal(rec.batches, []int{1, 10}) || svc.EventsDropped() != 0 {
		t.Fatalf("batches of %v events, %d dropped; want one of 1 then one of 10, none dropped", rec.batches, svc.EventsDropped())
	}
}

func TestEveryQueryIsRecorded(t *testing.T) {
	got := make(chan events.SearchPerformed, 10)
	h, _ := newServer(t, search.Options{Recorder: recorderFunc(func(ev events.SearchPerformed) { got <- ev })})
	for _, target := range []string{"/api/search?q=Sofa", "/api/search?q=zeppelin", "/api/search?category=audio", "/api/search/suggest?q=sof"} {
		if r := get(t, h, target); r.Code != http.StatusOK {
			t.Fatalf("%s: %d", target, r.Code)
		}
	}
	var evs []events.SearchPerformed
	for range 2 {
		select {
		case ev := <-got:
			evs = append(evs, ev)
		case <-time.After(10 * time.Second):
			t.Fatalf("events received: %+v", evs)
		}
	}
	if evs[0].Query != "sofa" || evs[0].Results != 2 || evs[1].Query != "zeppelin" || evs[1].Results != 0 || evs[0].ID == evs[1].ID {
		t.Fatalf("events %+v", evs)
	}
	select {
	case ev := <-got: // browsing and suggestions are not searches
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

type recorderFunc func(events.SearchPerformed)

func (f recorderFunc) RecordSearches(evs []events.SearchPerformed) {
	for _, ev := range evs {
		f(ev)
	}
}

// Repeated searches and suggestions are answered from their encoded
// responses, byte for byte the same, until the index changes: then the
// next one shows the change.
func TestRepeatedSearchesFollowTheIndex(t *testing.T) {
	h, svc := newServer(t, search.Options{})
	for _, target := range []string{"/api/search?q=zyzzyva", "/api/search/suggest?q=zyzz"} {
		first, again := get(t, h, target), get(t, h, target)
		if first.Code != http.StatusOK || again.Body.String() != first.Body.String() ||
			again.Header().Get("ETag") != first.Header().Get("ETag") {
			t.Fatalf("%s: %d %s, then %s", target, first.Code, first.Body, again.Body)
		}
		if strings.Contains(first.Body.String(), "Zyzzyva") {
			t.Fatalf("%s: found before it exists: %s", target, first.Body)
		}
	}
	p := st.NewProduct("01900000-0000-7000-8000-00000000fff1", "Zyzzyva Speaker", "Acme", "speakers", true, time.Now(), 1000)
	if err := svc.ApplyProduct(context.Background(), p.Event(), 1000); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/api/search?q=zyzzyva", "/api/search/suggest?q=zyzz"} {
		if rec := get(t, h, target); !strings.Contains(rec.Body.String(), "Zyzzyva Speaker") {
			t.Fatalf("%s after the product was indexed: %s", target, rec.Body)
		}
	}
}
