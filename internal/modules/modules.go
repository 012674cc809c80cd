// Package modules decides what runs in a process. A target names one
// service; "all" is an alias for every service. New builds the chosen
// services with their stores and mounts their routes on one router; it is
// the only place where services meet.
package modules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/api"
	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticshttp"
	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/auth/authhttp"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchhttp"
)

// Target names.
const (
	All       = "all"
	Product   = "product"
	Auth      = "auth"
	Analytics = "analytics"
	Search    = "search"
)

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

// Config is everything the services need, read from flags and environment
// by cmd/vitrine.
type Config struct {
	Targets     []string
	DataDir     string // SQLite files live here when PostgresURL is empty
	PostgresURL string
	AuthURL     string // base URL of the auth service, for the JWKS and credential checks when auth runs elsewhere
	NATSURL     string // external NATS JetStream; empty embeds a server under DataDir
	Namespace   string // isolates deployments sharing one NATS and one Redis server
	RedisURL    string // L2 cache (and shared rate limits); empty keeps the cache in-process
	Issuer      string
	Audience    string
	AccessTTL   time.Duration
	MaxInFlight int // load shedding threshold
	// MaxInFlightPerClient bounds the requests one client address has in
	// flight at once; 0 disables it.
	MaxInFlightPerClient int
	// BodyTimeout is the time a request body has to arrive, read before
	// the request takes one of MaxInFlight's slots; 0 leaves only the
	// server's read timeout.
	BodyTimeout time.Duration
	CORSOrigins []string // origins whose browser scripts may call the API; none: no CORS
	RateLimits  ratelimit.Config
	// LoginBackoff throttles failed logins per account; the zero value
	// takes ratelimit.DefaultBackoffPolicy.
	LoginBackoff ratelimit.BackoffPolicy
	Synonyms     string // synonyms file of the search service
	Logger       *slog.Logger

	// CursorSecret signs listing cursors; empty uses the one kept in the
	// product store. It is a secret: never log it.
	CursorSecret string
}

// SQLConfig returns where service keeps its data.
func (c Config) SQLConfig(service string) sqldb.Config {
	if c.PostgresURL != "" {
		return sqldb.Config{PostgresURL: c.PostgresURL, Schema: service}
	}
	return sqldb.Config{SQLitePath: filepath.Join(c.DataDir, service+".db")}
}

// App is the set of running services behind one HTTP handler.
type App struct {
	Router    *httpx.Router
	Handler   http.Handler
	Product   *product.Service
	Auth      *auth.Service
	Analytics *analytics.Service
	Search    *search.Service
	Bus       *bus.Bus
	Relay     *outbox.Relay
	metrics   *obs.Metrics
	checks    map[string]func(context.Context) error
	closers   []func() error
	draining  atomic.Bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	logger    *slog.Logger
}

