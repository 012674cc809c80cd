package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// Defaults of RedisConfig.
const (
	DefaultRedisPrefix  = "vitrine:"
	DefaultRedisTimeout = 50 * time.Millisecond
	DefaultLogEvery     = time.Minute
	DefaultMaxInFlight  = 1024
)

// RedisConfig tunes a Redis limiter. Zero fields take the defaults above.
type RedisConfig struct {
	// Prefix is prepended to every key (after redis_rate's own "rate:"),
	// so that environments or tests sharing a Redis do not collide.
	Prefix string
	// Timeout bounds each call to Redis, whatever the client's own
	// timeouts: a request never waits longer for its rate-limit decision.
	// The breakers' policy Timeout, when shorter, wins.
	Timeout time.Duration
	// Fallback answers while Redis fails; by default an in-memory limiter
	// with DefaultMaxKeys. Its limits are per instance, so with N
	// instances a client may get up to N times its budget meanwhile.
	Fallback Limiter
	// Breakers makes the circuit breaker in front of Redis, named
	// "redis-ratelimit": while it is open every call goes to the fallback
	// without trying Redis. Nil makes one with the default policy.
	Breakers *resilience.Breakers
	// MaxInFlight caps the calls to Redis under way at once; past it,
	// calls go to the fallback (and count as Redis failures).
	MaxInFlight int
	// LogEvery is the least time between two log lines about falling back.
	LogEvery time.Duration
	// Logger receives those lines; slog.Default() when nil.
	Logger *slog.Logger
}

// Redis is a GCRA limiter whose state lives in Redis, so that every
// instance sharing the Redis shares the budgets. The algorithm is
// redis_rate's Lua script, run atomically by Redis on Redis's clock.
//
// When Redis errs, is slower than the timeout, or the breaker is open, the
// call is answered by the fallback limiter instead of failing: limits
// become local, requests are still served.
type Redis struct {
	rate     *redis_rate.Limiter
	prefix   string
	fallback Limiter
	guard    *redisGuard[*redis_rate.Result]
}

// errBusy reports that MaxInFlight calls to Redis are already under way.
var errBusy = errors.New("ratelimit: too many Redis calls in flight")

// NewRedis returns a limiter on client (a *redis.Client, *redis.ClusterClient
// or *redis.Ring). It does not own client and never closes it.
func NewRedis(client redis.UniversalClient, cfg RedisConfig) *Redis {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.Fallback == nil {
		cfg.Fallback = NewMemory(0)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = DefaultLogEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Breakers == nil {
		cfg.Breakers = resilience.NewBreakers(resilience.DefaultPolicy(), cfg.Logger)
	}
	return &Redis{
		rate:     redis_rate.NewLimiter(client),
		prefix:   cfg.Prefix,
		fallback: cfg.Fallback,
		guard: newRedisGuard[*redis_rate.Result](cfg.Breakers.Breaker("redis-ratelimit", resilience.Deadline(cfg.Timeout)),
			"rate limiter", "applying local limits", cfg.MaxInFlight, cfg.LogEvery, cfg.Logger),
	}
}

// Allow applies limit to key in Redis, or in the fallback when Redis
// cannot answer within the timeout. It fails only for an invalid limit.
func (r *Redis) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	lim, err := limit.normalized()
	if err != nil {
		return Result{}, err
	}
	res, err := r.guard.do(ctx, func(ctx context.Context) (*redis_rate.Result, error) {
		return r.rate.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: lim.Rate, Period: lim.Period, Burst: lim.Burst})
	})
	if err != nil {
		return r.fallback.Allow(ctx, key, lim)
	}
	out := Result{
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		RetryAfter: max(res.RetryAfter, 0),
		ResetAfter: max(res.ResetAfter, 0),
		Limit:      lim,
	}
	if out.Allowed {
		out.RetryAfter = 0
	}
	return out, nil
}

// Degraded reports whether calls are going to the fallback rather than to
// Redis (the breaker is open or half-open).
func (r *Redis) Degraded() bool { return r.guard.degraded() }

// redisGuard stands in front of every call a part of this package makes to
// Redis: a circuit breaker (which also sets the call's deadline), a cap on
// calls in flight, and a warning when a call falls back, at most once per
// interval.
type redisGuard[T any] struct {
	breaker  *resilience.Breaker
	inflight chan struct{}
	logger   *slog.Logger
	quiet    *logSampler
	what     string // who is calling, in log messages
	instead  string // what the caller does when Redis fails
}

func newRedisGuard[T any](breaker *resilience.Breaker, what, instead string, maxInFlight int, logEvery time.Duration, logger *slog.Logger) *redisGuard[T] {
	return &redisGuard[T]{
		breaker:  breaker,
		inflight: make(chan struct{}, maxInFlight),
		logger:   logger,
		quiet:    &logSampler{every: logEvery},
		what:     what,
		instead:  instead,
	}
}

// do runs fn, a call to Redis, behind the breaker and within its deadline.
// An error means the caller falls back; it has been logged, unless the
// caller gave up (no news about Redis).
func (g *redisGuard[T]) do(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	var v T
	err := g.breaker.Do(ctx, func(ctx context.Context) error {
		var err error
		v, err = callWithin(ctx, g.inflight, fn)
		return err
	})
	if err != nil && ctx.Err() == nil {
		g.logFallback(ctx, err)
	}
	return v, err
}

// degraded reports whether calls are going to the fallback (the breaker is
// open or half-open).
func (g *redisGuard[T]) degraded() bool { return g.breaker.State() != resilience.Closed }

// logFallback logs that a call fell back, at most once per interval.
func (g *redisGuard[T]) logFallback(ctx context.Context, err error) {
	if unlogged, ok := g.quiet.allow(); ok {
		g.logger.LogAttrs(ctx, slog.LevelWarn, g.what+": Redis unavailable, "+g.instead,
			slog.String("err", err.Error()), slog.Int64("unlogged_since_last", unlogged))
	}
}

// callWithin runs fn, a call to Redis, until ctx's deadline and while
// fewer than cap(inflight) calls are under way. fn runs on its own
// goroutine so that the deadline holds even when the client ignores
// context deadlines (go-redis does unless ContextTimeoutEnabled is set):
// an abandoned call keeps its in-flight slot until the client gives up.
func callWithin[T any](ctx context.Context, inflight chan struct{}, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	select {
	case inflight <- struct{}{}:
	default:
		return zero, errBusy
	}
	type outcome struct {
		res T
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() { <-inflight }()
		res, err := fn(ctx)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return zero, fmt.Errorf("ratelimit: Redis did not answer in time: %w", ctx.Err())
	}
}

// logSampler lets one log line through per interval and counts the rest.
type logSampler struct {
	every   time.Duration
	last    atomic.Int64 // unix nanoseconds of the last line let through
	skipped atomic.Int64
}

// allow reports whether a line may be logged now and, if so, how many
// were held back since the last one.
func (t *logSampler) allow() (unlogged int64, ok bool) {
	now := time.Now().UnixNano()
	last := t.last.Load()
	if (last != 0 && now-last < int64(t.every)) || !t.last.CompareAndSwap(last, now) {
		t.skipped.Add(1)
		return 0, false
	}
	return t.skipped.Swap(0), true
}
