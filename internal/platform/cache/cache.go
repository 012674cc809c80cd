// Package cache is the two-tier, cache-aside cache: L1 is a bounded
// in-process cache (otter), L2 an optional Redis shared by every instance.
// Concurrent misses of one key cause one load. Redis sits behind a circuit
// breaker with short deadlines: when it is down or slow the cache keeps
// answering from L1 and the loader (the database).
package cache

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/vitrine-dev/vitrine/internal/platform/obs"
)

// Config tunes a cache.
type Config struct {
	L1MaxBytes   uint64        // bound on L1 memory (bytes of values); default 256 MiB
	L1MaxTTL     time.Duration // L1 keeps an entry at most this long; default 1 minute
	Redis        *redis.Client // nil: L1 only
	Prefix       string        // namespace of the keys in Redis
	RedisTimeout time.Duration // deadline of one Redis call; default 50ms
	// Breaker: opens when at least BreakerMinRequests calls in a window of
	// 10 s failed at BreakerFailureRatio or more; tries Redis again after
	// BreakerOpenFor.
	BreakerMinRequests  uint32
	BreakerFailureRatio float64
	BreakerOpenFor      time.Duration
	Logger              *slog.Logger
	Registerer          prometheus.Registerer
}

// Cache is safe for concurrent use.
type Cache struct {
	l1      *otter.Cache[string, entry]
	redis   *redis.Client
	breaker *gobreaker.CircuitBreaker[[]byte]
	cfg     Config
	metrics *metrics
}

type entry struct {
	data []byte
	ttl  time.Duration
	// value is data decoded by GetDecoded's decode when the entry came
	// into L1: hits of GetDecoded return it without decoding again.
	value any
	// fromL2 is true when the entry came into L1 from Redis, not from a
	// load: callers that waited for it had a cache hit.
	fromL2 bool
}

// errL2Miss is an L2 miss: not a failure for the breaker.
var errL2Miss = errors.New("cache: not in L2")

// New returns a cache.
func New(cfg Config) *Cache {
	if cfg.L1MaxBytes == 0 {
		cfg.L1MaxBytes = 256 << 20
	}
	if cfg.L1MaxTTL == 0 {
		cfg.L1MaxTTL = time.Minute
	}
	if cfg.RedisTimeout == 0 {
		cfg.RedisTimeout = 50 * time.Millisecond
	}
	if cfg.BreakerMinRequests == 0 {
		cfg.BreakerMinRequests = 10
	}
	if cfg.BreakerFailureRatio == 0 {
		cfg.BreakerFailureRatio = 0.5
	}
	if cfg.BreakerOpenFor == 0 {
		cfg.BreakerOpenFor = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Cache{cfg: cfg, redis: cfg.Redis, metrics: newMetrics(cfg.Registerer)}
	c.l1 = otter.Must(&otter.Options[string, entry]{
		MaximumWeight: cfg.L1MaxBytes,
		Weigher: func(key string, e entry) uint32 {
			w := len(key) + len(e.data) + 64
			if e.value != nil {
				// A decoded value holds the data and what was made from it
				// (headers; compressed copies, a fraction of the data).
				w += len(e.data)/2 + 256
			}
			return uint32(w)
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, entry]) time.Duration {
			return e.Value.ttl
		}),
	})
	if c.redis != nil {
		c.breaker = gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{
			Name:        "redis-cache",
			MaxRequests: 1,
			Interval:    10 * time.Second,
			Timeout:     cfg.BreakerOpenFor,
			ReadyToTrip: func(n gobreaker.Counts) bool {
				return n.Requests >= cfg.BreakerMinRequests &&
					float64(n.TotalFailures)/float64(n.Requests) >= cfg.BreakerFailureRatio
			},
			IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, errL2Miss) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				cfg.Logger.Warn("cache: Redis circuit breaker", "from", from.String(), "to", to.String())
				c.metrics.breakerOpen.Set(map[bool]float64{true: 1, false: 0}[to != gobreaker.StateClosed])
			},
		})
		if cfg.Registerer != nil {
			cfg.Registerer.MustRegister(obs.BreakerState(c.breaker))
		}
	}
	return c
}

// Get returns the value of key: from L1, else L2, else load (whose result
// is stored in both tiers for ttl). Concurrent misses share one load.
func (c *Cache) Get(ctx context.Context, key string, ttl time.Duration, load func(context.Context) ([]byte, error)) ([]byte, error) {
	e, _, err := c.get(ctx, key, ttl, load, nil)
	if err != nil {
		return nil, err
	}
	return e.data, nil
}

