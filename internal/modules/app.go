package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// App is the set of running services behind one HTTP handler.
type App struct {
	Router  *httpx.Router
	Handler http.Handler

	cfg     Config
	logger  *slog.Logger
	metrics *obs.Metrics
	// What the modules hand each other.
	breakers     *resilience.Breakers // every remote call's breaker comes from here
	redis        *redis.Client
	auth         *auth.Service
	authenticate func(http.Handler) http.Handler
	bus          *bus.Bus
	// routeLayers are what modules put in front of the router (see routes).
	routeLayers []httpx.Middleware

	checks map[string]func(context.Context) error
	// softChecks show in /readyz without failing it: the instance still
	// serves without them.
	softChecks map[string]func(context.Context) error
	closers    []func() error
	background []func(context.Context)
	draining   atomic.Bool
	bg         context.Context // lives until Close
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// New starts the modules the targets need and wires them together.
// Background work (relays, consumers, key rotation...) runs until Close.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	bg, cancel := context.WithCancel(context.Background())
	a := &App{Router: httpx.NewRouter(), cfg: cfg, logger: cfg.Logger, metrics: obs.NewMetrics(),
		checks: map[string]func(context.Context) error{}, softChecks: map[string]func(context.Context) error{}, bg: bg, cancel: cancel,
		breakers: resilience.NewBreakers(cfg.Breakers, cfg.Logger)}
	a.metrics.Registry.MustRegister(a.breakers)
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	inits := map[string]func(context.Context) error{
		Redis:     a.startRedis,
		Auth:      a.startAuth,
		Tokens:    a.startTokens,
		Bus:       a.startBus,
		Product:   a.startProduct,
		Search:    a.startSearch,
		Analytics: a.startAnalytics,
		Server:    a.startServer,
	}
	for _, m := range needed(cfg.Targets) {
		if err := inits[m](ctx); err != nil {
			return nil, err
		}
	}
	for _, run := range a.background {
		a.wg.Go(func() { run(bg) })
	}
	return a, nil
}

// Metrics serves the Prometheus metrics of the process, for the admin
// address: they are not for the public.
func (a *App) Metrics() http.Handler { return a.metrics.Handler() }

// Drain marks the process as going away: /readyz turns 503 so the load
// balancer stops sending new requests.
func (a *App) Drain() { a.draining.Store(true) }

// Close stops background work and closes the stores.
func (a *App) Close() error {
	a.cancel()
	a.wg.Wait()
	var errList []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errList = append(errList, a.closers[i]())
	}
	return errors.Join(errList...)
}

// sqlConfigWithReplicas is where service keeps its data, with the read
// replicas its reads that may lag can use.
func (a *App) sqlConfigWithReplicas(service string) sqldb.Config {
	c := a.cfg.SQLConfig(service)
	if c.PostgresURL != "" {
		c.ReplicaURLs, c.ReplicaMaxLag = a.cfg.Replicas.URLs, a.cfg.Replicas.MaxLag
		c.Logger, c.Registerer = a.logger, a.metrics.Registry
	}
	return c
}

// Migrate applies the migrations of the targeted services (opening a store
// migrates it) and closes the stores again.
func Migrate(ctx context.Context, cfg Config) error {
	open := map[string]func(context.Context, sqldb.Config) (interface{ Close() error }, error){
		Auth: func(ctx context.Context, c sqldb.Config) (interface{ Close() error }, error) {
			return authdb.Open(ctx, c)
		},
		Product: func(ctx context.Context, c sqldb.Config) (interface{ Close() error }, error) {
			return productdb.Open(ctx, c)
		},
		Analytics: func(ctx context.Context, c sqldb.Config) (interface{ Close() error }, error) {
			return analyticsdb.Open(ctx, c)
		},
	}
	for _, t := range cfg.Targets {
		if open[t] == nil {
			continue // search keeps no SQL data
		}
		store, err := open[t](ctx, cfg.SQLConfig(t))
		if err != nil {
			return fmt.Errorf("migrate %s: %w", t, err)
		}
		store.Close()
	}
	return nil
}
