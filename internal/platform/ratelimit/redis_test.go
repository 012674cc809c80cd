package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

func newRedisClient(t testing.TB) *redis.Client { return redistest.Client(t) }

// uniquePrefix returns a key prefix of the test's own; its keys are
// deleted when the test ends.
func uniquePrefix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "vitrine-test:ratelimit:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: redistest.Addr()})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, "rate:"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

func TestRedisInstancesShareTheBudget(t *testing.T) {
	prefix := uniquePrefix(t)
	a := NewRedis(newRedisClient(t), RedisConfig{Prefix: prefix, Timeout: time.Second, Fallback: mustNotFallBack(t)})
	b := NewRedis(newRedisClient(t), RedisConfig{Prefix: prefix, Timeout: time.Second, Fallback: mustNotFallBack(t)})
	limit := Limit{Rate: 4, Period: time.Hour, Burst: 4}

	allowedBy := map[string]int{}
	for i := range 10 {
		name, l := "a", Limiter(a)
		if i%2 == 1 {
			name, l = "b", b
		}
		if allow(t, l, "ip:198.51.100.7", limit).Allowed {
			allowedBy[name]++
		}
	}
	if allowedBy["a"] != 2 || allowedBy["b"] != 2 {
		t.Fatalf("allowed per instance: %v, want 2 and 2 out of one shared burst of 4", allowedBy)
	}
	denied := allow(t, b, "ip:198.51.100.7", limit)
	if denied.Allowed || denied.RetryAfter < 14*time.Minute || denied.RetryAfter > 15*time.Minute {
		t.Fatalf("after the shared burst: %+v, want denied for about 15m", denied)
	}
	n, err := newRedisClient(t).Exists(context.Background(), "rate:"+prefix+"ip:198.51.100.7").Result()
	if err != nil || n != 1 {
		t.Fatalf("the limiter state is not in Redis: exists=%d, %v", n, err)
	}
}

