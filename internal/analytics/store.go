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
	// RecordShopperEvents is RecordEvents for the events of one shopper,
	// which count only within gate's bounds: an event whose product and
	// type the shopper already had counted (or recorded past the cap) in
	// the window gate.Window is Repeated, and once the shopper's events
	// of the hour gate.Hour reach gate.Cap, the rest are OverCap. Neither
	// is counted; both keep their id, so a retry is a Duplicate. Several
	// calls for one shopper at once share the cap without exceeding it.
	RecordShopperEvents(ctx context.Context, gate ShopperGate, evs []Event) ([]Outcome, error)
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
	// PruneShoppers deletes the shopper windows and hourly counts that
	// started before before.
	PruneShoppers(ctx context.Context, before time.Time) error

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
	Repeated                          // its shopper had this counted within the window; taken, not counted
	OverCap                           // its shopper passed the hourly cap; taken, not counted
)

// ShopperGate bounds what one shopper's events count for: once per
// product and type per window, and at most Cap events an hour.
type ShopperGate struct {
	Shopper []byte    // a hash of who the shopper is, never the address itself
	Window  time.Time // start of the current dedupe window
	Hour    time.Time // start of the current hour of the cap
	Cap     int
}

// Search is a search event with its query normalised (NormalizeQuery).
type Search struct {
	ID      string
	Query   string
	Results int
	At      time.Time
	Unknown []string // when it found nothing: the words the catalog does not know
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
	// UnknownWords, in the zero-results report, are the words of the query
	// that the catalog holds in no form, even with typos, as the last
	// search said: a synonym would help. Empty when all were known.
	UnknownWords []string `json:"unknown_words,omitempty"`
}