// New opens the stores of the targeted services and wires them together.
// Background work (key rotation...) runs until Close.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Issuer == "" {
		cfg.Issuer = authn.DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = authn.DefaultAudience
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = authn.DefaultAccessTTL
	}
	bg, cancel := context.WithCancel(context.Background())
	a := &App{
		Router:  httpx.NewRouter(),
		metrics: obs.NewMetrics(),
		checks:  map[string]func(context.Context) error{},
		cancel:  cancel,
		logger:  cfg.Logger,
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	var background []func(context.Context)

	var redisClient *redis.Client
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		// Short deadlines: a slow Redis must not slow requests down.
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = 200*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
		opts.MaxRetries = 0
		opts.ContextTimeoutEnabled = true
		redis.SetLogger(redisLogger{cfg.Logger})
		redisClient = redis.NewClient(opts)
		a.closers = append(a.closers, redisClient.Close)
	}

	var keyfunc jwt.Keyfunc
	var credentials authn.CredentialVerifier
	if slices.Contains(cfg.Targets, Auth) {
		if err := a.startAuth(ctx, cfg, redisClient, &background); err != nil {
			return nil, err
		}
		keyfunc = a.Auth.Keyfunc()
		credentials = a.Auth
	} else if cfg.AuthURL != "" {
		keyfunc, err = authn.RemoteKeyfunc(bg, strings.TrimRight(cfg.AuthURL, "/")+"/.well-known/jwks.json", cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("auth JWKS: %w", err)
		}
		credentials = authn.NewRemoteCredentials(cfg.AuthURL)
	} else if slices.Contains(cfg.Targets, Product) || slices.Contains(cfg.Targets, Analytics) {
		return nil, errors.New("without the auth target in this process, --auth-url must name the auth service (product and analytics check tokens)")
	}
	// Search alone reads nothing from tokens: it needs no verifier.
	authenticate := func(h http.Handler) http.Handler { return h }
	if keyfunc != nil {
		authenticate = authn.Authenticate(authn.NewVerifier(keyfunc, cfg.Issuer, cfg.Audience, cfg.AccessTTL), credentials)
	}

	if slices.ContainsFunc(cfg.Targets, func(t string) bool { return t != Auth }) {
		a.Bus, err = bus.Open(ctx, bus.Config{URL: cfg.NATSURL, DataDir: cfg.DataDir, Prefix: cfg.Namespace,
			Name: "vitrine-" + strings.Join(cfg.Targets, "-"), Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("event stream: %w", err)
		}
		a.closers = append(a.closers, a.Bus.Close)
		a.checks["event_stream"] = a.Bus.Ping
	}

	if slices.Contains(cfg.Targets, Product) {
		if err := a.startProduct(ctx, cfg, redisClient, &background); err != nil {
			return nil, err
		}
	}

	if slices.Contains(cfg.Targets, Search) {
		if err := a.startSearch(cfg, &background); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cfg.Targets, Analytics) {
		if err := a.startAnalytics(ctx, cfg, &background); err != nil {
			return nil, err
		}
	}

	a.Router.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	a.Router.Handle("GET /readyz", http.HandlerFunc(a.readyz))
	a.Router.Handle("GET /openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteRawJSON(w, http.StatusOK, api.OpenAPI)
	}))

	// Rate limits are shared through Redis when there is one.
	var limiter ratelimit.Limiter = ratelimit.NewMemory(0)
	if redisClient != nil {
		limiter = ratelimit.NewRedis(redisClient, ratelimit.RedisConfig{Prefix: "vitrine:" + cfg.Namespace + ":",
			Fallback: limiter, Logger: cfg.Logger})
	}
	if cfg.RateLimits.LoginPaths == nil && cfg.RateLimits.Exempt == nil {
		d := ratelimit.DefaultConfig()
		cfg.RateLimits.LoginPaths, cfg.RateLimits.Exempt = d.LoginPaths, d.Exempt
	}

	// Large responses are compressed; the entity tag of a compressed body
	// gets a suffix, as two encodings are two representations.
	compress, err := httpx.Compress()
	if err != nil {
		return nil, err
	}
	cors, err := httpx.CORS(cfg.CORSOrigins)
	if err != nil {
		return nil, err
	}
	// Cheap refusals come before costly work: a request is refused for its
	// address (too many at once, too many per second) before its body is
	// read, and its body is read before it takes one of the server's
	// slots, so slow senders wait outside them. Tokens are verified only
	// inside a slot; users are limited once known.
	a.Handler = httpx.Chain(a.Router,
		compress,
		httpx.Recover,
		httpx.Edge(cfg.RateLimits.TrustedProxies),
		a.Router.Name,
		httpx.Log(cfg.Logger, a.metrics.ObserveRequest),
		httpx.SecurityHeaders,
		cors, // before every refusal, so browsers can read them; answers preflights itself
		httpx.LimitPerClient(cfg.MaxInFlightPerClient),
		ratelimit.ByAddress(limiter, cfg.RateLimits, cfg.Logger),
		httpx.BufferBody(cfg.BodyTimeout),
		httpx.Shed(cfg.MaxInFlight),
		httpx.TextQuery,
		authenticate,
		ratelimit.ByUser(limiter, cfg.RateLimits, cfg.Logger),
	)

	for _, run := range background {
		a.wg.Go(func() { run(bg) })
	}
	return a, nil
}

