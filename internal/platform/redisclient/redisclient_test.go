package redisclient_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/platform/redisclient"
	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// A plain URL gives a client of that one server, with the short
// deadlines wherever the URL sets none.
func TestPlainURLReachesOneServer(t *testing.T) {
	ctx := context.Background()
	c, err := redisclient.New("redis://" + redistest.Addr() + "/0?read_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis is required for this test at %s: %v", redistest.Addr(), err)
	}
	o := c.Options()
	if o.Addr != redistest.Addr() || o.ReadTimeout != time.Second || o.WriteTimeout != redisclient.WriteTimeout || o.MaxRetries > 0 {
		t.Errorf("options: addr %s, read timeout %s, write timeout %s, retries %d", o.Addr, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
	}
}

// A URL that cannot work is refused up front, without quoting it.
func TestBadURLsAreRefusedWithoutTheirPassword(t *testing.T) {
	for _, u := range []string{
		"redis://user:s3cret@127.0.0.1:26379/0?master_name=vitrine&addr=nohost",
		"redis://user:s3cret@127.0.0.1:26379/0?master_name=",
		"redis://user:s3cret@127.0.0.1:26379/0?master_name=vitrine&colour=blue",
		"mysql://user:s3cret@127.0.0.1/0",
		"redis://user:s3cret@127.0.0.1:6379/x",
		"redis://user:s3cret@[::1/0",
	} {
		c, err := redisclient.New(u)
		if err == nil {
			c.Close()
			t.Errorf("%s: accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", u, err)
		}
	}
}

// Through a Sentinel URL, the client follows the primary when it freezes
// (SIGSTOP: its port still accepts connections, nothing answers): while
// the Sentinels decide, each call fails within the client's deadlines
// instead of hanging; once they have promoted the replica, reads and
// writes work again, with no restart, and rate limits are shared again
// between instances. The old primary, thawed, takes no write.
func TestSentinelURLFollowsAFrozenPrimary(t *testing.T) {
	g := redistest.StartGroup(t)
	c, err := redisclient.New(g.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "written-before", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitForCopy(t, g.Replica, "written-before")
	// Two instances' rate limiters, with breakers that try Redis again
	// after a second (the default waits 30 s).
	policy := resilience.DefaultPolicy()
	policy.OpenFor = time.Second
	limiters := []*ratelimit.Redis{newLimiter(t, g.URL(), policy), newLimiter(t, g.URL(), policy)}
	waitForSharedLimits(t, limiters, "before")

	g.Primary.Freeze()
	frozen := time.Now()
	var slowest time.Duration
	var resumed time.Duration
	for resumed == 0 {
		if time.Since(frozen) > 30*time.Second {
			t.Fatalf("no write succeeded within 30s of the primary's freeze")
		}
		start := time.Now()
		err := boundedCall(t, func() error { return c.Set(context.Background(), "written-after", "new", 0).Err() })
		slowest = max(slowest, time.Since(start))
		// Requests go on meanwhile: the limiters fall back to memory and
		// their breakers open.
		for _, l := range limiters {
			_, _ = l.Allow(context.Background(), "meanwhile", ratelimit.Limit{Rate: 1000, Period: time.Second})
		}
		if err == nil {
			resumed = time.Since(frozen)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("writes resumed %s after the primary froze; the slowest failed call took %s", resumed.Round(time.Millisecond), slowest.Round(time.Millisecond))
	if slowest > time.Second {
		t.Errorf("a call took %s while the primary was frozen: it hung instead of failing within the client's deadlines", slowest)
	}
	if addr, err := g.MasterAddr(ctx); err != nil || addr != g.Replica.Addr() {
		t.Fatalf("the Sentinels name %s as primary (%v), not the replica %s", addr, err, g.Replica.Addr())
	}
	if v, err := c.Get(ctx, "written-before").Result(); err != nil || v != "kept" {
		t.Errorf("read of a key written before the freeze: %q, %v", v, err)
	}
	waitForSharedLimits(t, limiters, "after")
	t.Logf("rate limits shared again %s after the primary froze", time.Since(frozen).Round(time.Millisecond))

	g.Primary.Thaw()
	for i := range 20 {
		key := fmt.Sprintf("written-after-thaw-%d", i)
		if err := c.Set(ctx, key, "new", 0).Err(); err != nil {
			t.Fatalf("write after the old primary thawed: %v", err)
		}
		onNew := redis.NewClient(&redis.Options{Addr: g.Replica.Addr()})
		v, err := onNew.Get(ctx, key).Result()
		onNew.Close()
		if v != "new" {
			t.Fatalf("a write after the thaw is not on the new primary: %q, %v", v, err)
		}
	}
}

// boundedCall runs call and fails the test if it has not returned within
// 5 s: the client must give up on a frozen server by itself.
func boundedCall(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("a call to Redis hung for 5s on the frozen primary")
		return nil
	}
}

func newLimiter(t *testing.T, url string, policy resilience.Policy) *ratelimit.Redis {
	t.Helper()
	c, err := redisclient.New(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ratelimit.NewRedis(c, ratelimit.RedisConfig{Prefix: "test:" + t.Name() + ":", Timeout: 500 * time.Millisecond,
		Breakers: resilience.NewBreakers(policy, nil)})
}

// waitForSharedLimits waits until a budget spent through one limiter is
// spent for the other: both count in the new primary again.
func waitForSharedLimits(t *testing.T, limiters []*ratelimit.Redis, when string) {
	t.Helper()
	start := time.Now()
	limit := ratelimit.Limit{Rate: 1, Period: time.Hour}
	for i := 0; time.Since(start) < 30*time.Second; i++ {
		key := fmt.Sprintf("shared-%s-%d", when, i)
		first, err1 := limiters[0].Allow(context.Background(), key, limit)
		second, err2 := limiters[1].Allow(context.Background(), key, limit)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if first.Allowed && !second.Allowed && !limiters[0].Degraded() && !limiters[1].Degraded() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the two limiters did not share their budgets (%s the freeze) within 30s", when)
}

func waitForCopy(t *testing.T, replica *redistest.Server, key string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n, _ := c.Exists(context.Background(), key).Result(); n == 1 {
			return
		}
	}
	t.Fatalf("%s did not reach the replica", key)
}
