package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
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
	order, err := startOrder(table, cfg.Targets)
	if err != nil {
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
	for _, m := range order {
		if err := m.start(a, ctx); err != nil {
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

// Migrate applies the migrations of the targeted services and closes
// their stores again.
func Migrate(ctx context.Context, cfg Config) error {
	for _, m := range table {
		if m.migrate == nil || !slices.Contains(cfg.Targets, m.name) {
			continue // search keeps no SQL data
		}
		if err := m.migrate(ctx, cfg.SQLConfig(m.name)); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}
