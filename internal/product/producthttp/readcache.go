package producthttp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/edge"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Time-to-live of cached public reads. Catalog events invalidate entries on
// every instance, so these are only a safety net (and bound how stale the
// sales and view counters, which change without events, can be).
const (
	productTTL    = 5 * time.Minute
	listingTTL    = 5 * time.Minute
	categoriesTTL = 10 * time.Minute
)

// ReadCache serves public reads from the two-tier cache as ready-made
// responses (body and entity tag).
//
// A product is cached under its id and invalidated by id. Listings,
// bestsellers and categories are cached under a generation: the sequence
// of the last catalog event this instance has seen, plus the writes it made
// itself. Instances that have seen the same events share entries in Redis;
// any change moves every instance to a new generation, so no listing is
// served stale once the invalidation has arrived.
type ReadCache struct {
	c     *cache.Cache
	seq   atomic.Uint64
	local atomic.Uint64
	gen   atomic.Pointer[generation] // the last one written out
}

// generation is a generation written out, for the keys of entries.
type generation struct {
	seq, local uint64
	text       string
}

// NewReadCache returns a read cache positioned at catalog event seq.
func NewReadCache(c *cache.Cache, seq uint64) *ReadCache {
	rc := &ReadCache{c: c}
	rc.seq.Store(seq)
	return rc
}

func (rc *ReadCache) generation() string {
	seq, local := rc.seq.Load(), rc.local.Load()
	if g := rc.gen.Load(); g != nil && g.seq == seq && g.local == local {
		return g.text
	}
	g := &generation{seq: seq, local: local,
		text: strconv.FormatUint(seq, 10) + "." + strconv.FormatUint(local, 10)}
	rc.gen.Store(g)
	return g.text
}

// redeleteAfter is when a changed product's entry is dropped a second
// time. Reads may come from a replica: an instance the event has not
// reached yet may fill Redis with the product as it was, in the moment
// after an instance that has it dropped the entry, and that instance may
// copy it into its memory. Events reach every instance within
// milliseconds; the second drop bounds that rare staleness to a second.
const redeleteAfter = time.Second

