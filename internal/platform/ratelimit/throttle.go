package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// Throttle slows down one key (an account, say) after repeated failures,
// whichever client they come from, as the login throttle does for an
// account: past Policy.After attempts in a row
// without a Reset, the key must wait, and each further attempt doubles the
// wait up to Policy.MaxWait.
//
// Every attempt counts until Reset (a success) clears the key. Counting
// before the outcome is known, in one atomic step, is what keeps many
// concurrent guesses from all slipping in under the threshold.
type Throttle interface {
	// Attempt records an attempt on key and returns zero when it may go
	// ahead, or how long the key must still wait; a refused attempt does
	// not count. It never fails: a backend that cannot reach its store
	// answers from a local fallback.
	Attempt(ctx context.Context, key string) time.Duration
	// Reset forgets the attempts on key.
	Reset(ctx context.Context, key string)
}

// ThrottlePolicy says when and for how long a key waits.
type ThrottlePolicy struct {
	// After is how many attempts in a row a key gets before it must wait.
	After int
	// Wait is the first wait; each further attempt doubles it.
	Wait time.Duration
	// MaxWait caps the wait, so that the owner of a key under attack is
	// never kept out for long.
	MaxWait time.Duration
	// Forget is how long a key must stay unused, after its wait, before
	// its attempts are forgotten.
	Forget time.Duration
}

// DefaultThrottlePolicy is 5 attempts, then 1 min, doubling up to 15 min;
// an hour of quiet forgets them.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{After: 5, Wait: time.Minute, MaxWait: 15 * time.Minute, Forget: time.Hour}
}

// Validate reports whether p can be applied.
func (p ThrottlePolicy) Validate() error {
	if p.After < 1 || p.Wait <= 0 || p.MaxWait < p.Wait || p.Forget <= 0 {
		return fmt.Errorf("ratelimit: invalid throttle: %d attempts, then %s doubling up to %s, forgotten after %s: "+
			"want at least 1 attempt, a positive wait no longer than the maximum, and a positive forget time",
			p.After, p.Wait, p.MaxWait, p.Forget)
	}
	return nil
}

// waitAfter returns the wait imposed once a key has had n attempts.
func (p ThrottlePolicy) waitAfter(n int) time.Duration {
	if n < p.After {
		return 0
	}
	w := p.Wait
	for range n - p.After {
		if w >= p.MaxWait/2 {
			return p.MaxWait
		}
		w *= 2
	}
	return min(w, p.MaxWait)
}

// DefaultThrottleKeys bounds a MemoryThrottle built with maxKeys <= 0.
const DefaultThrottleKeys = 1 << 17

// MemoryThrottle is a Throttle held in process memory, for one instance.
// Past maxKeys, the key closest to being forgotten among a few sampled
// makes room for a new one.
type MemoryThrottle struct {
	policy  ThrottlePolicy
	maxKeys int
	now     func() time.Time // tests replace it

	mu   sync.Mutex
	keys map[string]*throttleState
}

type throttleState struct {
	n       int
	until   time.Time // no attempt before this
	expires time.Time // forgotten from this on
}

// NewMemoryThrottle returns an in-memory Throttle; it panics when policy
// does not Validate.
func NewMemoryThrottle(policy ThrottlePolicy, maxKeys int) *MemoryThrottle {
	if err := policy.Validate(); err != nil {
		panic(err)
	}
	if maxKeys <= 0 {
		maxKeys = DefaultThrottleKeys
	}
	return &MemoryThrottle{policy: policy, maxKeys: maxKeys, now: time.Now, keys: map[string]*throttleState{}}
}

// Attempt implements Throttle.
func (m *MemoryThrottle) Attempt(_ context.Context, key string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s, ok := m.keys[key]
	if ok && !now.Before(s.expires) {
		s, ok = nil, false
	}
	if ok && now.Before(s.until) {
		return s.until.Sub(now)
	}
	if !ok {
		if len(m.keys) >= m.maxKeys {
			m.makeRoom(now)
		}
		s = &throttleState{}
		m.keys[key] = s
	}
	s.n++
	wait := m.policy.waitAfter(s.n)
	s.until = now.Add(wait)
	s.expires = s.until.Add(m.policy.Forget)
	return 0
}

// Reset implements Throttle.
func (m *MemoryThrottle) Reset(_ context.Context, key string) {
	m.mu.Lock()
	delete(m.keys, key)
	m.mu.Unlock()
}

