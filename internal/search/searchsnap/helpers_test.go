package searchsnap_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchevents"
	"github.com/vitrine-dev/vitrine/internal/search/searchsnap"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// catalog is a deployment under test: the real catalog stream on the
// local NATS server and a blob store for snapshots.
type catalog struct {
	t     *testing.T
	bus   *bus.Bus
	blobs *blobstore.Store
	snaps *searchsnap.Store
}

func newCatalog(t *testing.T, blobURL string) *catalog {
	t.Helper()
	if blobURL == "" {
		blobURL = (&url.URL{Scheme: "file", Path: t.TempDir() + "/blobs"}).String()
	}
	blobs, err := blobstore.Open(context.Background(), blobURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close() })
	return &catalog{t: t, bus: bustest.Open(t, true), blobs: blobs, snaps: searchsnap.New(blobs, "search-snapshots/", nil)}
}

// publish puts events on the catalog stream as the product service does.
func (c *catalog) publish(evs ...bus.Payload) {
	c.t.Helper()
	for _, ev := range evs {
		if err := c.bus.PublishEvent(context.Background(), ev, ""); err != nil {
			c.t.Fatal(err)
		}
	}
}

// product returns product i of a generated catalog, at version v.
func product(i int, v int64) events.ProductChanged {
	kinds := []struct{ noun, category string }{{"Headphones", "headphones"}, {"Speaker", "speakers"},
		{"Television", "televisions"}, {"Sofa", "seating"}}
	k := kinds[i%len(kinds)]
	brand := fmt.Sprintf("Brand%d", i%7)
	p := st.NewProduct(fmt.Sprintf("p-%04d", i), fmt.Sprintf("%s %s %d", brand, k.noun, i), brand, k.category,
		i%3 > 0, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Hour), int64(1000+i*37%50_000))
	p.Version = v
	p.Description = fmt.Sprintf("version %d of a %s with wireless sound", v, k.noun)
	return p.Event()
}

func (c *catalog) publishCatalog(n int) {
	c.t.Helper()
	for _, cat := range st.Categories {
		c.publish(cat)
	}
	for i := range n {
		c.publish(product(i, 1))
	}
}

func (c *catalog) last() uint64 {
	c.t.Helper()
	seq, err := c.bus.LastSeq(context.Background(), events.CatalogStream)
	if err != nil {
		c.t.Fatal(err)
	}
	return seq
}

func (c *catalog) usable() searchsnap.Usable {
	c.t.Helper()
	created, last, err := c.bus.Position(context.Background(), events.CatalogStream)
	if err != nil {
		c.t.Fatal(err)
	}
	return searchsnap.Usable{Schema: search.Schema, StreamCreated: created, StreamLast: last, MaxAge: time.Hour, Now: time.Now()}
}

// instance is a search instance fed by the real consumer of
// searchevents; seen lists the stream sequences it was handed.
type instance struct {
	svc  *search.Service
	dir  string
	mu   sync.Mutex
	seen []uint64
}

func (c *catalog) start(dir string) *instance {
	c.t.Helper()
	svc, err := search.Open(dir, search.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	in := &instance{svc: svc, dir: dir}
	consumer := searchevents.Consumers(svc)[0].(bus.Consumer[events.Catalog])
	handle := consumer.Handle
	consumer.Handle = func(ctx context.Context, evs []bus.Event[events.Catalog]) error {
		err := handle(ctx, evs)
		if err == nil {
			in.mu.Lock()
			for _, ev := range evs {
				in.seen = append(in.seen, ev.Seq)
			}
			in.mu.Unlock()
		}
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); consumer.Run(ctx, c.bus) }()
	c.t.Cleanup(func() { cancel(); <-done; _ = svc.Close() })
	return in
}

// waitFor waits until the instance has applied the stream up to seq.
func (in *instance) waitFor(t *testing.T, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for in.svc.LastApplied() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("the index applied up to %d, want %d", in.svc.LastApplied(), seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// take snapshots the instance once it has applied the whole stream.
func (c *catalog) take(in *instance) searchsnap.Manifest {
	c.t.Helper()
	in.waitFor(c.t, c.last())
	m, err := c.snaps.Take(context.Background(), in.svc, c.t.TempDir(), c.usable().StreamCreated)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (in *instance) handed() []uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.seen)
}

// answers are what shoppers see for a few searches: the total, the
// facets and every product found, in order for a browse sorted by price.
// Products that a text search ranks alike come in the index's internal
// order, which differs between any two indexes built apart (replicas
// rebuilt from the stream too), so those are compared as sets.
func answers(t *testing.T, svc *search.Service) []string {
	t.Helper()
	var out []string
	for _, q := range []search.Query{
		{Text: "headphones"}, {Text: "wireles sofa"}, {Text: "brand3 tele"}, {Category: "electronics", Sort: search.SortPrice},
		{Text: "speaker", InStock: true}, {Text: "version 2"},
	} {
		q.PerPage, q.Facets = search.MaxPerPage, search.FacetSet{Brand: true, Category: true, Price: true}
		var ids []string
		var first *search.Result
		for page := 1; ; page++ {
			q.Page = page
			res, err := svc.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = res
			}
			for _, it := range res.Items {
				ids = append(ids, it.ID)
			}
			if len(res.Items) < q.PerPage {
				break
			}
		}
		if q.Text != "" {
			slices.Sort(ids)
		}
		facets, err := json.Marshal(first.Facets)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%q in %q: %d %v %s", q.Text, q.Category, first.Total, ids, facets))
	}
	return out
}

func read(t *testing.T, c *catalog, key string) []byte {
	t.Helper()
	r, err := c.blobs.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func put(t *testing.T, c *catalog, key string, data []byte) {
	t.Helper()
	if err := c.blobs.Put(context.Background(), key, "application/octet-stream", data); err != nil {
		t.Fatal(err)
	}
}

func keys(t *testing.T, c *catalog, prefix string) []string {
	t.Helper()
	objs, err := c.blobs.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	slices.Sort(out)
	return out
}

// manifestKey is where the store keeps m.
func manifestKey(m searchsnap.Manifest) string {
	return fmt.Sprintf("search-snapshots/manifests/%020d-%020d.json", m.Seq, m.TakenAt.UnixNano())
}

// checkIndex opens the index in dir and checks where it resumes the
// stream.
func checkIndex(t *testing.T, dir string, seq uint64) {
	t.Helper()
	svc, err := search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if got := svc.LastApplied(); got != seq {
		t.Fatalf("the index in %s resumes after %d, want %d", dir, got, seq)
	}
}
