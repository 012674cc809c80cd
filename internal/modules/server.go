package modules

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/console"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
)

// ServerConfig tunes the request chain every process puts around its
// routes: who is believed, how many requests get in, and how fast.
type ServerConfig struct {
	// TrustedProxies are the load balancers whose X-Forwarded-For and
	// X-Vitrine-Recent-Writer are believed.
	TrustedProxies []netip.Prefix
	// MaxInFlight is the number of requests served at once before the
	// server answers 503 (load shedding); 0 disables it.
	MaxInFlight int
	// MaxInFlightPerClient bounds the requests one client address has in
	// flight at once; 0 disables it.
	MaxInFlightPerClient int
	// BodyTimeout is the time a request body has to arrive, read before
	// the request takes one of MaxInFlight's slots; 0 leaves only the
	// server's read timeout.
	BodyTimeout time.Duration
	// RequestTimeout is the deadline of a request once admitted: every
	// call it makes (database, Redis, another service) ends by then.
	RequestTimeout time.Duration
	CORSOrigins    []string // origins whose browser scripts may call the API; none: no CORS
	RateLimits     ratelimit.Config
}

// RegisterFlags registers the flags of the request chain.
func (c *ServerConfig) RegisterFlags(f *flag.FlagSet) {
	f.Func("trusted-proxies", "comma list of `CIDRs` of load balancers whose X-Forwarded-For and X-Vitrine-Recent-Writer are believed", func(s string) (err error) {
		c.TrustedProxies, err = httpx.ParseTrustedProxies(s)
		return err
	})
	f.IntVar(&c.MaxInFlight, "max-in-flight", 4096, "requests served at once before answering 503 (load shedding); 0 disables")
	f.IntVar(&c.MaxInFlightPerClient, "max-in-flight-per-client", 64, "requests one client address may have in flight at once before it alone gets 429; 0 disables")
	f.DurationVar(&c.BodyTimeout, "body-timeout", 10*time.Second, "time a request body has to arrive before a 408; 0 leaves only the 30s read timeout")
	// 30 s is the server's write timeout: an answer later than that could
	// not be sent, so the deadline fails no request that could succeed.
	f.DurationVar(&c.RequestTimeout, "request-timeout", 30*time.Second, "deadline of a request once its body is read: a database or service that stops answering fails it (503) instead of holding it and its database connection; 0 disables")
	f.Func("cors-origins", "comma list of `origins` whose browser scripts may call the API (https://shop.example, https://*.shop.example or *); empty sends no CORS headers", func(s string) error {
		c.CORSOrigins = splitList(s)
		return nil
	})
	c.RateLimits.RegisterFlags(f)
}

// Validate reports the first setting the chain cannot apply.
func (c ServerConfig) Validate() error {
	if c.MaxInFlight < 0 || c.MaxInFlightPerClient < 0 || c.BodyTimeout < 0 || c.RequestTimeout < 0 {
		return errors.New("--max-in-flight, --max-in-flight-per-client, --body-timeout and --request-timeout must not be negative")
	}
	if _, err := httpx.CORS(c.CORSOrigins); err != nil {
		return fmt.Errorf("--cors-origins: %w", err)
	}
	return c.RateLimits.Validate()
}

// splitList reads a comma list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// startServer mounts the health and operations routes and the console, and
// puts the request chain around the router, once every service has mounted
// its routes. Every process serves the console: it is a few embedded
// files, and a load balancer may send "/" to any instance.
func (a *App) startServer(context.Context) error {
	a.healthRoutes()
	a.opsRoutes()
	console.Routes(a.Router)
	return a.chain()
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
		limiter = ratelimit.NewRedis(a.redis, ratelimit.RedisConfig{Prefix: a.redisPrefix(),
			Fallback: limiter, Breakers: a.breakers, Logger: a.logger})
	}
	c := a.cfg.Server

	// Large responses are compressed; the entity tag of a compressed body
	// gets a suffix, as two encodings are two representations.
	compress, err := httpx.Compress()
	if err != nil {
		return err
	}
	cors, err := httpx.CORS(c.CORSOrigins)
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
		httpx.Edge(c.TrustedProxies),
		a.Router.Name,
		httpx.Trace(a.cfg.Tracer), // after Name (spans are named for routes), before Log (its lines name the trace)
		httpx.Log(a.logger, a.metrics.ObserveRequest),
		httpx.SecurityHeaders,
		cors, // before every refusal, so browsers can read them; answers preflights itself
		httpx.LimitPerClient(c.MaxInFlightPerClient),
		ratelimit.ByAddress(limiter, c.RateLimits, a.logger),
		httpx.BufferBody(c.BodyTimeout, producthttp.StreamsBody),
		httpx.Shed(c.MaxInFlight),
		httpx.Deadline(c.RequestTimeout),
		httpx.TextQuery,
		a.authenticate,
		ratelimit.ByUser(limiter, c.RateLimits, a.logger),
	)
	return nil
}
