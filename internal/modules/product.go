package modules

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/catalogio"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/productevents"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
)

// ProductConfig tunes the product service.
type ProductConfig struct {
	// CursorSecret signs listing cursors; empty uses the one kept in the
	// product store. It is a secret: never log it.
	CursorSecret string
	// BlobURL is where pictures are kept (file:// or s3://); empty means
	// --data-dir/blobs.
	BlobURL string
	// CatalogStaleAfter bounds how long an instance that lost the catalog
	// stream serves catalog reads from its cache (see streamGuard).
	CatalogStaleAfter time.Duration
}

// RegisterFlags registers --cursor-secret, --blob-url and
// --catalog-stale-after.
func (c *ProductConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.CursorSecret, "cursor-secret", "", "secret (at least 32 bytes) that signs listing cursors, the same on every product instance; empty keeps a generated one in the product store")
	f.StringVar(&c.BlobURL, "blob-url", "", "where product pictures are kept: file:///a/dir, or s3://bucket?endpoint=…&region=…&use_path_style=true for any S3-compatible store (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); empty keeps them under --data-dir/blobs")
	f.DurationVar(&c.CatalogStaleAfter, "catalog-stale-after", 2*time.Second, "how long a product instance that lost the event stream keeps serving from its cache before it reads from the database")
}

// Validate checks the secret's length and the staleness bound.
func (c ProductConfig) Validate() error {
	if c.CursorSecret != "" && len(c.CursorSecret) < product.CursorSecretLen {
		return fmt.Errorf("--cursor-secret must be at least %d bytes", product.CursorSecretLen)
	}
	if c.CatalogStaleAfter <= 0 {
		return errors.New("--catalog-stale-after must be positive")
	}
	return nil
}

// startProduct opens the product store, relays its outbox to the stream,
// serves its reads through the cache and keeps the cache in step with the
// catalog events of every instance.
func (a *App) startProduct(ctx context.Context) error {
	store, err := productdb.Open(ctx, a.sqlConfigWithReplicas(Product))
	if err != nil {
		return fmt.Errorf("product store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	// A configured secret wins; otherwise every instance on the store
	// shares the one kept there.
	cursorSecret := []byte(a.cfg.Product.CursorSecret)
	if len(cursorSecret) == 0 {
		if cursorSecret, err = store.CursorSecret(ctx); err != nil {
			return fmt.Errorf("product store: %w", err)
		}
	}
	svc, err := product.NewService(store, cursorSecret)
	if err != nil {
		return fmt.Errorf("--cursor-secret: %w", err)
	}
	store.UseClock(svc.Now)
	a.checks["product_db"] = store.Ping
	if err := a.productImages(ctx, svc); err != nil {
		return err
	}

	relay := outbox.New(store.DB(), a.bus, Product, a.logger)
	relay.TraceWith(a.cfg.Tracer)
	store.AfterWrite(relay.Kick)
	a.metrics.Registry.MustRegister(relay.BacklogGauge())

	rc, err := a.productReadCache(ctx)
	if err != nil {
		return err
	}
	producthttp.Routes(a.Router, svc, rc, a.cfg.Edge.SharedCache())
	// Import jobs outlive their request; closing stops them, before the
	// store closes.
	jobs := catalogio.NewJobs(svc, store, "", a.logger)
	a.closers = append(a.closers, jobs.Close)
	fileRoutes := func(rt *httpx.Router) { producthttp.CatalogFileRoutes(rt, jobs, store) }
	fileRoutes(a.Router)
	if err := a.startEdgePurge(); err != nil {
		return err
	}
	guard := newStreamGuard(a.cfg.Product.CatalogStaleAfter, rc.Seq(), func(ctx context.Context) (uint64, error) {
		return a.bus.LastSeq(ctx, events.CatalogStream)
	}, a.logger, a.metrics.Registry)
	a.routeLayers = append(a.routeLayers, catalogBypass{guard: guard, direct: uncachedProductRoutes(svc, a.cfg.Edge.SharedCache(), fileRoutes)}.layer)
	a.background = append(a.background, relay.Run, guard.run,
		func(ctx context.Context) { store.DB().Maintain(ctx, 10*time.Minute) })
	a.consume(productevents.Consumers(svc, guardedCache{rc, guard}, store.DB()))
	return nil
}

// productImages opens the blob store that keeps product pictures. Without
// it the catalog still answers, so it is a soft check of readiness.
func (a *App) productImages(ctx context.Context, svc *product.Service) error {
	blobURL, err := a.cfg.BlobStoreURL()
	if err != nil {
		return fmt.Errorf("--blob-url: %w", err)
	}
	blobs, err := blobstore.Open(ctx, blobURL)
	if err != nil {
		return fmt.Errorf("--blob-url: %w", err)
	}
	a.closers = append(a.closers, blobs.Close)
	if err := svc.UseImages(blobs, a.logger); err != nil {
		return err
	}
	a.softChecks["blob_store"] = blobs.Ping
	a.background = append(a.background, func(ctx context.Context) { productevents.SweepStaleUploads(ctx, svc, a.logger) })
	return nil
}

// BlobStoreURL returns where the product service keeps pictures (serve,
// and seed, which stores the pictures it draws).
func (c Config) BlobStoreURL() (string, error) {
	if c.Product.BlobURL != "" {
		return c.Product.BlobURL, nil
	}
	dir, err := filepath.Abs(filepath.Join(c.Store.DataDir, "blobs"))
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String(), nil
}

// productReadCache keys cached listings by the catalog stream's position;
// its creation time tells a recreated stream (whose sequence restarts)
// apart.
func (a *App) productReadCache(ctx context.Context) (*producthttp.ReadCache, error) {
	created, seq, err := a.bus.Position(ctx, events.CatalogStream)
	if err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	return producthttp.NewReadCache(cache.New(cache.Config{
		Redis: a.redis, Prefix: a.redisPrefix() + "product:" + strconv.FormatInt(created.UnixNano(), 36) + ":",
		Breakers: a.breakers, Logger: a.logger, Registerer: a.metrics.Registry,
	}), seq), nil
}