// startAuth opens the auth store and starts the service. Failed logins are
// counted per account in Redis when there is one, so that instances share
// the count and addresses cannot take turns on one account.
func (a *App) startAuth(ctx context.Context, cfg Config, redisClient *redis.Client, background *[]func(context.Context)) error {
	store, err := authdb.Open(ctx, cfg.SQLConfig(Auth))
	if err != nil {
		return fmt.Errorf("auth store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	policy := cfg.LoginBackoff
	if policy == (ratelimit.BackoffPolicy{}) {
		policy = ratelimit.DefaultBackoffPolicy()
	}
	if err := policy.Validate(); err != nil {
		return err
	}
	var throttle ratelimit.Backoff = ratelimit.NewMemoryBackoff(policy, 0)
	if redisClient != nil {
		throttle = ratelimit.NewRedisBackoff(redisClient, policy, ratelimit.RedisBackoffConfig{
			Prefix: "vitrine:" + cfg.Namespace + ":", Fallback: throttle, Logger: cfg.Logger})
	}
	a.Auth, err = auth.NewService(store, auth.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL,
		Throttle: throttle, Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("auth service: %w", err)
	}
	a.checks["auth_db"] = a.Auth.Ping
	*background = append(*background, a.Auth.Run)
	authhttp.Routes(a.Router, a.Auth)
	a.metrics.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vitrine_auth_login_failures_total", Help: "Logins refused for a wrong e-mail or password.",
		}, func() float64 { failed, _ := a.Auth.LoginCounts(); return float64(failed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vitrine_auth_login_throttled_total", Help: "Logins refused unchecked because their account had too many failures in a row.",
		}, func() float64 { _, throttled := a.Auth.LoginCounts(); return float64(throttled) }),
	)
	return nil
}

