package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// initRedis connects to Redis when one is configured.
func (a *App) initRedis(context.Context) error {
	if a.cfg.RedisURL == "" {
		return nil
	}
	opts, err := redis.ParseURL(a.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	// Short deadlines: a slow Redis must not slow requests down.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = 200*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	opts.MaxRetries = 0
	opts.ContextTimeoutEnabled = true
	redis.SetLogger(redisLogger{a.logger})
	a.redis = redis.NewClient(opts)
	a.closers = append(a.closers, a.redis.Close)
	if a.cfg.Tracer != nil {
		// Commands are traced by name only: their arguments hold cached
		// bodies and rate-limit keys, not worth a span's size.
		if err := redisotel.InstrumentTracing(a.redis, redisotel.WithTracerProvider(tracing.ChildrenOnly(a.cfg.Tracer)),
			redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
			return fmt.Errorf("redis: tracing: %w", err)
		}
	}
	return nil
}

// redisLogger sends the Redis client's own messages (one per failed dial,
// say) to the debug log: the cache and the rate limiter already report an
// unavailable Redis, once per interval.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, fmt.Sprintf("redis: "+format, v...))
}

// initTokens sets up access-token checking: with the auth service's keys
// when it runs in this process, else with its JWKS at --auth-url. Search
// alone reads nothing from tokens and needs no verifier.
func (a *App) initTokens(context.Context) error {
	var (
		keyfunc     jwt.Keyfunc
		credentials authn.CredentialVerifier
		err         error
	)
	switch {
	case a.auth != nil:
		keyfunc, credentials = a.auth.Keyfunc(), a.auth
	case a.cfg.AuthURL != "":
		keyfunc, err = authn.RemoteKeyfunc(a.bg, strings.TrimRight(a.cfg.AuthURL, "/")+"/.well-known/jwks.json", a.logger, a.breakers)
		if err != nil {
			return fmt.Errorf("auth JWKS: %w", err)
		}
		remote := authn.NewRemoteCredentials(a.cfg.AuthURL, a.breakers)
		remote.TraceWith(a.cfg.Tracer)
		credentials = remote
	case slices.Contains(a.cfg.Targets, Product) || slices.Contains(a.cfg.Targets, Analytics):
		return errors.New("without the auth target in this process, --auth-url must name the auth service (product and analytics check tokens)")
	}
	a.authenticate = func(h http.Handler) http.Handler { return h }
	if keyfunc != nil {
		a.authenticate = authn.Authenticate(authn.NewVerifier(keyfunc, a.cfg.Issuer, a.cfg.Audience, a.cfg.AccessTTL), credentials)
	}
	return nil
}

// initBus connects to the event stream (or starts the embedded one) with
// the application's streams and its dead-letter subject.
func (a *App) initBus(ctx context.Context) error {
	b, err := bus.Open(ctx, bus.Config{
		URL: a.cfg.NATSURL, DataDir: a.cfg.DataDir, Prefix: a.cfg.Namespace,
		Name: "vitrine-" + strings.Join(a.cfg.Targets, "-"), Logger: a.logger,
		Streams: events.Streams(), DeadLetterPrefix: events.DeadLetterPrefix, Registerer: a.metrics.Registry,
		Replicas: a.cfg.StreamReplicas, Tracer: a.cfg.Tracer, Breakers: a.breakers,
	})
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	a.bus = b
	a.closers = append(a.closers, b.Close)
	// Without the stream, writes wait in the outbox, consumers resume later
	// and product reads bypass the cache (streamGuard): the instance keeps
	// serving, so it stays in the pool.
	a.softChecks["event_stream"] = b.Ping
	return nil
}
