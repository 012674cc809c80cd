package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// liveRedis returns a client of the local Redis; the test fails without it.
func liveRedis(t *testing.T) *redis.Client { return redistest.Client(t) }

func prefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test:" + hex.EncodeToString(b[:]) + ":"
}

// loader counts how often the "database" is asked.
type loader struct {
	calls atomic.Int32
	value string
	delay time.Duration
}

func (l *loader) load(ctx context.Context) ([]byte, error) {
	l.calls.Add(1)
	time.Sleep(l.delay)
	return []byte(l.value), nil
}

func TestTwoTiersShareThroughRedis(t *testing.T) {
	rdb := liveRedis(t)
	p := prefix()
	a := cache.New(cache.Config{Redis: rdb, Prefix: p})
	b := cache.New(cache.Config{Redis: rdb, Prefix: p})
	ctx := context.Background()
	db := &loader{value: "v1"}
	for _, c := range []*cache.Cache{a, a, b, b} {
		got, err := c.Get(ctx, "k", time.Minute, db.load)
		if err != nil || string(got) != "v1" {
			t.Fatalf("got %q %v", got, err)
		}
	}
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("the database was asked %d times; instance b should have found the value in Redis", n)
	}
	// A delete on one instance clears Redis; the other drops its L1 when
	// told (by the event stream in production).
	db.value = "v2"
	a.Delete(ctx, "k")
	b.DeleteLocal("k")
	got, _ := b.Get(ctx, "k", time.Minute, db.load)
	if string(got) != "v2" {
		t.Fatalf("after invalidation: %q", got)
	}
}

func TestConcurrentMissesLoadOnce(t *testing.T) {
	c := cache.New(cache.Config{Redis: liveRedis(t), Prefix: prefix()})
	db := &loader{value: "v", delay: 100 * time.Millisecond}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := c.Get(context.Background(), "hot", time.Minute, db.load); err != nil || string(got) != "v" {
				t.Errorf("got %q %v", got, err)
			}
		}()
	}
	wg.Wait()
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent misses caused %d loads, want 1", n)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := cache.New(cache.Config{})
	calls := 0
	boom := errors.New("boom")
	for i := 0; i < 2; i++ {
		if _, err := c.Get(context.Background(), "k", time.Minute, func(context.Context) ([]byte, error) { calls++; return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("got %v", err)
		}
	}
	if calls != 2 {
		t.Fatalf("an error was cached: %d loads", calls)
	}
}

// TestRedisDown: with nothing listening on the Redis address the cache
// still answers, from L1 and the loader, and the breaker opens.
func TestRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	testDegraded(t, addr)
}

// TestRedisNotAnswering: Redis accepts connections but never replies; every
// call is bounded by the deadline and the breaker soon stops trying.
func TestRedisNotAnswering(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, say nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	testDegraded(t, ln.Addr().String())
}

func testDegraded(t *testing.T, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 100 * time.Millisecond, ReadTimeout: 50 * time.Millisecond,
		WriteTimeout: 50 * time.Millisecond, PoolTimeout: 50 * time.Millisecond, MaxRetries: 0})
	defer rdb.Close()
	policy := resilience.DefaultPolicy()
	policy.OpenFor = time.Minute
	c := cache.New(cache.Config{Redis: rdb, Prefix: prefix(), RedisTimeout: 50 * time.Millisecond,
		Breakers: resilience.NewBreakers(policy, slog.New(slog.DiscardHandler))})
	db := &loader{value: "from-db"}
	start := time.Now()
	for i := 0; i < 40; i++ {
		key := "k" + string(rune('a'+i%20))
		got, err := c.Get(context.Background(), key, time.Minute, db.load)
		if err != nil || string(got) != "from-db" {
			t.Fatalf("request %d: %q %v", i, got, err)
		}
	}
	if c.RedisAvailable() {
		t.Fatal("the breaker is still closed after every Redis call failed")
	}
	// 40 lookups, 20 of them misses: at most a few calls waited for Redis
	// before the breaker opened. Generous bound; the point is no 3 s hangs.
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("40 lookups took %s with Redis unavailable", elapsed)
	}
	if n := db.calls.Load(); n != 20 {
		t.Fatalf("%d loads for 20 distinct keys; L1 must still serve repeats", n)
	}
}

// GetDecoded decodes an entry once, when it comes into L1 (from the
// loader or from Redis), and hands every hit the same decoded value.
func TestGetDecodedDecodesOncePerEntry(t *testing.T) {
	rdb := liveRedis(t)
	p := prefix()
	a := cache.New(cache.Config{Redis: rdb, Prefix: p})
	b := cache.New(cache.Config{Redis: rdb, Prefix: p})
	ctx := context.Background()
	db := &loader{value: "v1"}
	var decodes atomic.Int32
	decode := func(data []byte) any {
		decodes.Add(1)
		s := "decoded:" + string(data)
		return &s
	}
	var first *string
	for i := range 5 {
		v, hit, err := a.GetDecoded(ctx, "k", time.Minute, db.load, decode)
		if err != nil {
			t.Fatal(err)
		}
		if hit != (i > 0) {
			t.Fatalf("read %d: hit %v; only the first read loads", i, hit)
		}
		got := v.(*string)
		if *got != "decoded:v1" {
			t.Fatalf("got %q", *got)
		}
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatal("a hit decoded the entry again instead of sharing the decoded value")
		}
	}
	if n, d := db.calls.Load(), decodes.Load(); n != 1 || d != 1 {
		t.Fatalf("loaded %d times, decoded %d times; want 1 and 1", n, d)
	}
	// Instance b finds it in Redis (a hit) and decodes it once for its own L1.
	for range 3 {
		if v, hit, err := b.GetDecoded(ctx, "k", time.Minute, db.load, decode); err != nil || !hit || *v.(*string) != "decoded:v1" {
			t.Fatalf("b: %v %v %v", v, hit, err)
		}
	}
	if n, d := db.calls.Load(), decodes.Load(); n != 1 || d != 2 {
		t.Fatalf("loaded %d times, decoded %d times; want 1 and 2", n, d)
	}
	// After a delete the next read loads and decodes afresh.
	db.value = "v2"
	a.Delete(ctx, "k")
	if v, hit, err := a.GetDecoded(ctx, "k", time.Minute, db.load, decode); err != nil || hit || *v.(*string) != "decoded:v2" {
		t.Fatalf("after delete: %v %v %v", v, hit, err)
	}
	// Get and GetDecoded share entries: Get sees the data.
	if got, err := a.Get(ctx, "k", time.Minute, db.load); err != nil || string(got) != "v2" {
		t.Fatalf("Get: %q %v", got, err)
	}
}
