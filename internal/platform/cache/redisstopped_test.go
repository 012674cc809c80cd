package cache_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// TestRedisStoppedAndBack: a real Redis killed while the cache uses it.
// Reads keep being answered (from L1 and the loader), the breaker opens
// and says so in vitrine_breaker_state, and once Redis is back the breaker
// tries it again after OpenFor, closes, and the cache fills Redis again:
// no restart.
func TestRedisStoppedAndBack(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: 0, ContextTimeoutEnabled: true,
		DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	policy := resilience.DefaultPolicy()
	policy.OpenFor = 300 * time.Millisecond
	breakers := resilience.NewBreakers(policy, slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	reg.MustRegister(breakers)
	c := cache.New(cache.Config{Redis: rdb, Prefix: "stopped:", Breakers: breakers})
	db := &loader{value: "from-db"}
	ctx := context.Background()
	get := func(key string) {
		t.Helper()
		if got, err := c.Get(ctx, key, time.Minute, db.load); err != nil || string(got) != "from-db" {
			t.Fatalf("%s: %q %v", key, got, err)
		}
	}
	state := func(want resilience.State) {
		t.Helper()
		exp := "# HELP vitrine_breaker_state State of each circuit breaker: 0 closed, 1 half-open (trying the remote side again), 2 open (calls refused).\n" +
			"# TYPE vitrine_breaker_state gauge\n" +
			"vitrine_breaker_state{breaker=\"redis-cache\"} " + string(rune('0'+int(want))) + "\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "vitrine_breaker_state"); err != nil {
			t.Fatal(err)
		}
	}

	get("before")
	if n, err := rdb.Exists(ctx, "stopped:before").Result(); err != nil || n != 1 {
		t.Fatalf("the value is not in Redis: %d %v", n, err)
	}
	state(resilience.Closed)

	srv.Stop()
	for i := range 30 {
		get("during-" + string(rune('a'+i)))
	}
	if c.RedisAvailable() {
		t.Fatal("the breaker is still closed after 30 lookups with Redis stopped")
	}
	state(resilience.Open)

	srv.Restart()
	eventually(t, 10*time.Second, "the breaker closes with Redis back", func() bool {
		get("after-" + time.Now().Format("150405.000000"))
		return c.RedisAvailable()
	})
	state(resilience.Closed)
	get("after")
	if n, err := rdb.Exists(ctx, "stopped:after").Result(); err != nil || n != 1 {
		t.Fatalf("the cache did not use Redis again: %d %v", n, err)
	}
}

// eventually waits for cond (testwait.Until).
var eventually = testwait.Until
