package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backends lists every Limiter implementation; each runs the GCRA
// contract below. The Redis one must reach Redis: its fallback fails the
// test, so a decision taken locally cannot pass for a shared one.
var backends = []struct {
	name string
	make func(t *testing.T) Limiter
}{
	{"memory", func(t *testing.T) Limiter { return NewMemory(0) }},
	{"redis", func(t *testing.T) Limiter {
		return NewRedis(newRedisClient(t), RedisConfig{
			Prefix:   uniquePrefix(t),
			Timeout:  time.Second, // the contract is about GCRA, not about a busy test machine
			Fallback: mustNotFallBack(t),
		})
	}},
}

func TestGCRAContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("burst then deny then refill", func(t *testing.T) { testBurstDenyRefill(t, b.make(t)) })
			t.Run("burst defaults to rate", func(t *testing.T) { testDefaultBurst(t, b.make(t)) })
			t.Run("keys are independent", func(t *testing.T) { testKeysIndependent(t, b.make(t)) })
			t.Run("concurrent callers share one budget", func(t *testing.T) { testConcurrent(t, b.make(t)) })
			t.Run("invalid limit is an error", func(t *testing.T) { testInvalid(t, b.make(t)) })
		})
	}
}

func allow(t *testing.T, l Limiter, key string, limit Limit) Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, limit)
	if err != nil {
		t.Fatalf("Allow(%q, %v): %v", key, limit, err)
	}
	return res
}

// One request every 200 ms, bursts of 3: wide enough that a slow test
// machine does not see a refill between two calls meant to be at once.
var small = Limit{Rate: 5, Period: time.Second, Burst: 3}

const interval = 200 * time.Millisecond

func testBurstDenyRefill(t *testing.T, l Limiter) {
	for i := range small.Burst {
		res := allow(t, l, "k", small)
		if !res.Allowed || res.Remaining != small.Burst-1-i || res.RetryAfter != 0 {
			t.Fatalf("request %d of the burst: %+v, want allowed with %d remaining", i+1, res, small.Burst-1-i)
		}
		if res.ResetAfter <= time.Duration(i)*interval || res.ResetAfter > time.Duration(i+1)*interval {
			t.Fatalf("request %d of the burst: ResetAfter %s, want about %s", i+1, res.ResetAfter, time.Duration(i+1)*interval)
		}
		if res.Limit != small {
			t.Fatalf("Result.Limit = %+v, want %+v", res.Limit, small)
		}
	}
	denied := allow(t, l, "k", small)
	if denied.Allowed || denied.Remaining != 0 {
		t.Fatalf("past the burst: %+v, want denied", denied)
	}
	if denied.RetryAfter <= 0 || denied.RetryAfter > interval {
		t.Fatalf("past the burst: RetryAfter %s, want in (0, %s]", denied.RetryAfter, interval)
	}
	if denied.ResetAfter <= 2*interval || denied.ResetAfter > 3*interval {
		t.Fatalf("past the burst: ResetAfter %s, want about %s", denied.ResetAfter, 3*interval)
	}

	// One emission interval later, exactly one more request fits.
	time.Sleep(denied.RetryAfter + 20*time.Millisecond)
	if res := allow(t, l, "k", small); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after RetryAfter: %+v, want allowed with 0 remaining", res)
	}
	if res := allow(t, l, "k", small); res.Allowed {
		t.Fatalf("right after the refilled one: %+v, want denied", res)
	}

	// After ResetAfter the whole burst is back.
	full := allow(t, l, "k", small)
	time.Sleep(full.ResetAfter + 20*time.Millisecond)
	if res := allow(t, l, "k", small); !res.Allowed || res.Remaining != small.Burst-1 {
		t.Fatalf("after ResetAfter: %+v, want allowed with %d remaining", res, small.Burst-1)
	}
}

func testDefaultBurst(t *testing.T, l Limiter) {
	limit := Limit{Rate: 2, Period: time.Hour}
	for i := range 2 {
		if res := allow(t, l, "k", limit); !res.Allowed || res.Limit.Burst != 2 {
			t.Fatalf("request %d: %+v, want allowed with burst 2", i+1, res)
		}
	}
	res := allow(t, l, "k", limit)
	if res.Allowed {
		t.Fatalf("third request: %+v, want denied", res)
	}
	if res.RetryAfter < 29*time.Minute || res.RetryAfter > 30*time.Minute {
		t.Fatalf("RetryAfter %s, want about 30m (one request per half hour)", res.RetryAfter)
	}
}

func testKeysIndependent(t *testing.T, l Limiter) {
	limit := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	if !allow(t, l, "a", limit).Allowed || allow(t, l, "a", limit).Allowed {
		t.Fatal("key a: want one allowed, then denied")
	}
	if !allow(t, l, "b", limit).Allowed {
		t.Fatal("key b was denied because of key a")
	}
}

func testConcurrent(t *testing.T, l Limiter) {
	limit := Limit{Rate: 1, Period: time.Hour, Burst: 25}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				res, err := l.Allow(context.Background(), "shared", limit)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != int64(limit.Burst) {
		t.Fatalf("80 concurrent requests against a burst of %d: %d allowed", limit.Burst, got)
	}
}

func testInvalid(t *testing.T, l Limiter) {
	for _, limit := range []Limit{{}, {Rate: 0, Period: time.Second}, {Rate: 1, Period: 0}, {Rate: 10, Period: 5}} {
		if _, err := l.Allow(context.Background(), "k", limit); err == nil {
			t.Errorf("Allow with %+v: no error", limit)
		}
	}
}

// limiterFunc adapts a function to Limiter.
type limiterFunc func(ctx context.Context, key string, limit Limit) (Result, error)

func (f limiterFunc) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	return f(ctx, key, limit)
}

func mustNotFallBack(t *testing.T) Limiter {
	return limiterFunc(func(context.Context, string, Limit) (Result, error) {
		t.Error("the Redis limiter fell back to local limits")
		return Result{}, nil
	})
}
