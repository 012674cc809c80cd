package analytics

import (
	"context"
	"time"
)

// Store keeps the dedupe rows, the known products, the rollups and the
// all-time product totals. It is implemented once, in analyticsdb, on SQLite
// and PostgreSQL.
type Store interface {
	// RecordEvents counts each event of evs whose product is known and
	// whose id was not seen before (in an earlier call or earlier in evs):
	// it stores the id and adds the event to the rollups and the product
	// totals, all in one transaction. It returns the outcome of each event,
	// in order. An event of an unknown product is not stored, so its id
	// stays free for a retry once the product is known.
	RecordEvents(ctx context.Context, evs []Event) ([]Outcome, error)
	// RecordSearches does the same for search events, reporting for each
	// whether it was new. An empty Query is counted in the summary only.
	RecordSearches(ctx context.Context, evs []Search) ([]bool, error)
	// SetProduct records that a product exists (or, when deleted, no longer
	// does) as of version. An older version than the one stored is
	// ignored; at the same version a deletion wins.
	SetProduct(ctx context.Context, p ProductState) error

	// TopProducts returns up to limit products by descending metric summed
	// over the minutes from from (minute-aligned) on, ties by product id.
	// Products whose sum is zero are left out.
	TopProducts(ctx context.Context, metric Metric, from time.Time, limit int) ([]ProductValue, error)
	// TopSearches is TopProducts for normalised queries.
	TopSearches(ctx context.Context, kind SearchKind, from time.Time, limit int) ([]QueryCount, error)
	// Summary returns the counters of the minutes from from on, summed per
	// bucket (bucket starts are multiples of bucket since the Unix epoch),
	// in time order, leaving out empty buckets.
	Summary(ctx context.Context, from time.Time, bucket time.Duration) ([]SummaryBucket, error)

	// UnpublishedTotals returns up to limit products, by id after after,
	// whose views or units sold changed since MarkPublished last saw them.
	UnpublishedTotals(ctx context.Context, after string, limit int) ([]ProductTotals, error)
	// MarkPublished records that the totals were published at their Rev. A
	// product that changed since it was read stays unpublished.
	MarkPublished(ctx context.Context, totals []ProductTotals) error

	// Prune deletes dedupe rows of events that happened before before, and
	// the rollups of minutes (and hours) that ended before it. Totals stay.
	Prune(ctx context.Context, before time.Time) error

	Ping(ctx context.Context) error
	Close() error
}

// Event is a validated client event.
type Event struct {
	ID        string
	Type      string // TypeView, TypeAddToCart or TypePurchase
	ProductID string
	Quantity  int64 // 1 for views
	At        time.Time
}

// Outcome is what RecordEvents did with one event.
type Outcome int

const (
	Accepted       Outcome = iota + 1 // counted
	Duplicate                         // its id was seen before; not counted again
	UnknownProduct                    // no such product in the catalog; not counted
)

// Search is a search event with its query normalised (NormalizeQuery).
type Search struct {
	ID      string
	Query   string
	Results int
	At      time.Time
}

// ProductState is what analytics knows of a catalog product.
type ProductState struct {
	ID      string
	Version int64
	Deleted bool
}

// ProductTotals are the all-time counters of one product. Rev grows with
// each change of Views or UnitsSold.
type ProductTotals struct {
	ProductID string
	Views     int64
	AddToCart int64
	Purchases int64
	UnitsSold int64
	Rev       int64
}

// Counters are the sums of a period.
type Counters struct {
	Views              int64 `json:"views"`
	AddToCart          int64 `json:"add_to_cart"`
	Purchases          int64 `json:"purchases"`
	UnitsSold          int64 `json:"units_sold"`
	Searches           int64 `json:"searches"`
	ZeroResultSearches int64 `json:"zero_result_searches"`
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	c.Views += o.Views
	c.AddToCart += o.AddToCart
	c.Purchases += o.Purchases
	c.UnitsSold += o.UnitsSold
	c.Searches += o.Searches
	c.ZeroResultSearches += o.ZeroResultSearches
}

// SummaryBucket is the counters of the minutes of one bucket.
type SummaryBucket struct {
	Start time.Time
	Counters
}

// ProductValue is one row of a top-products report.
type ProductValue struct {
	ProductID string `json:"product_id"`
	Value     int64  `json:"value"`
}

// QueryCount is one row of a searches report.
type QueryCount struct {
	Query string `json:"query"`
	Count int64  `json:"count"`
}