func TestRedisDownFallsBackToLocalLimits(t *testing.T) {
	// Nothing listens on port 1: every connection is refused. Each call must
	// answer within the Redis deadline (with a second of slack for a busy
	// machine), never wait for a dial timeout.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	logs := &testwait.Buffer{}
	r := NewRedis(client, RedisConfig{
		Prefix:   uniquePrefix(t),
		Fallback: NewMemory(0),
		LogEvery: time.Hour,
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
	})
	limit := Limit{Rate: 2, Period: time.Hour, Burst: 2}

	for i := range 30 {
		start := time.Now()
		res, err := r.Allow(context.Background(), "ip:203.0.113.1", limit)
		if err != nil {
			t.Fatalf("request %d: %v, want an answer from the fallback", i+1, err)
		}
		if want := i < 2; res.Allowed != want {
			t.Fatalf("request %d: allowed=%v, want %v (local limits still apply)", i+1, res.Allowed, want)
		}
		if elapsed := time.Since(start); elapsed > DefaultRedisTimeout+time.Second {
			t.Fatalf("request %d took %s with Redis down", i+1, elapsed)
		}
	}
	if !r.Degraded() {
		t.Fatal("the breaker is still closed after 30 failed calls")
	}
	if n := strings.Count(logs.String(), "Redis unavailable"); n != 1 {
		t.Fatalf("%d fallback log lines for 30 fallbacks in one LogEvery, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "to=open"); n != 1 {
		t.Fatalf("%d breaker-open log lines, want 1:\n%s", n, logs)
	}
}

func TestRedisThatNeverAnswersFallsBackWithinTheDeadline(t *testing.T) {
	addr := silentServer(t)
	// Default client options on purpose: go-redis then ignores context
	// deadlines and would wait ReadTimeout (seconds); the limiter must not.
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	const timeout = 50 * time.Millisecond
	r := NewRedis(client, RedisConfig{
		Prefix:   uniquePrefix(t),
		Timeout:  timeout,
		Fallback: NewMemory(0),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	limit := Limit{Rate: 3, Period: time.Hour, Burst: 3}

	start := time.Now()
	for i := range 20 {
		callStart := time.Now()
		res, err := r.Allow(context.Background(), "user:u1", limit)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if elapsed := time.Since(callStart); elapsed > timeout+200*time.Millisecond {
			t.Fatalf("request %d took %s against a deadline of %s", i+1, elapsed, timeout)
		}
		if want := i < 3; res.Allowed != want {
			t.Fatalf("request %d: allowed=%v, want %v from the local fallback", i+1, res.Allowed, want)
		}
	}
	if !r.Degraded() {
		t.Fatal("the breaker is still closed after 20 timed-out calls")
	}
	// Ten timeouts open the breaker (the default policy's minimum); the
	// other calls do not wait at all.
	if total := time.Since(start); total > 10*timeout+time.Second {
		t.Fatalf("20 calls took %s: the open breaker should answer at once", total)
	}
}

func TestRedisBreakerClosesWhenRedisIsBack(t *testing.T) {
	proxy := startProxy(t, redistest.Addr())
	client := redis.NewClient(&redis.Options{Addr: proxy.addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	var fallbacks atomic.Int64
	local := NewMemory(0)
	r := NewRedis(client, RedisConfig{
		Prefix: uniquePrefix(t),
		Breakers: resilience.NewBreakers(resilience.Policy{Timeout: time.Second, FailureRatio: 0.5, MinRequests: 10,
			Window: 10 * time.Second, OpenFor: 300 * time.Millisecond}, slog.New(slog.DiscardHandler)),
		Fallback: limiterFunc(func(ctx context.Context, key string, limit Limit) (Result, error) {
			fallbacks.Add(1)
			return local.Allow(ctx, key, limit)
		}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	limit := Limit{Rate: 1000, Period: time.Second, Burst: 1000}
	ctx := context.Background()

	if res, err := r.Allow(ctx, "k", limit); err != nil || !res.Allowed || fallbacks.Load() != 0 {
		t.Fatalf("with Redis up: %+v, %v, %d fallbacks", res, err, fallbacks.Load())
	}

	proxy.setUp(false)
	for i := 0; !r.Degraded(); i++ {
		if i == 50 {
			t.Fatal("the breaker did not open with Redis unreachable")
		}
		if _, err := r.Allow(ctx, "k", limit); err != nil {
			t.Fatal(err)
		}
	}
	if fallbacks.Load() == 0 {
		t.Fatal("no call went to the fallback with Redis unreachable")
	}

	proxy.setUp(true)
	deadline := time.Now().Add(5 * time.Second)
	for r.Degraded() {
		if time.Now().After(deadline) {
			t.Fatal("the breaker did not close within 5s of Redis coming back")
		}
		if _, err := r.Allow(ctx, "k", limit); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := fallbacks.Load()
	if res, err := r.Allow(ctx, "k", limit); err != nil || !res.Allowed || fallbacks.Load() != before {
		t.Fatalf("with Redis back: %+v, %v, fallback used: %v", res, err, fallbacks.Load() != before)
	}
}

func TestRedisCallerCancellationDoesNotTripTheBreaker(t *testing.T) {
	r := NewRedis(newRedisClient(t), RedisConfig{Prefix: uniquePrefix(t), Fallback: NewMemory(0)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := r.Allow(ctx, "k", Limit{Rate: 10, Period: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if r.Degraded() {
		t.Fatal("callers that gave up opened the breaker on a healthy Redis")
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	r := NewRedis(newRedisClient(b), RedisConfig{Prefix: uniquePrefix(b), Timeout: time.Second, Fallback: limiterFunc(
		func(context.Context, string, Limit) (Result, error) {
			b.Error("fell back")
			return Result{}, nil
		})})
	limit := Limit{Rate: 1000, Period: time.Second, Burst: 2000}
	var seq atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1000)
		ctx := context.Background()
		for pb.Next() {
			i++
			if _, err := r.Allow(ctx, "ip:10.1.0."+strconv.FormatUint(i%256, 10), limit); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// silentServer accepts connections and never answers, like a Redis that
// hangs. It returns its address.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// proxy forwards TCP to a target while up; set down, it drops every
// connection and refuses new ones, like a Redis that went away.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setUp(false)
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		p.mu.Unlock()
		if !up {
			_ = client.Close()
			continue
		}
		server, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns[client], p.conns[server] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

func (p *proxy) setUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}
