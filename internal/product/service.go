package product

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Listing limits.
const (
	DefaultLimit    = 20
	MaxLimit        = 100
	MaxBrandFilters = 20
	IdempotencyTTL  = 24 * time.Hour
)

// Service holds the catalog's rules on top of a Store.
type Service struct {
	store        Store
	uploads      *uploads // nil until UseImages
	cursorSecret []byte
	now          func() time.Time
}

// NewService returns a service over store. cursorSecret signs listing
// cursors: every instance serving the catalog must have the same one, and
// it must be at least CursorSecretLen bytes.
func NewService(store Store, cursorSecret []byte) (*Service, error) {
	if len(cursorSecret) < CursorSecretLen {
		return nil, fmt.Errorf("product: the cursor secret must be at least %d bytes", CursorSecretLen)
	}
	return &Service{store: store, cursorSecret: cursorSecret, now: time.Now}, nil
}

// Now is the service's clock; its store stamps rows and events with it.
func (s *Service) Now() time.Time { return s.now() }

// Product returns a product by id or slug. Unless includeHidden, only
// active products are found.
func (s *Service) Product(ctx context.Context, idOrSlug string, includeHidden bool) (*Product, error) {
	p, err := s.store.Product(ctx, idOrSlug)
	if err != nil {
		return nil, err
	}
	if !includeHidden && p.Status != StatusActive {
		return nil, errs.New(errs.KindNotFound, "product %q not found", idOrSlug)
	}
	return p, nil
}

