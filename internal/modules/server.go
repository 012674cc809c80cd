package modules

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/api"
	"github.com/vitrine-dev/vitrine/internal/console"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
)

// initServer mounts the health and operations routes and the console, and
// puts the request chain around the router, once every service has mounted
// its routes. Every process serves the console: it is a few embedded
// files, and a load balancer may send "/" to any instance.
func (a *App) initServer(context.Context) error {
	a.healthRoutes()
	a.opsRoutes()
	console.Routes(a.Router)
	return a.chain()
}

func (a *App) healthRoutes() {
	a.Router.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	a.Router.Handle("GET /readyz", http.HandlerFunc(a.readyz))
	a.Router.Handle("GET /openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteRawJSON(w, http.StatusOK, api.OpenAPI)
	}))
}

// opsRoutes tell an administrator what this process serves: the console's
// live request-rate and latency chart reads them.
func (a *App) opsRoutes() {
	a.Router.Handle("GET /api/ops/traffic", authn.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traffic, err := a.metrics.Traffic(time.Now())
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, traffic)
	}), authn.RoleAdmin))
}

// chain builds the request chain, outer to inner.
func (a *App) chain() error {
	// Rate limits are shared through Redis when there is one.
	var limiter ratelimit.Limiter = ratelimit.NewMemory(0)
	if a.redis != nil {
		limiter = ratelimit.NewRedis(a.redis, ratelimit.RedisConfig{Prefix: "vitrine:" + a.cfg.Namespace + ":",
			Fallback: limiter, Breakers: a.breakers, Logger: a.cfg.Logger})
	}
	if a.cfg.RateLimits.LoginPaths == nil && a.cfg.RateLimits.Exempt == nil {
		d := ratelimit.DefaultConfig()
		a.cfg.RateLimits.LoginPaths, a.cfg.RateLimits.Exempt = d.LoginPaths, d.Exempt
	}

	// Large responses are compressed; the entity tag of a compressed body
	// gets a suffix, as two encodings are two representations.
	compress, err := httpx.Compress()
	if err != nil {
		return err
	}
	cors, err := httpx.CORS(a.cfg.CORSOrigins)
	if err != nil {
		return err
	}
	// Cheap refusals come before costly work: a request is refused for its
	// address (too many at once, too many per second) before its body is
	// read, and its body is read before it takes one of the server's
	// slots, so slow senders wait outside them. Tokens are verified only
	// inside a slot; users are limited once known.
	a.Handler = httpx.Chain(a.routes(),
		compress,
		httpx.Recover,
		httpx.Edge(a.cfg.TrustedProxies),
		a.Router.Name,
		httpx.Trace(a.cfg.Tracer), // after Name (spans are named for routes), before Log (its lines name the trace)
		httpx.Log(a.cfg.Logger, a.metrics.ObserveRequest),
		httpx.SecurityHeaders,
		cors, // before every refusal, so browsers can read them; answers preflights itself
		httpx.LimitPerClient(a.cfg.MaxInFlightPerClient),
		ratelimit.ByAddress(limiter, a.cfg.RateLimits, a.cfg.Logger),
		httpx.BufferBody(a.cfg.BodyTimeout, producthttp.StreamsBody),
		httpx.Shed(a.cfg.MaxInFlight),
		httpx.TextQuery,
		a.authenticate,
		ratelimit.ByUser(limiter, a.cfg.RateLimits, a.cfg.Logger),
	)
	return nil
}

// readyz answers 200 when every dependency answers, 503 (with the failing
// ones) otherwise, and 503 while the process drains.
// softCheckTimeout bounds a check that only reports (the event stream, the
// search index's lag): without the stream an instance still serves, and a
// slow answer from a stream that is electing a leader must not make the
// whole readiness answer late.
const softCheckTimeout = 300 * time.Millisecond

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusServiceUnavailable, Detail: "shutting down"})
		return
	}
	// The checks run at once, so the answer takes as long as the slowest
	// one, not their sum: a load balancer's health check has a deadline
	// of its own (about a second), and an instance that answers late is
	// taken out of the pool although it serves.
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		status = map[string]string{}
		failed bool
	)
	for name, check := range a.checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			status[name] = "ok"
			if err != nil {
				status[name], failed = "down", true
				a.logger.WarnContext(ctx, "readiness check failed", "check", name, "err", err)
			}
		})
	}
	for name, check := range a.softChecks {
		wg.Go(func() {
			softCtx, cancel := context.WithTimeout(ctx, softCheckTimeout)
			defer cancel()
			err := check(softCtx)
			mu.Lock()
			defer mu.Unlock()
			status[name] = "ok"
			if err != nil {
				status[name] = "degraded"
			}
		})
	}
	wg.Wait()
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	httpx.WriteJSON(w, code, map[string]any{"ready": !failed, "checks": status})
}
