package search

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// Change is one message of the catalog stream: a product or a category
// event (exactly one of them) and its stream sequence.
type Change struct {
	Seq      uint64
	Product  *events.ProductChanged
	Category *events.CategoryChanged
}

// ApplyProduct applies one product event. Only active products are indexed;
// any other status, or a delete, removes the product. An event older than
// the version the index already holds (a replay or a redelivery) changes
// nothing but the recorded sequence.
func (s *Service) ApplyProduct(ctx context.Context, ev events.ProductChanged, seq uint64) error {
	return s.ApplyBatch(ctx, []Change{{Seq: seq, Product: &ev}})
}

// ApplyCategory applies one category event to the category tree that
// category filters expand to descendants with.
func (s *Service) ApplyCategory(ctx context.Context, ev events.CategoryChanged, seq uint64) error {
	return s.ApplyBatch(ctx, []Change{{Seq: seq, Category: &ev}})
}

// ApplyBatch applies catalog messages in order, atomically, in one index
// batch together with the highest sequence among them: after a crash the
// index holds either all of them or none. Replays should pass a few hundred
// messages at a time.
//
// Messages that cannot be decoded never get here: the consumer parks them
// on the dead-letter subject. An event that decodes but cannot apply (an
// upsert without its product, say) is logged and skipped; its sequence
// still counts, so the index moves past it.
func (s *Service) ApplyBatch(ctx context.Context, changes []Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, c := range changes {
		if (c.Product == nil) == (c.Category == nil) {
			return fmt.Errorf("search: change %d must hold exactly one of product and category", i)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	b := s.index.NewBatch()
	st := &staging{s: s, batch: b, versions: map[string]versionState{}, state: map[string][]byte{}}
	tree := s.categories.Load()
	treeChanged := false
	seq := s.lastApplied.Load()
	for _, c := range changes {
		seq = max(seq, c.Seq)
		if c.Product != nil {
			if err := st.product(ctx, c.Product); err != nil {
				return err
			}
			continue
		}
		ev := c.Category
		switch ev.Op {
		case events.OpUpsert:
			tree = tree.with(ev.Slug, &categoryRecord{Name: ev.Name, Parent: ev.Parent})
		case events.OpDelete:
			tree = tree.with(ev.Slug, nil)
		default:
			s.log.WarnContext(ctx, "category event skipped: unknown op", "slug", ev.Slug, "op", ev.Op, "seq", c.Seq)
			continue
		}
		treeChanged = true
	}
	if treeChanged {
		raw, err := json.Marshal(tree.records)
		if err != nil {
			return fmt.Errorf("search: encode categories: %w", err)
		}
		b.SetInternal(keyCategories, raw)
	}
	now := time.Now()
	var pos [16]byte
	binary.BigEndian.PutUint64(pos[:8], seq)
	binary.BigEndian.PutUint64(pos[8:], uint64(now.UnixNano()))
	b.SetInternal(keyLastApplied, pos[:])
	if err := s.index.Batch(b); err != nil {
		return fmt.Errorf("search: apply %d catalog changes: %w", len(changes), err)
	}
	if err := s.state.put(st.state); err != nil {
		return fmt.Errorf("search: record versions: %w", err)
	}
	s.lastApplied.Store(seq)
	s.lastAppliedAt.Store(now.UnixNano())
	s.results.changed()
	if treeChanged {
		s.categories.Store(tree)
	}
	return nil
}

// versionState is what the index remembers of each product it has seen,
// removed ones included, so that an old event cannot bring back a newer
// state.
type versionState struct {
	Version int64
	Deleted bool // the last event was a delete
}

func (v versionState) encode() []byte {
	b := make([]byte, 9)
	binary.BigEndian.PutUint64(b, uint64(v.Version))
	if v.Deleted {
		b[8] = 1
	}
	return b
}

// stale reports whether ev is older than the state. A delete carries a newer
// version than the product it deletes; at an equal version the delete wins.
func (v versionState) stale(ev *events.ProductChanged) bool {
	return ev.Version < v.Version || ev.Version == v.Version && v.Deleted && ev.Op != events.OpDelete
}

// staging accumulates one batch, remembering the versions it has written so
// that several events for one product in a batch see each other.
type staging struct {
	s        *Service
	batch    *bleve.Batch
	versions map[string]versionState
	state    map[string][]byte // bookkeeping to write after the batch
}

func (st *staging) version(id string) (versionState, error) {
	if v, ok := st.versions[id]; ok {
		return v, nil
	}
	raw, err := st.s.state.get(versionKeyPrefix + id)
	if err != nil {
		return versionState{}, fmt.Errorf("search: read version of %s: %w", id, err)
	}
	var v versionState
	if len(raw) == 9 {
		v = versionState{Version: int64(binary.BigEndian.Uint64(raw)), Deleted: raw[8] == 1}
	}
	return v, nil
}

func (st *staging) product(ctx context.Context, ev *events.ProductChanged) error {
	log := st.s.log
	if ev.ID == "" {
		log.WarnContext(ctx, "product event skipped: no id", "op", ev.Op)
		return nil
	}
	if ev.Op != events.OpUpsert && ev.Op != events.OpDelete || ev.Op == events.OpUpsert && ev.Product == nil {
		log.WarnContext(ctx, "product event skipped: unknown op or no product", "id", ev.ID, "op", ev.Op)
		return nil
	}
	cur, err := st.version(ev.ID)
	if err != nil {
		return err
	}
	if cur.stale(ev) {
		return nil
	}
	next := versionState{Version: ev.Version, Deleted: ev.Op == events.OpDelete}
	var doc *document
	if ev.Op == events.OpUpsert && ev.Product.Status == statusActive {
		doc = documentOf(ev)
		if err := st.mergeStats(doc); err != nil {
			return err
		}
	}
	if doc == nil {
		st.batch.Delete(ev.ID)
	} else {
		fields, err := doc.fields()
		if err != nil {
			return fmt.Errorf("search: encode %s: %w", ev.ID, err)
		}
		if err := st.batch.Index(ev.ID, fields); err != nil {
			return fmt.Errorf("search: index %s: %w", ev.ID, err)
		}
	}
	st.versions[ev.ID] = next
	st.state[versionKeyPrefix+ev.ID] = next.encode()
	return nil
}

// mergeStats raises the document's counters to the totals analytics last
// published, which may be ahead of the product's own copy.
func (st *staging) mergeStats(d *document) error {
	sales, views, err := st.s.stats(d.ID)
	if err != nil {
		return err
	}
	d.Sales, d.Views = max(d.Sales, sales), max(d.Views, views)
	return nil
}

func (s *Service) stats(id string) (sales, views int64, err error) {
	raw, err := s.state.get(statsKeyPrefix + id)
	if err != nil {
		return 0, 0, fmt.Errorf("search: read stats of %s: %w", id, err)
	}
	if len(raw) != 16 {
		return 0, 0, nil
	}
	return int64(binary.BigEndian.Uint64(raw)), int64(binary.BigEndian.Uint64(raw[8:])), nil
}

// ApplyStats records popularity totals (sales, views) for sort=popular and
// rewrites the indexed products they concern. Totals only ever rise: an
// older message arriving late does not lower them. Totals of products not in
// the index are kept for when they arrive.
func (s *Service) ApplyStats(ctx context.Context, ev events.ProductStats) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	latest := map[string]events.ProductStat{}
	var order []string
	for _, it := range ev.Items {
		if it.ProductID == "" {
			continue
		}
		if _, seen := latest[it.ProductID]; !seen {
			order = append(order, it.ProductID)
		}
		prev := latest[it.ProductID]
		latest[it.ProductID] = events.ProductStat{ProductID: it.ProductID,
			Sales: max(prev.Sales, it.Sales), Views: max(prev.Views, it.Views)}
	}
	if len(order) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	b := s.index.NewBatch()
	state := map[string][]byte{}
	for _, id := range order {
		it := latest[id]
		oldSales, oldViews, err := s.stats(id)
		if err != nil {
			return err
		}
		sales, views := max(oldSales, it.Sales), max(oldViews, it.Views)
		var raw [16]byte
		binary.BigEndian.PutUint64(raw[:8], uint64(sales))
		binary.BigEndian.PutUint64(raw[8:], uint64(views))
		state[statsKeyPrefix+id] = raw[:]

		doc, err := s.storedDocument(id)
		if err != nil {
			return err
		}
		if doc == nil || doc.Sales >= sales && doc.Views >= views {
			continue
		}
		doc.Sales, doc.Views = max(doc.Sales, sales), max(doc.Views, views)
		fields, err := doc.fields()
		if err != nil {
			return fmt.Errorf("search: encode %s: %w", id, err)
		}
		if err := b.Index(id, fields); err != nil {
			return fmt.Errorf("search: index %s: %w", id, err)
		}
	}
	if err := s.index.Batch(b); err != nil {
		return fmt.Errorf("search: apply stats: %w", err)
	}
	if err := s.state.put(state); err != nil {
		return fmt.Errorf("search: record stats: %w", err)
	}
	s.results.changed()
	return nil
}

// storedDocument returns the indexed document of id, or nil.
func (s *Service) storedDocument(id string) (*document, error) {
	d, err := s.index.Document(id)
	if err != nil {
		return nil, fmt.Errorf("search: load %s: %w", id, err)
	}
	if d == nil {
		return nil, nil
	}
	var src []byte
	d.VisitFields(func(f index.Field) {
		if f.Name() == fieldSource {
			src = f.Value()
		}
	})
	if src == nil {
		return nil, errors.New("search: indexed document " + id + " has no source")
	}
	var doc document
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("search: decode %s: %w", id, err)
	}
	return &doc, nil
}

const statusActive = "active"

// documentOf builds the indexed form of the product an upsert carries. The
// price range and stock are the publisher's, derived from the variants.
func documentOf(ev *events.ProductChanged) *document {
	p := ev.Product
	d := &document{
		ID: ev.ID, Slug: p.Slug, Name: p.Name, Description: p.Description, Brand: p.Brand,
		Category: p.Category, Tags: p.Tags,
		PriceMin: p.Price.Min, PriceMax: p.Price.Max, Currency: p.Price.Currency, InStock: p.InStock,
		Sales: p.SalesCount, Views: p.ViewCount, Version: ev.Version,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if len(p.Images) > 0 {
		d.Image = p.Images[0].URL
	}
	d.Thumbnail = events.Thumbnail(p.Images)
	if d.CreatedAt.IsZero() {
		d.CreatedAt = ev.At
	}
	return d
}
