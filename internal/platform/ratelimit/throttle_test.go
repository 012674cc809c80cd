package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
)

func newMemoryThrottleAt(p ThrottlePolicy, maxKeys int) (*MemoryThrottle, *time.Time) {
	m := NewMemoryThrottle(p, maxKeys)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	return m, &now
}

func TestThrottleWaitsDoubleUpToTheCap(t *testing.T) {
	p := ThrottlePolicy{After: 3, Wait: time.Minute, MaxWait: 5 * time.Minute, Forget: time.Hour}
	m, now := newMemoryThrottleAt(p, 0)
	ctx := context.Background()
	for i := range 3 {
		if w := m.Attempt(ctx, "acct"); w != 0 {
			t.Fatalf("attempt %d must wait %s, want none before the threshold", i+1, w)
		}
	}
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		if w := m.Attempt(ctx, "acct"); w != want {
			t.Fatalf("refused attempt waits %s, want %s", w, want)
		}
		*now = now.Add(want - time.Second)
		if w := m.Attempt(ctx, "acct"); w != time.Second {
			t.Fatalf("a second before the end the wait left is %s, want 1s", w)
		}
		*now = now.Add(time.Second)
		if w := m.Attempt(ctx, "acct"); w != 0 {
			t.Fatalf("after its wait the key is still refused for %s", w)
		}
	}
	if w := m.Attempt(ctx, "other"); w != 0 {
		t.Fatalf("another key waits %s", w)
	}
}

func TestThrottleResetAndForget(t *testing.T) {
	p := ThrottlePolicy{After: 2, Wait: time.Minute, MaxWait: time.Hour, Forget: 10 * time.Minute}
	m, now := newMemoryThrottleAt(p, 0)
	ctx := context.Background()
	m.Attempt(ctx, "acct")
	m.Attempt(ctx, "acct")
	if w := m.Attempt(ctx, "acct"); w == 0 {
		t.Fatal("not throttled after 2 attempts")
	}
	m.Reset(ctx, "acct")
	if w := m.Attempt(ctx, "acct"); w != 0 {
		t.Fatalf("throttled for %s after a reset", w)
	}
	// One attempt, then quiet past the forget time: the count starts over.
	*now = now.Add(10 * time.Minute)
	m.Attempt(ctx, "acct")
	if w := m.Attempt(ctx, "acct"); w != 0 {
		t.Fatalf("throttled for %s: the old attempt was not forgotten", w)
	}
}

func TestThrottleConcurrentAttemptsCannotSlipUnderTheThreshold(t *testing.T) {
	m := NewMemoryThrottle(ThrottlePolicy{After: 5, Wait: time.Hour, MaxWait: time.Hour, Forget: time.Hour}, 0)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if m.Attempt(context.Background(), "acct") == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 100 concurrent attempts went ahead, want 5", n)
	}
}

func TestMemoryThrottleIsBounded(t *testing.T) {
	m, _ := newMemoryThrottleAt(DefaultThrottlePolicy(), 100)
	for i := range 1000 {
		m.Attempt(context.Background(), "k"+strconv.Itoa(i))
	}
	if n := len(m.keys); n > 100 {
		t.Fatalf("%d keys held, want at most 100", n)
	}
}

func TestThrottlePolicyValidate(t *testing.T) {
	if err := DefaultThrottlePolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []ThrottlePolicy{
		{After: 0, Wait: time.Second, MaxWait: time.Minute, Forget: time.Hour},
		{After: 5, Wait: 0, MaxWait: time.Minute, Forget: time.Hour},
		{After: 5, Wait: time.Hour, MaxWait: time.Minute, Forget: time.Hour},
		{After: 5, Wait: time.Second, MaxWait: time.Minute, Forget: 0},
	} {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestRedisThrottleIsSharedByInstances(t *testing.T) {
	prefix := uniqueThrottlePrefix(t)
	p := ThrottlePolicy{After: 4, Wait: 200 * time.Millisecond, MaxWait: time.Minute, Forget: time.Minute}
	noFallback := throttleFunc(func(context.Context, string) time.Duration {
		t.Error("the Redis throttle fell back to local counts")
		return 0
	})
	cfg := RedisThrottleConfig{Prefix: prefix, Timeout: time.Second, Fallback: noFallback}
	a := NewRedisThrottle(newRedisClient(t), p, cfg)
	b := NewRedisThrottle(newRedisClient(t), p, cfg)
	ctx := context.Background()

	// Two instances take turns: together they get the 4 attempts, no more.
	for i := range 4 {
		inst := []*RedisThrottle{a, b}[i%2]
		if w := inst.Attempt(ctx, "acct"); w != 0 {
			t.Fatalf("attempt %d refused for %s", i+1, w)
		}
	}
	first := b.Attempt(ctx, "acct")
	if first <= 0 || first > p.Wait {
		t.Fatalf("after 4 shared attempts the wait is %s, want (0, %s]", first, p.Wait)
	}
	n, err := newRedisClient(t).Exists(ctx, prefix+"throttle:acct").Result()
	if err != nil || n != 1 {
		t.Fatalf("the count is not in Redis: exists=%d, %v", n, err)
	}

	// Once the wait is over one more attempt counts, and the next wait doubles.
	var second time.Duration
	for range 100 {
		time.Sleep(first)
		if first = a.Attempt(ctx, "acct"); first == 0 {
			second = b.Attempt(ctx, "acct")
			break
		}
	}
	if second <= p.Wait || second > 2*p.Wait {
		t.Fatalf("the second wait is %s, want (%s, %s]", second, p.Wait, 2*p.Wait)
	}

	a.Reset(ctx, "acct")
	if w := b.Attempt(ctx, "acct"); w != 0 {
		t.Fatalf("refused for %s after a reset on another instance", w)
	}
}

func TestRedisThrottleFallsBackWhenRedisIsDown(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // nothing listens there
	t.Cleanup(func() { _ = client.Close() })
	p := ThrottlePolicy{After: 2, Wait: time.Hour, MaxWait: time.Hour, Forget: time.Hour}
	b := NewRedisThrottle(client, p, RedisThrottleConfig{Prefix: "vitrine-test:unused:", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	b.Attempt(ctx, "acct")
	b.Attempt(ctx, "acct")
	if w := b.Attempt(ctx, "acct"); w <= 0 {
		t.Fatal("with Redis down, the local count did not throttle the third attempt")
	}
	b.Reset(ctx, "acct")
	if w := b.Attempt(ctx, "acct"); w != 0 {
		t.Fatalf("with Redis down, a reset did not clear the local count (%s)", w)
	}
}

// throttleFunc adapts a function to Throttle, for a fallback that must not run.
type throttleFunc func(ctx context.Context, key string) time.Duration

func (f throttleFunc) Attempt(ctx context.Context, key string) time.Duration { return f(ctx, key) }
func (f throttleFunc) Reset(context.Context, string)                         {}

// uniqueThrottlePrefix is uniquePrefix for throttle keys, which carry no
// "rate:" in front; they are deleted when the test ends.
func uniqueThrottlePrefix(t *testing.T) string {
	t.Helper()
	prefix := uniquePrefix(t)
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: redistest.Addr()})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}