// Apply handles a catalog event from the stream (made by any instance).
func (rc *ReadCache) Apply(ctx context.Context, seq uint64, subject string) {
	if id, ok := strings.CutPrefix(subject, events.ProductSubjectPrefix); ok {
		key := productKey(id)
		rc.c.Delete(ctx, key)
		time.AfterFunc(redeleteAfter, func() { rc.c.Delete(context.WithoutCancel(ctx), key) })
	}
	for {
		cur := rc.seq.Load()
		if seq <= cur || rc.seq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// wrote invalidates at once after a write made by this instance, without
// waiting for its event.
func (rc *ReadCache) wrote(ctx context.Context, productID string) {
	if productID != "" {
		rc.c.Delete(ctx, productKey(productID))
	}
	rc.local.Add(1)
}

// StatsChanged drops the cached products whose counters changed.
func (rc *ReadCache) StatsChanged(ctx context.Context, ev events.ProductStats) {
	keys := make([]string, 0, len(ev.Items))
	for _, it := range ev.Items {
		keys = append(keys, productKey(it.ProductID))
	}
	rc.c.Delete(ctx, keys...)
	rc.local.Add(1)
}

func productKey(id string) string { return "p:" + id }

// cached is a response ready to send: entity tag and body, and the
// representation made of them once, when the entry came into memory. For
// products the id and slug are kept too, to answer slug lookups, and the
// surrogate keys of the answer (what it shows: the product, its
// category), made when the entry came into memory.
type cached struct {
	ETag, ID, Slug string
	Body           []byte
	rep            *httpx.Representation
	keys           []string
}

// encode lays the entry out as three header lines and the body; decoding a
// hit is then three cuts, no parsing.
func (c *cached) encode() []byte {
	out := make([]byte, 0, len(c.ETag)+len(c.ID)+len(c.Slug)+3+len(c.Body))
	for _, field := range []string{c.ETag, c.ID, c.Slug} {
		out = append(out, field...)
		out = append(out, '\n')
	}
	return append(out, c.Body...)
}

func decodeCached(data []byte) (*cached, bool) {
	var fields [3][]byte
	rest := data
	for i := range fields {
		var ok bool
		if fields[i], rest, ok = bytes.Cut(rest, []byte{'\n'}); !ok {
			return nil, false
		}
	}
	c := &cached{ETag: string(fields[0]), ID: string(fields[1]), Slug: string(fields[2]), Body: rest}
	c.rep = httpx.NewRepresentation(c.Body, c.ETag)
	if c.ID != "" {
		c.keys = productKeys(c.ID, c.Body)
	}
	return c, true
}

// productKeys returns the surrogate keys of a product's answer. Its
// category is read from the body, not kept in the entry, whose layout
// instances of other versions share in Redis.
func productKeys(id string, body []byte) []string {
	var shows struct {
		Category string `json:"category"`
	}
	if json.Unmarshal(body, &shows) != nil || shows.Category == "" {
		return httpx.SurrogateKeys(edge.ProductKey(id))
	}
	return httpx.SurrogateKeys(edge.ProductKey(id), edge.CategoryKey(shows.Category))
}

// decodeEntry is decodeCached for cache.GetDecoded: nil when data is not
// an entry.
func decodeEntry(data []byte) any {
	if c, ok := decodeCached(data); ok {
		return c
	}
	return nil
}

// getEntry returns the entry under key, loaded by load on a miss; ok is
// false when what is stored there is not an entry. The lookup's outcome
// is noted on the request (httpx.NoteCache) for its latency metric.
func (rc *ReadCache) getEntry(ctx context.Context, key string, ttl time.Duration, load func(context.Context) ([]byte, error)) (c *cached, ok bool, err error) {
	v, hit, err := rc.c.GetDecoded(ctx, key, ttl, load, decodeEntry)
	httpx.NoteCache(ctx, hit)
	if err != nil {
		return nil, false, err
	}
	c, ok = v.(*cached)
	return c, ok, nil
}

// write sends c, cached as pc says, with its surrogate keys.
func (c *cached) write(w http.ResponseWriter, r *http.Request, pc *httpx.PublicCache) {
	h := w.Header()
	httpx.AddVary(h, "Authorization")
	c.rep.Write(w, r, pc.Set(h, r, c.keys))
}

// product returns the public representation of the product with this id or
// slug. A slug is first resolved to an id through its own small entry, and
// the product entry must still carry that slug (it may have been renamed).
func (rc *ReadCache) product(ctx context.Context, svc *product.Service, key string) (*cached, error) {
	load := func(key string) func(context.Context) ([]byte, error) {
		return func(ctx context.Context) ([]byte, error) {
			p, err := svc.Product(ctx, key, false)
			if err != nil {
				return nil, err
			}
			body, err := json.Marshal(p)
			if err != nil {
				return nil, err
			}
			c := cached{ETag: productETag(p, body), ID: p.ID, Slug: p.Slug, Body: body}
			return c.encode(), nil
		}
	}
	// A hit needs no loaders: try it first.
	slugKey := ""
	if uuid.Validate(key) != nil {
		slugKey = "s:" + key
	}
	if c := rc.hit(key, slugKey); c != nil {
		httpx.NoteCache(ctx, true)
		return c, nil
	}
	id, entryKey := key, ""
	if slugKey != "" {
		// The slug's entry holds the id; in memory, the product's key.
		v, hit, err := rc.c.GetDecoded(ctx, slugKey, productTTL, func(ctx context.Context) ([]byte, error) {
			p, err := svc.Product(ctx, key, false)
			if err != nil {
				return nil, err
			}
			return []byte(p.ID), nil
		}, func(id []byte) any { return productKey(string(id)) })
		httpx.NoteCache(ctx, hit)
		if err != nil {
			return nil, err
		}
		entryKey = v.(string)
		id = strings.TrimPrefix(entryKey, "p:")
	} else {
		entryKey = productKey(id)
	}
	c, ok, err := rc.getEntry(ctx, entryKey, productTTL, load(id))
	if err != nil {
		return nil, err
	}
	if !ok || (c.ID != key && c.Slug != key) {
		// Renamed or corrupt: forget the mapping and answer from the database.
		httpx.NoteCache(ctx, false)
		rc.c.Delete(ctx, "s:"+key)
		data, err := load(key)(ctx)
		if err != nil {
			return nil, err
		}
		c, _ = decodeCached(data)
	}
	return c, nil
}

// hit returns the product entry for key (an id, or a slug whose entry is
// slugKey) when memory holds it and it still answers to key, else nil.
func (rc *ReadCache) hit(key, slugKey string) *cached {
	entryKey := ""
	if slugKey == "" {
		entryKey = productKey(key)
	} else if v, ok := rc.c.DecodedIfPresent(slugKey); ok {
		entryKey, _ = v.(string)
	}
	if entryKey == "" {
		return nil
	}
	v, ok := rc.c.DecodedIfPresent(entryKey)
	if !ok {
		return nil
	}
	if c, ok := v.(*cached); ok && (c.ID == key || c.Slug == key) {
		return c
	}
	return nil
}

// response returns a generation-scoped cached response built by render.
func (rc *ReadCache) response(ctx context.Context, kind, query string, ttl time.Duration, render func(context.Context) (any, error)) (*cached, error) {
	c, _, err := rc.getEntry(ctx, kind+":"+rc.generation()+":"+query, ttl, func(ctx context.Context) ([]byte, error) {
		v, err := render(ctx)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		c := cached{ETag: httpx.ETagOf("", body), Body: body}
		return c.encode(), nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Seq is the position in the catalog stream this cache has reached.
func (rc *ReadCache) Seq() uint64 { return rc.seq.Load() }