// Page is one page of a listing.
type Page struct {
	Items      []*Product `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// List returns a page of products matching q; cursor continues a previous page.
func (s *Service) List(ctx context.Context, q ListQuery, cursor string) (*Page, error) {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Sort == "" {
		q.Sort = SortNewest
	}
	if q.Category != "" {
		cats, err := s.store.Categories(ctx)
		if err != nil {
			return nil, err
		}
		q.Categories = Descendants(cats, q.Category)
		if q.Categories == nil {
			return nil, &errs.Error{Kind: errs.KindInvalid, Msg: "unknown category",
				Fields: []errs.FieldError{{Field: "category", Detail: "no category has slug " + strconv.Quote(q.Category)}}}
		}
	}
	scope := q.Scope()
	if cursor != "" {
		c, err := DecodeCursor(cursor, q.Sort, scope, s.cursorSecret)
		if err != nil {
			return nil, err
		}
		q.After = c
	}
	items, err := s.store.ListProducts(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &Page{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		next := CursorFor(page.Items[q.Limit-1], q.Sort, scope).Encode(s.cursorSecret)
		page.NextCursor = &next
	}
	return page, nil
}

// Bestsellers returns the best-selling active products.
func (s *Service) Bestsellers(ctx context.Context, limit int) ([]*Product, error) {
	return s.store.Bestsellers(ctx, limit)
}

// IdempotencyKey identifies a retried POST: the caller, its key and a hash of
// the body it sent.
type IdempotencyKey struct {
	Scope string // the caller's user id
	Key   string
	Body  []byte
}

// Create validates in and stores a new product. With an idempotency key, a
// retry with the same body returns the first product (replayed=true) and
// creates nothing; the same key with another body is a KindUnprocessable.
func (s *Service) Create(ctx context.Context, in Input, idem *IdempotencyKey) (p *Product, replayed bool, err error) {
	var rec *IdempotencyRecord
	if idem != nil {
		sum := sha256.Sum256(idem.Body)
		rec = &IdempotencyRecord{Key: idem.Scope + ":" + idem.Key, RequestHash: hex.EncodeToString(sum[:])}
		if p, err := s.replay(ctx, rec); p != nil || err != nil {
			return p, p != nil, err
		}
	}
	if err := Prepare(&in); err != nil {
		return nil, false, err
	}
	if err := s.checkCategory(ctx, in.Category); err != nil {
		return nil, false, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, err
	}
	p = &Product{ID: id.String(), Version: 1, CreatedAt: now, UpdatedAt: now}
	p.apply(in)
	if rec != nil {
		rec.Status = 201
		rec.ProductID = p.ID
		rec.CreatedAt = now
		if rec.Body, err = json.Marshal(p); err != nil {
			return nil, false, err
		}
	}
	err = s.store.CreateProduct(ctx, p, rec)
	if errors.Is(err, ErrIdempotencyKeyTaken) {
		// A concurrent request with the same key won the race; answer as it did.
		if p, err := s.replay(ctx, rec); p != nil || err != nil {
			return p, p != nil, err
		}
	}
	if err != nil {
		return nil, false, err
	}
	return p, false, nil
}

// replay returns the product first created under rec's key, nil when the
// key is new.
func (s *Service) replay(ctx context.Context, rec *IdempotencyRecord) (*Product, error) {
	old, err := s.store.IdempotencyRecord(ctx, rec.Key)
	if errs.Is(err, errs.KindNotFound) || (err == nil && s.now().Sub(old.CreatedAt) > IdempotencyTTL) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if old.RequestHash != rec.RequestHash {
		return nil, errs.New(errs.KindUnprocessable, "this Idempotency-Key was already used with a different request body")
	}
	var p Product
	if err := json.Unmarshal(old.Body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Expected is the precondition of a write: the versions of the product it
// may replace. The zero value accepts any version and retries a write that
// loses a race with another.
type Expected struct {
	// Stated is set when the client stated a precondition: a write that
	// loses a race then fails with KindPrecondition instead of retrying.
	Stated bool
	// Any accepts every version (If-Match: *); otherwise the current
	// version must be one of Versions.
	Any      bool
	Versions []int64
}

// check compares the precondition with the current version. The version
// decides, so a change of counters alone (sales, views) fails no write.
func (e Expected) check(version int64) error {
	if !e.Stated || e.Any || slices.Contains(e.Versions, version) {
		return nil
	}
	return errs.New(errs.KindPrecondition, "If-Match does not name the current version (%d)", version)
}

// Replace overwrites a product's writable fields with in, if its version
// is one expected.
func (s *Service) Replace(ctx context.Context, id string, in Input, expected Expected) (*Product, error) {
	return s.Update(ctx, id, expected, func(Input) (Input, error) { return in, nil })
}

// Update runs a read-modify-write of a product's writable fields: change
// gets the current ones and returns the new ones. A write that loses a
// race is tried again (a few times) unless expected was stated.
func (s *Service) Update(ctx context.Context, id string, expected Expected, change func(cur Input) (Input, error)) (*Product, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.current(ctx, id, expected)
		if err != nil {
			return nil, err
		}
		in, err := change(InputOf(cur))
		if err != nil {
			return nil, err
		}
		if err := Prepare(&in); err != nil {
			return nil, err
		}
		if err := s.checkCategory(ctx, in.Category); err != nil {
			return nil, err
		}
		next := *cur
		next.apply(in)
		next.Version = cur.Version + 1
		next.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		err = s.store.UpdateProduct(ctx, &next, cur.Version)
		if errors.Is(err, ErrVersionMismatch) {
			if expected.Stated || attempt >= 3 {
				return nil, errs.New(errs.KindPrecondition, "the product changed since version %d", cur.Version)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return &next, nil
	}
}

// Delete removes a product, if its version is one expected.
func (s *Service) Delete(ctx context.Context, id string, expected Expected) error {
	cur, err := s.current(ctx, id, expected)
	if err != nil {
		return err
	}
	err = s.store.DeleteProduct(ctx, id, cur.Version)
	if errors.Is(err, ErrVersionMismatch) {
		return errs.New(errs.KindPrecondition, "the product changed since version %d", cur.Version)
	}
	return err
}

// current loads the product a write targets, by id only (a slug that looks
// like the id does not count), and checks it is a version expected.
func (s *Service) current(ctx context.Context, id string, expected Expected) (*Product, error) {
	cur, err := s.store.Product(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.ID != id {
		return nil, errs.New(errs.KindNotFound, "product %q not found", id)
	}
	if err := expected.check(cur.Version); err != nil {
		return nil, err
	}
	return cur, nil
}

func (s *Service) checkCategory(ctx context.Context, slug string) error {
	if slug == "" {
		return nil
	}
	cats, err := s.store.Categories(ctx)
	if err != nil {
		return err
	}
	for _, c := range cats {
		if c.Slug == slug {
			return nil
		}
	}
	return invalidField(errs.KindInvalid, "category", "no category has slug "+strconv.Quote(slug))
}

// ApplyStats records the all-time counters that analytics publishes.
func (s *Service) ApplyStats(ctx context.Context, ev events.ProductStats) error {
	stats := make([]Stat, 0, len(ev.Items))
	for _, it := range ev.Items {
		stats = append(stats, Stat{ProductID: it.ProductID, Sales: it.Sales, Views: it.Views})
	}
	return s.store.SetStats(ctx, stats)
}
