// Package cache is the two-tier, cache-aside cache: L1 is a bounded
// in-process cache (otter), L2 an optional Redis shared by every instance.
// Concurrent misses of one key cause one load. Redis sits behind a circuit
// breaker (package resilience) with a short deadline: when it is down or
// slow the cache keeps answering from L1 and the loader (the database).
package cache

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// Config tunes a cache.
type Config struct {
	L1MaxBytes   uint64        // bound on L1 memory (bytes of values); default 256 MiB
	L1MaxTTL     time.Duration // L1 keeps an entry at most this long; default 1 minute
	Redis        *redis.Client // nil: L1 only
	Prefix       string        // namespace of the keys in Redis
	RedisTimeout time.Duration // deadline of one Redis call; default 50ms, at most the breakers' Timeout
	// Breakers makes the breaker in front of Redis, named "redis-cache";
	// nil makes one with the default policy, logging to Logger.
	Breakers   *resilience.Breakers
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Cache is safe for concurrent use.
type Cache struct {
	l1      *otter.Cache[string, entry]
	redis   *redis.Client
	breaker *resilience.Breaker
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
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Breakers == nil {
		cfg.Breakers = resilience.NewBreakers(resilience.DefaultPolicy(), cfg.Logger)
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
		// A miss is an answer of a healthy Redis, not a failure.
		c.breaker = cfg.Breakers.Breaker("redis-cache", resilience.Deadline(cfg.RedisTimeout),
			resilience.Benign(func(err error) bool { return errors.Is(err, errL2Miss) }))
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
	// An invalidation must reach Redis even when the request that caused
	// it is over.
	_ = c.breaker.Do(context.WithoutCancel(ctx), func(ctx context.Context) error {
		return c.redis.Del(ctx, full...).Err()
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
	var data []byte
	err := c.breaker.Do(ctx, func(ctx context.Context) error {
		var err error
		data, err = c.redis.Get(ctx, c.cfg.Prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			return errL2Miss
		}
		return err
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
	err := c.breaker.Do(context.WithoutCancel(ctx), func(ctx context.Context) error {
		return c.redis.Set(ctx, c.cfg.Prefix+key, data, ttl).Err()
	})
	if err != nil {
		c.metrics.l2Errors.Inc()
	}
}

// RedisAvailable reports whether L2 is configured and its breaker closed.
func (c *Cache) RedisAvailable() bool {
	return c.redis != nil && c.breaker.State() == resilience.Closed
}

type metrics struct {
	hitL1, hitL2, misses prometheus.Counter
	l2Errors             prometheus.Counter
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
	}
	if reg != nil {
		reg.MustRegister(requests, m.l2Errors)
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
