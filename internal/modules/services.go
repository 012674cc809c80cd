package modules

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsevents"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticshttp"
	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/auth/authhttp"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/productevents"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchevents"
	"github.com/vitrine-dev/vitrine/internal/search/searchhttp"
)

// initAuth opens the auth store and starts the service. Failed logins are
// counted per account in Redis when there is one, so that instances share
// the count and addresses cannot take turns on one account.
func (a *App) initAuth(ctx context.Context) error {
	store, err := authdb.Open(ctx, a.cfg.SQLConfig(Auth))
	if err != nil {
		return fmt.Errorf("auth store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	throttle, err := a.loginThrottle()
	if err != nil {
		return err
	}
	a.auth, err = auth.NewService(store, auth.Config{Issuer: a.cfg.Issuer, Audience: a.cfg.Audience,
		AccessTTL: a.cfg.AccessTTL, LoginThrottle: throttle, Logger: a.logger})
	if err != nil {
		return fmt.Errorf("auth service: %w", err)
	}
	a.checks["auth_db"] = a.auth.Ping
	a.background = append(a.background, a.auth.Run)
	authhttp.Routes(a.Router, a.auth)
	a.metrics.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vitrine_auth_login_failures_total", Help: "Logins refused for a wrong e-mail or password.",
		}, func() float64 { failed, _ := a.auth.LoginCounts(); return float64(failed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vitrine_auth_login_throttled_total", Help: "Logins refused unchecked by the login throttle: their account had too many failures in a row.",
		}, func() float64 { _, throttled := a.auth.LoginCounts(); return float64(throttled) }),
	)
	return nil
}

// loginThrottle counts failed logins in memory, or in Redis when there is one.
func (a *App) loginThrottle() (ratelimit.Throttle, error) {
	policy := a.cfg.LoginThrottle
	if policy == (ratelimit.ThrottlePolicy{}) {
		policy = ratelimit.DefaultThrottlePolicy()
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	var throttle ratelimit.Throttle = ratelimit.NewMemoryThrottle(policy, 0)
	if a.redis != nil {
		throttle = ratelimit.NewRedisThrottle(a.redis, policy, ratelimit.RedisThrottleConfig{
			Prefix: "vitrine:" + a.cfg.Namespace + ":", Fallback: throttle, Breakers: a.breakers, Logger: a.logger})
	}
	return throttle, nil
}

// initProduct opens the product store, relays its outbox to the stream,
// serves its reads through the cache and keeps the cache in step with the
// catalog events of every instance.
func (a *App) initProduct(ctx context.Context) error {
	store, err := productdb.Open(ctx, a.sqlConfigWithReplicas(Product))
	if err != nil {
		return fmt.Errorf("product store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	// A configured secret wins; otherwise every instance on the store
	// shares the one kept there.
	cursorSecret := []byte(a.cfg.CursorSecret)
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
	producthttp.Routes(a.Router, svc, rc)
	a.guard = newStreamGuard(a.cfg.CatalogStaleAfter, rc.Seq(), func(ctx context.Context) (uint64, error) {
		return a.bus.LastSeq(ctx, events.CatalogStream)
	}, a.logger, a.metrics.Registry)
	a.directProduct = uncachedProductRoutes(svc)
	a.background = append(a.background, relay.Run, a.guard.run,
		func(ctx context.Context) { store.DB().Maintain(ctx, 10*time.Minute) })
	a.consume(productevents.Consumers(svc, guardedCache{rc, a.guard}, store.DB()))
	return nil
}

// sqlConfigWithReplicas is where service keeps its data, with the read
// replicas its reads that may lag can use.
func (a *App) sqlConfigWithReplicas(service string) sqldb.Config {
	c := a.cfg.SQLConfig(service)
	if c.PostgresURL != "" {
		c.ReplicaURLs, c.ReplicaMaxLag = a.cfg.PostgresReplicaURLs, a.cfg.ReplicaMaxLag
		c.Logger, c.Registerer = a.logger, a.metrics.Registry
	}
	return c
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

// productReadCache keys cached listings by the catalog stream's position;
// its creation time tells a recreated stream (whose sequence restarts)
// apart.
func (a *App) productReadCache(ctx context.Context) (*producthttp.ReadCache, error) {
	created, seq, err := a.bus.Position(ctx, events.CatalogStream)
	if err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	return producthttp.NewReadCache(cache.New(cache.Config{
		Redis: a.redis, Prefix: "vitrine:" + a.cfg.Namespace + ":product:" + strconv.FormatInt(created.UnixNano(), 36) + ":",
		Breakers: a.breakers, Logger: a.logger, Registerer: a.metrics.Registry,
	}), seq), nil
}

// initSearch opens this instance's own index and keeps it fed from the
// catalog stream.
func (a *App) initSearch(context.Context) error {
	svc, err := search.Open(filepath.Join(a.cfg.DataDir, "search"), search.Options{
		SynonymsFile: a.cfg.Synonyms,
		Recorder:     searchevents.Recorder{Bus: a.bus, Logger: a.logger},
		StreamLast:   func(ctx context.Context) (uint64, error) { return a.bus.LastSeq(ctx, events.CatalogStream) },
		Logger:       a.logger,
	})
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	a.closers = append(a.closers, svc.Close)
	// The status reads the stream's position: without the stream the index
	// still answers (eventually consistent), so the instance stays ready.
	a.softChecks["search_index"] = func(ctx context.Context) error { _, err := svc.Status(ctx); return err }
	a.metrics.Registry.MustRegister(svc.LagGauge())
	searchhttp.Routes(a.Router, svc)
	a.consume(searchevents.Consumers(svc))
	return nil
}

// initAnalytics opens the analytics store, takes in the catalog (to know
// which products exist) and the search events, and publishes product
// statistics back to the stream.
func (a *App) initAnalytics(ctx context.Context) error {
	store, err := analyticsdb.Open(ctx, a.sqlConfigWithReplicas(Analytics))
	if err != nil {
		return fmt.Errorf("analytics store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	svc := analytics.NewService(store, analytics.Config{Logger: a.logger})
	a.checks["analytics_db"] = svc.Ping
	analyticshttp.Routes(a.Router, svc)
	a.background = append(a.background, func(ctx context.Context) { svc.Run(ctx, analyticsevents.Publisher{Bus: a.bus}) })
	a.consume(analyticsevents.Consumers(svc))
	return nil
}
