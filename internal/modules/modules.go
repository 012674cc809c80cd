// Package modules decides what runs in a process, in the manner of Loki's
// module manager. A target names one service; "all" is an alias for every
// service. Each module declares what it needs (deps); New starts the
// modules the targets need, in the order of the map below, and mounts
// their routes on one router. It is the only place where services meet:
// each service's event adapter (productevents, searchevents,
// analyticsevents) says what it consumes, and modules connects them to
// the bus.
//
// Files: modules.go (the map and the App), config.go, platform.go (Redis, token
// checking, the bus), services.go (one function a service), server.go
// (health routes and the request chain).
package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
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

// Target names: the services.
const (
	All       = "all"
	Product   = "product"
	Auth      = "auth"
	Analytics = "analytics"
	Search    = "search"
)

// Modules the services need.
const (
	Redis  = "redis"  // the shared cache and rate limits, when --redis-url is set
	Tokens = "tokens" // access-token checking: the auth service's keys, in-process or remote
	Bus    = "bus"    // the event stream
	Server = "server" // health routes and the request chain, around every route
)

// deps says what each module needs. Tokens uses the auth module when it
// runs in the same process.
var deps = map[string][]string{
	Redis:     nil,
	Auth:      {Redis},
	Tokens:    nil,
	Bus:       nil,
	Product:   {Redis, Tokens, Bus},
	Search:    {Bus},
	Analytics: {Tokens, Bus},
	Server:    {Redis, Tokens},
}

// order is the order modules start in; each comes after what it needs.
var order = []string{Redis, Auth, Tokens, Bus, Product, Search, Analytics, Server}

// services lists every service in start order; "all" expands to it.
var services = []string{Auth, Product, Search, Analytics}

// ParseTargets expands and checks a comma list of targets.
func ParseTargets(list string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == All:
			return slices.Clone(services), nil
		case slices.Contains(services, t):
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		default:
			return nil, fmt.Errorf("unknown target %q (want %s or a comma list of %s)", t, All, strings.Join(services, ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no target given")
	}
	return out, nil
}

// ServiceList names the services a target list may hold.
func ServiceList() string { return strings.Join(services, ", ") }

// needed returns the modules targets need, in start order.
func needed(targets []string) []string {
	want := map[string]bool{Server: true}
	var add func(m string)
	add = func(m string) {
		want[m] = true
		for _, d := range deps[m] {
			add(d)
		}
	}
	for _, t := range append(targets, Server) {
		add(t)
	}
	return slices.DeleteFunc(slices.Clone(order), func(m string) bool { return !want[m] })
}

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
	// guard sends catalog reads to directProduct, which caches nothing,
	// while this instance cannot trust its cache (see streamGuard).
	guard         *streamGuard
	directProduct http.Handler

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
	cfg.setDefaults()
	if err := cfg.Breakers.Validate(); err != nil {
		return nil, err
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
		Redis:     a.initRedis,
		Auth:      a.initAuth,
		Tokens:    a.initTokens,
		Bus:       a.initBus,
		Product:   a.initProduct,
		Search:    a.initSearch,
		Analytics: a.initAnalytics,
		Server:    a.initServer,
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

// consume runs the consumers of a service's event adapter in the background.
func (a *App) consume(runners []bus.Runner) {
	for _, r := range runners {
		a.background = append(a.background, func(ctx context.Context) { r.Run(ctx, a.bus) })
	}
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