// makeRoom drops the forgotten keys among a few sampled (map iteration
// starts at a random place), or else the one forgotten soonest.
func (m *MemoryThrottle) makeRoom(now time.Time) {
	var victim string
	var victimExpires time.Time
	seen, dropped := 0, false
	for k, s := range m.keys {
		switch {
		case !now.Before(s.expires):
			delete(m.keys, k)
			dropped = true
		case seen == 0 || s.expires.Before(victimExpires):
			victim, victimExpires = k, s.expires
		}
		if seen++; seen == evictSample {
			break
		}
	}
	if !dropped && seen > 0 {
		delete(m.keys, victim)
	}
}

// RedisThrottleConfig tunes a RedisThrottle. Zero fields take the defaults of
// RedisConfig.
type RedisThrottleConfig struct {
	Prefix  string        // prepended to every key
	Timeout time.Duration // bounds each call to Redis
	// Fallback answers while Redis fails; a MemoryThrottle with the same
	// policy by default. Its counts are per instance meanwhile.
	Fallback Throttle
	// Breakers makes the breaker in front of Redis, "redis-throttle"; nil
	// makes one with the default policy.
	Breakers *resilience.Breakers
	Logger   *slog.Logger
}

// RedisThrottle is a Throttle whose counts live in Redis, shared by every
// instance, on Redis's clock. When Redis errs, is slow or the breaker is
// open, the fallback answers.
type RedisThrottle struct {
	client   redis.UniversalClient
	policy   ThrottlePolicy
	prefix   string
	fallback Throttle
	guard    *redisGuard[int64]
}

// throttleScript counts an attempt on KEYS[1] unless it must still wait;
// it returns the wait left in milliseconds, 0 when the attempt counts.
// ARGV: after, wait ms, max wait ms, forget ms.
var throttleScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local after, wait, maxwait, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local untilms = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if now < untilms then
  return untilms - now
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local w = 0
if n >= after then
  local k = math.min(n - after, 40)
  w = math.min(wait * 2 ^ k, maxwait)
  w = math.floor(w)
  redis.call('HSET', KEYS[1], 'until', now + w)
end
redis.call('PEXPIRE', KEYS[1], w + forget)
return 0
`)

// NewRedisThrottle returns a Throttle on client, which it does not own; it
// panics when policy does not Validate.
func NewRedisThrottle(client redis.UniversalClient, policy ThrottlePolicy, cfg RedisThrottleConfig) *RedisThrottle {
	if err := policy.Validate(); err != nil {
		panic(err)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.Fallback == nil {
		cfg.Fallback = NewMemoryThrottle(policy, 0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Breakers == nil {
		cfg.Breakers = resilience.NewBreakers(resilience.DefaultPolicy(), cfg.Logger)
	}
	return &RedisThrottle{
		client:   client,
		policy:   policy,
		prefix:   cfg.Prefix + "throttle:",
		fallback: cfg.Fallback,
		guard: newRedisGuard[int64](cfg.Breakers.Breaker("redis-throttle", resilience.Deadline(cfg.Timeout)),
			"throttle", "counting attempts locally", DefaultMaxInFlight, DefaultLogEvery, cfg.Logger),
	}
}

// Attempt implements Throttle.
func (b *RedisThrottle) Attempt(ctx context.Context, key string) time.Duration {
	p := b.policy
	ms, err := b.guard.do(ctx, func(ctx context.Context) (int64, error) {
		return throttleScript.Run(ctx, b.client, []string{b.prefix + key},
			p.After, p.Wait.Milliseconds(), p.MaxWait.Milliseconds(), p.Forget.Milliseconds()).Int64()
	})
	if err != nil {
		return b.fallback.Attempt(ctx, key)
	}
	return time.Duration(ms) * time.Millisecond
}

// Reset implements Throttle. The fallback forgets the key too, so that what
// it counted while Redis was away does not outlive a success.
func (b *RedisThrottle) Reset(ctx context.Context, key string) {
	b.fallback.Reset(ctx, key)
	_, _ = b.guard.do(ctx, func(ctx context.Context) (int64, error) {
		return b.client.Del(ctx, b.prefix+key).Result()
	})
}

// Degraded reports whether calls are going to the fallback.
func (b *RedisThrottle) Degraded() bool { return b.guard.degraded() }

var (
	_ Throttle = (*MemoryThrottle)(nil)
	_ Throttle = (*RedisThrottle)(nil)
)
