// Package analytics is the analytics service: client events (views, carts,
// purchases) and search events in, per-minute rollups and product
// statistics out. Every event is deduplicated by its id and counted in the
// rollups in the same transaction, so queries never scan raw events.
package analytics

import (
	"context"
	"log/slog"
	"time"
)

// Client event types.
const (
	TypeView      = "view"
	TypeAddToCart = "add_to_cart"
	TypePurchase  = "purchase"
)

// Limits of ingestion and retention.
const (
	MaxBatch    = 500  // client events in one request
	MaxIDLen    = 64   // of an event id and a product id
	MaxQuantity = 1000 // units in one add_to_cart or purchase
	MaxQueryLen = 200  // bytes of a normalised search query; longer ones are cut
	// MaxAge is how old an event may be when it arrives. Dedupe rows live
	// longer (Retention), so a replay is recognised for as long as it would
	// otherwise be accepted.
	MaxAge = 7 * 24 * time.Hour
	// Retention is how long dedupe rows and rollups are kept.
	Retention = 8 * 24 * time.Hour
	// DefaultMaxSkew is how far ahead of the server's clock a client's
	// may be (Config.MaxSkew).
	DefaultMaxSkew = 5 * time.Minute
	// MaxStatsBatch bounds the items of one ProductStats message.
	MaxStatsBatch = 500
	// PruneInterval is how often Run deletes what Retention lets go.
	PruneInterval = time.Hour
)

// Config tunes a Service. The zero value of each field picks its default.
type Config struct {
	Now           func() time.Time // time.Now
	StatsInterval time.Duration    // how often Run publishes changed product stats; 2 s
	// MaxSkew is how far in the future a client's clock may put an event;
	// such events count at the time they arrive. 5 min.
	MaxSkew time.Duration
	// ShopperWindow is how long a shopper's events of one type for one
	// product count once, however many are sent; 30 min.
	ShopperWindow time.Duration
	// ShopperCap is how many events one shopper may have counted in a
	// clock hour; the rest are taken but not counted. 100.
	ShopperCap int
	// Logger receives the service's background faults; slog.Default()
	// when nil.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 2 * time.Second
	}
	if c.MaxSkew <= 0 {
		c.MaxSkew = DefaultMaxSkew
	}
	if c.ShopperWindow <= 0 {
		c.ShopperWindow = 30 * time.Minute
	}
	if c.ShopperCap <= 0 {
		c.ShopperCap = 100
	}
}

// Service implements the analytics use cases on top of a Store.
type Service struct {
	store Store
	cfg   Config
}

// NewService returns a service on store.
func NewService(store Store, cfg Config) *Service {
	cfg.setDefaults()
	return &Service{store: store, cfg: cfg}
}

// Ping reports whether the store answers (for /readyz).
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// now is the service's clock, in UTC.
func (s *Service) now() time.Time { return s.cfg.Now().UTC() }