// startProduct opens the product store, relays its outbox to the stream,
// serves its reads through the cache and keeps the cache in step with the
// catalog events of every instance.
func (a *App) startProduct(ctx context.Context, cfg Config, redisClient *redis.Client, background *[]func(context.Context)) error {
	store, err := productdb.Open(ctx, cfg.SQLConfig(Product))
	if err != nil {
		return fmt.Errorf("product store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	// A configured secret wins; otherwise every instance on the store
	// shares the one kept there.
	cursorSecret := []byte(cfg.CursorSecret)
	if len(cursorSecret) == 0 {
		if cursorSecret, err = store.CursorSecret(ctx); err != nil {
			return fmt.Errorf("product store: %w", err)
		}
	}
	if a.Product, err = product.NewService(store, cursorSecret); err != nil {
		return fmt.Errorf("--cursor-secret: %w", err)
	}
	a.checks["product_db"] = store.Ping

	a.Relay = outbox.New(store.DB(), a.Bus, Product, cfg.Logger)
	store.AfterWrite(a.Relay.Kick)
	a.metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vitrine_outbox_backlog", Help: "Catalog events committed but not yet on the event stream.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := a.Relay.Backlog(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	// Cached listings are keyed by the catalog stream's position; its
	// creation time tells a recreated stream (whose sequence restarts) apart.
	created, seq, err := a.Bus.Position(ctx, events.CatalogStream)
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	rc := producthttp.NewReadCache(cache.New(cache.Config{
		Redis: redisClient, Prefix: "vitrine:" + cfg.Namespace + ":product:" + strconv.FormatInt(created.UnixNano(), 36) + ":",
		Logger: cfg.Logger, Registerer: a.metrics.Registry,
	}), seq)
	producthttp.Routes(a.Router, a.Product, rc)

	*background = append(*background,
		a.Relay.Run,
		func(ctx context.Context) { store.DB().Maintain(ctx, 10*time.Minute) },
		func(ctx context.Context) {
			// Every instance sees every catalog event, to drop what it cached.
			consume(ctx, a.Bus, cfg.Logger, bus.Subscription{Stream: events.CatalogStream}, func(ctx context.Context, m bus.Msg) error {
				rc.Apply(ctx, m.Seq, m.Subject)
				return nil
			})
		},
		func(ctx context.Context) {
			// Product statistics from analytics: one instance applies each message.
			consume(ctx, a.Bus, cfg.Logger, bus.Subscription{Stream: events.AnalyticsStream, Durable: "product-stats",
				Subjects: []string{events.StatsSubject}}, func(ctx context.Context, m bus.Msg) error {
				var ev events.ProductStats
				if err := json.Unmarshal(m.Data, &ev); err != nil {
					cfg.Logger.Warn("dropping malformed stats event", "err", err)
					return nil
				}
				if err := a.Product.ApplyStats(ctx, ev); err != nil {
					return err
				}
				rc.StatsChanged(ctx, ev)
				return nil
			})
		},
	)
	return nil
}

// startSearch opens this instance's own index and keeps it fed from the
// catalog stream, resuming after the last event it applied (replaying the
// whole stream when the index is new).
func (a *App) startSearch(cfg Config, background *[]func(context.Context)) error {
	svc, err := search.Open(filepath.Join(cfg.DataDir, "search"), search.Options{
		SynonymsFile: cfg.Synonyms,
		Recorder:     searchRecorder{b: a.Bus, logger: cfg.Logger},
		StreamLast:   func(ctx context.Context) (uint64, error) { return a.Bus.LastSeq(ctx, events.CatalogStream) },
		Logger:       cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	a.Search = svc
	a.closers = append(a.closers, svc.Close)
	a.checks["search_index"] = func(ctx context.Context) error { _, err := svc.Status(ctx); return err }
	searchhttp.Routes(a.Router, svc)

	*background = append(*background,
		func(ctx context.Context) {
			// Resume after the last applied event, also after a restart of the consumer.
			subscribe := func() bus.Subscription {
				return bus.Subscription{Stream: events.CatalogStream, StartSeq: svc.LastApplied() + 1}
			}
			consumeBatches(ctx, a.Bus, cfg.Logger, subscribe, 500, func(ctx context.Context, msgs []bus.Msg) error {
				changes := make([]search.Change, 0, len(msgs))
				for _, m := range msgs {
					c, ok := searchChange(m)
					if !ok {
						cfg.Logger.Warn("search: skipping a malformed catalog event", "subject", m.Subject, "seq", m.Seq)
						continue
					}
					changes = append(changes, c)
				}
				return svc.ApplyBatch(ctx, changes)
			})
		},
		func(ctx context.Context) {
			// Popularity from analytics; a rebuilt index starts from the
			// counters carried by the product events.
			consume(ctx, a.Bus, cfg.Logger, bus.Subscription{Stream: events.AnalyticsStream, Subjects: []string{events.StatsSubject}},
				func(ctx context.Context, m bus.Msg) error {
					var ev events.ProductStats
					if err := json.Unmarshal(m.Data, &ev); err != nil {
						return nil
					}
					return svc.ApplyStats(ctx, ev)
				})
		},
	)
	return nil
}

// searchChange decodes a catalog event for the search index.
func searchChange(m bus.Msg) (search.Change, bool) {
	c := search.Change{Seq: m.Seq}
	switch {
	case strings.HasPrefix(m.Subject, events.ProductSubjectPrefix):
		c.Product = new(events.ProductChanged)
		return c, json.Unmarshal(m.Data, c.Product) == nil
	case strings.HasPrefix(m.Subject, events.CategorySubjectPrefix):
		c.Category = new(events.CategoryChanged)
		return c, json.Unmarshal(m.Data, c.Category) == nil
	}
	return c, false
}

// searchRecorder publishes the search service's query events, deduplicated
// by their id.
type searchRecorder struct {
	b      *bus.Bus
	logger *slog.Logger
}

func (r searchRecorder) RecordSearch(ev events.SearchPerformed) {
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.b.Publish(ctx, events.SearchSubject, ev.ID, data); err != nil {
		r.logger.Warn("search: could not publish a search event", "err", err)
	}
}

// startAnalytics opens the analytics store, takes in the catalog (to know
// which products exist) and the search events, and publishes product
// statistics back to the stream.
func (a *App) startAnalytics(ctx context.Context, cfg Config, background *[]func(context.Context)) error {
	store, err := analyticsdb.Open(ctx, cfg.SQLConfig(Analytics))
	if err != nil {
		return fmt.Errorf("analytics store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	a.Analytics = analytics.NewService(store, analytics.Config{})
	a.checks["analytics_db"] = a.Analytics.Ping
	analyticshttp.Routes(a.Router, a.Analytics)

	// Messages that can never apply (KindInvalid) are dropped, not retried.
	dropInvalid := func(err error, m bus.Msg) error {
		if errs.Is(err, errs.KindInvalid) {
			cfg.Logger.Warn("dropping an event analytics cannot use", "subject", m.Subject, "err", err)
			return nil
		}
		return err
	}
	*background = append(*background,
		func(ctx context.Context) { a.Analytics.Run(ctx, statsPublisher{a.Bus}) },
		func(ctx context.Context) {
			consume(ctx, a.Bus, cfg.Logger, bus.Subscription{Stream: events.CatalogStream, Durable: "analytics-catalog",
				Subjects: []string{events.ProductSubjectPrefix + "*"}}, func(ctx context.Context, m bus.Msg) error {
				var ev events.ProductChanged
				if err := json.Unmarshal(m.Data, &ev); err != nil {
					return dropInvalid(errs.Wrap(errs.KindInvalid, err, "malformed"), m)
				}
				return dropInvalid(a.Analytics.ApplyProduct(ctx, ev), m)
			})
		},
		func(ctx context.Context) {
			// Search events come in bursts: record them a batch at a time.
			sub := bus.Subscription{Stream: events.AnalyticsStream, Durable: "analytics-searches", Subjects: []string{events.SearchSubject}}
			consumeBatches(ctx, a.Bus, cfg.Logger, func() bus.Subscription { return sub }, 500, func(ctx context.Context, msgs []bus.Msg) error {
				evs := make([]events.SearchPerformed, 0, len(msgs))
				for _, m := range msgs {
					var ev events.SearchPerformed
					if err := json.Unmarshal(m.Data, &ev); err != nil {
						cfg.Logger.Warn("dropping a malformed search event", "err", err)
						continue
					}
					evs = append(evs, ev)
				}
				return dropInvalid(a.Analytics.ApplySearches(ctx, evs), msgs[0])
			})
		},
	)
	return nil
}

// statsPublisher sends analytics' product statistics to the stream.
type statsPublisher struct{ b *bus.Bus }

func (p statsPublisher) PublishStats(ctx context.Context, s events.ProductStats) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return p.b.Publish(ctx, events.StatsSubject, "", data)
}

// redisLogger sends the Redis client's own messages (one per failed dial,
// say) to the debug log: the cache and the rate limiter already report an
// unavailable Redis, once per interval.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, fmt.Sprintf("redis: "+format, v...))
}

// consume runs a subscription until ctx ends, starting it again if it fails.
func consume(ctx context.Context, b *bus.Bus, logger *slog.Logger, sub bus.Subscription, handle func(context.Context, bus.Msg) error) {
	consumeBatches(ctx, b, logger, func() bus.Subscription { return sub }, 1, func(ctx context.Context, msgs []bus.Msg) error {
		return handle(ctx, msgs[0])
	})
}

// consumeBatches is consume with up to max messages at a time; subscribe
// is asked for the subscription at every (re)start.
func consumeBatches(ctx context.Context, b *bus.Bus, logger *slog.Logger, subscribe func() bus.Subscription, max int, handle func(context.Context, []bus.Msg) error) {
	for ctx.Err() == nil {
		sub := subscribe()
		if err := b.ConsumeBatches(ctx, sub, max, handle); err != nil {
			logger.Warn("event consumer stopped; restarting", "stream", sub.Stream, "durable", sub.Durable, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
}

// readyz answers 200 when every dependency answers, 503 (with the failing
// ones) otherwise, and 503 while the process drains.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusServiceUnavailable, Detail: "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	failed := false
	for name, check := range a.checks {
		if err := check(ctx); err != nil {
			status[name] = "down"
			failed = true
			a.logger.WarnContext(ctx, "readiness check failed", "check", name, "err", err)
			continue
		}
		status[name] = "ok"
	}
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	httpx.WriteJSON(w, code, map[string]any{"ready": !failed, "checks": status})
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

// ServiceList names the services a target list may hold.
func ServiceList() string { return strings.Join(services, ", ") }

// Migrate applies the migrations of the targeted services (opening a store
// migrates it) and closes the stores again.
func Migrate(ctx context.Context, cfg Config) error {
	for _, t := range cfg.Targets {
		var (
			closer interface{ Close() error }
			err    error
		)
		switch t {
		case Auth:
			closer, err = authdb.Open(ctx, cfg.SQLConfig(Auth))
		case Product:
			closer, err = productdb.Open(ctx, cfg.SQLConfig(Product))
		case Analytics:
			closer, err = analyticsdb.Open(ctx, cfg.SQLConfig(Analytics))
		}
		if err != nil {
			return fmt.Errorf("migrate %s: %w", t, err)
		}
		if closer != nil {
			closer.Close()
		}
	}
	return nil
}
