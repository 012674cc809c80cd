package product

import (
	"context"
	"errors"
	"time"
)

// Store keeps products and categories. Every write also records its catalog
// event in the same transaction (the outbox), so readers of the event stream
// never miss a change nor see one that was rolled back.
type Store interface {
	// CreateProduct inserts p. When idem is not nil, the idempotency record
	// is stored in the same transaction; ErrIdempotencyKeyTaken means
	// another request holds the key. A taken slug or SKU is a KindConflict.
	CreateProduct(ctx context.Context, p *Product, idem *IdempotencyRecord) error
	// CreateProducts inserts a batch in one transaction (bulk loading).
	CreateProducts(ctx context.Context, ps []*Product) error
	// ProductsBySlug returns the stored products among slugs, by slug.
	ProductsBySlug(ctx context.Context, slugs []string) (map[string]*Product, error)
	// SKUOwners returns the id of the product holding each of skus that
	// is taken.
	SKUOwners(ctx context.Context, skus []string) (map[string]string, error)
	// WriteProducts inserts creates and replaces updates (each if its
	// stored version is still Version-1; else ErrVersionMismatch), with
	// their events, in one transaction (bulk import).
	WriteProducts(ctx context.Context, creates, updates []*Product) error
	// Product returns a product by id or slug (KindNotFound when absent).
	Product(ctx context.Context, idOrSlug string) (*Product, error)
	// UpdateProduct replaces p when its stored version is still
	// expectVersion; otherwise it returns ErrVersionMismatch.
	UpdateProduct(ctx context.Context, p *Product, expectVersion int64) error
	// DeleteProduct removes a product if its version is still expectVersion.
	DeleteProduct(ctx context.Context, id string, expectVersion int64) error
	// ListProducts returns up to q.Limit+1 products after q.After in q.Sort order.
	ListProducts(ctx context.Context, q ListQuery) ([]*Product, error)
	// Bestsellers returns active products by descending sales.
	Bestsellers(ctx context.Context, limit int) ([]*Product, error)
	// SetStats sets the all-time sales and views of products, ignoring unknown ids.
	SetStats(ctx context.Context, stats []Stat) error

	// IdempotencyRecord returns the stored response for a key (KindNotFound when absent).
	IdempotencyRecord(ctx context.Context, key string) (*IdempotencyRecord, error)

	// Categories returns every category (flat, parent links set).
	Categories(ctx context.Context) ([]Category, error)
	// CreateCategory adds a category. It checks the parent with
	// CheckParent inside its write transaction.
	CreateCategory(ctx context.Context, c Category) error
	// UpdateCategory renames or moves a category (KindNotFound when absent),
	// checking the parent as CreateCategory does: concurrent moves must not
	// make a cycle.
	UpdateCategory(ctx context.Context, slug string, c Category) error
	// DeleteCategory removes a category that has no products and no children.
	DeleteCategory(ctx context.Context, slug string) error

	Ping(ctx context.Context) error
	Close() error
}

// ErrVersionMismatch is returned by conditional writes on a stale version.
var ErrVersionMismatch = errors.New("product: version mismatch")

// ErrIdempotencyKeyTaken is returned when a concurrent request stored the
// same idempotency key first.
var ErrIdempotencyKeyTaken = errors.New("product: idempotency key taken")

// IdempotencyRecord is the first response to a POST carrying an
// Idempotency-Key, replayed for retries with the same body.
type IdempotencyRecord struct {
	Key         string // scoped by caller: "<user id>:<client key>"
	RequestHash string // SHA-256 of the request body
	Status      int
	Body        []byte
	ProductID   string
	CreatedAt   time.Time
}

// ListQuery selects and orders a page of products.
type ListQuery struct {
	Category   string   // the requested category slug
	Categories []string // that category and its descendants, filled in by the service
	Brands     []string // any of these brands
	MinPrice   *int64   // against the lowest variant price
	MaxPrice   *int64
	InStock    bool
	Statuses   []string // empty means active only
	Sort       string   // the name of one of the SortOrders
	Limit      int
	After      *Cursor // the last row of the previous page
}

// Stat is the all-time counters of a product, fed back by analytics.
type Stat struct {
	ProductID string
	Sales     int64
	Views     int64
}