// GetDecoded is Get for values used in a decoded form (a ready response,
// say): decode runs once per entry, when it comes into L1 from L2 or from
// load, and L1 hits return its result as it is. Callers must treat it as
// read-only: every hit shares it. decode may return nil (data it cannot
// read); the caller then gets nil. hit reports whether the value came
// from L1 or L2 rather than from load (by this call or one it waited for).
func (c *Cache) GetDecoded(ctx context.Context, key string, ttl time.Duration, load func(context.Context) ([]byte, error), decode func([]byte) any) (v any, hit bool, err error) {
	e, hit, err := c.get(ctx, key, ttl, load, decode)
	if err != nil {
		return nil, false, err
	}
	if e.value == nil {
		// Stored by Get, without decoding.
		return decode(e.data), hit, nil
	}
	return e.value, hit, nil
}

// DecodedIfPresent returns the decoded value of key when L1 holds it
// decoded (a hit), without loading anything otherwise: a caller can try
// it before building a loader for GetDecoded.
func (c *Cache) DecodedIfPresent(key string) (any, bool) {
	e, ok := c.l1.GetIfPresent(key)
	if !ok || e.value == nil {
		return nil, false
	}
	c.metrics.hit("l1")
	return e.value, true
}

func (c *Cache) get(ctx context.Context, key string, ttl time.Duration, load func(context.Context) ([]byte, error), decode func([]byte) any) (e entry, hit bool, err error) {
	if e, ok := c.l1.GetIfPresent(key); ok {
		c.metrics.hit("l1")
		return e, true, nil
	}
	e, err = c.l1.Get(ctx, key, otter.LoaderFunc[string, entry](func(ctx context.Context, key string) (entry, error) {
		l1TTL := min(ttl, c.cfg.L1MaxTTL)
		data, ok := c.getL2(ctx, key)
		if ok {
			c.metrics.hit("l2")
		} else {
			c.metrics.miss()
			var err error
			if data, err = load(ctx); err != nil {
				return entry{}, err
			}
			c.setL2(ctx, key, data, ttl)
		}
		e := entry{data: data, ttl: l1TTL, fromL2: ok}
		if decode != nil {
			e.value = decode(data)
		}
		return e, nil
	}))
	return e, err == nil && e.fromL2, err
}

// Delete removes keys from both tiers.
func (c *Cache) Delete(ctx context.Context, keys ...string) {
	c.DeleteLocal(keys...)
	if c.redis == nil || len(keys) == 0 {
		return
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = c.cfg.Prefix + k
	}
	_, _ = c.breaker.Execute(func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
		defer cancel()
		return nil, c.redis.Del(ctx, full...).Err()
	})
}

// DeleteLocal removes keys from L1 only.
func (c *Cache) DeleteLocal(keys ...string) {
	for _, k := range keys {
		c.l1.Invalidate(k)
	}
}

func (c *Cache) getL2(ctx context.Context, key string) ([]byte, bool) {
	if c.redis == nil {
		return nil, false
	}
	data, err := c.breaker.Execute(func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
		defer cancel()
		data, err := c.redis.Get(ctx, c.cfg.Prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, errL2Miss
		}
		return data, err
	})
	if err != nil {
		if !errors.Is(err, errL2Miss) {
			c.metrics.l2Errors.Inc()
		}
		return nil, false
	}
	return data, true
}

func (c *Cache) setL2(ctx context.Context, key string, data []byte, ttl time.Duration) {
	if c.redis == nil {
		return
	}
	_, err := c.breaker.Execute(func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
		defer cancel()
		return nil, c.redis.Set(ctx, c.cfg.Prefix+key, data, ttl).Err()
	})
	if err != nil {
		c.metrics.l2Errors.Inc()
	}
}

// RedisAvailable reports whether L2 is configured and its breaker closed.
func (c *Cache) RedisAvailable() bool {
	return c.redis != nil && c.breaker.State() == gobreaker.StateClosed
}

type metrics struct {
	hitL1, hitL2, misses prometheus.Counter
	l2Errors             prometheus.Counter
	breakerOpen          prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_cache_requests_total", Help: "Cache lookups by outcome: hit_l1, hit_l2 or miss.",
	}, []string{"result"})
	m := &metrics{
		hitL1:  requests.WithLabelValues("hit_l1"),
		hitL2:  requests.WithLabelValues("hit_l2"),
		misses: requests.WithLabelValues("miss"),
		l2Errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vitrine_cache_redis_errors_total", Help: "Failed or refused Redis cache calls.",
		}),
		breakerOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vitrine_cache_redis_breaker_open", Help: "1 while the Redis circuit breaker is not closed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(requests, m.l2Errors, m.breakerOpen)
	}
	return m
}

func (m *metrics) hit(tier string) {
	if tier == "l1" {
		m.hitL1.Inc()
	} else {
		m.hitL2.Inc()
	}
}

func (m *metrics) miss() { m.misses.Inc() }
