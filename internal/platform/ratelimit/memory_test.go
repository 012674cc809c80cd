package ratelimit

import (
	"context"
	"hash/maphash"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock drives a Memory limiter's clock by hand.
type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) advance(d time.Duration) { c.now.Add(int64(d)) }

func newMemoryAt(maxKeys int) (*Memory, *fakeClock) {
	m := NewMemory(maxKeys)
	c := &fakeClock{}
	c.now.Store(int64(time.Hour)) // well away from zero, as a real clock would be
	m.now = c.now.Load
	return m, c
}

func TestMemoryExactGCRA(t *testing.T) {
	m, clock := newMemoryAt(0)
	limit := Limit{Rate: 1, Period: time.Second, Burst: 3}
	want := func(res Result, allowed bool, remaining int, retry, reset time.Duration) {
		t.Helper()
		if res.Allowed != allowed || res.Remaining != remaining || res.RetryAfter != retry || res.ResetAfter != reset {
			t.Fatalf("got %+v, want allowed=%v remaining=%d retry=%s reset=%s", res, allowed, remaining, retry, reset)
		}
	}
	want(allow(t, m, "k", limit), true, 2, 0, 1*time.Second)
	want(allow(t, m, "k", limit), true, 1, 0, 2*time.Second)
	want(allow(t, m, "k", limit), true, 0, 0, 3*time.Second)
	want(allow(t, m, "k", limit), false, 0, 1*time.Second, 3*time.Second)

	clock.advance(999 * time.Millisecond)
	want(allow(t, m, "k", limit), false, 0, time.Millisecond, 2001*time.Millisecond)
	clock.advance(time.Millisecond)
	want(allow(t, m, "k", limit), true, 0, 0, 3*time.Second)

	clock.advance(1500 * time.Millisecond) // half way through the second cell
	want(allow(t, m, "k", limit), true, 0, 0, 2500*time.Millisecond)
	want(allow(t, m, "k", limit), false, 0, 500*time.Millisecond, 2500*time.Millisecond)

	clock.advance(10 * time.Second) // long idle: a full burst, not more
	want(allow(t, m, "k", limit), true, 2, 0, time.Second)
}

func TestMemorySweepsIdleKeys(t *testing.T) {
	m, clock := newMemoryAt(0)
	limit := Limit{Rate: 1, Period: time.Second, Burst: 1}
	for i := range 1000 {
		allow(t, m, "idle-"+strconv.Itoa(i), limit)
	}
	if n := m.len(); n != 1000 {
		t.Fatalf("%d keys held, want 1000", n)
	}
	// One busy key per shard, so that every shard sees a call once its
	// sweep is due.
	busy := make(map[uint64]string)
	for i := 0; len(busy) < len(m.shards); i++ {
		key := "busy-" + strconv.Itoa(i)
		if shard := maphash.String(m.seed, key) & m.mask; busy[shard] == "" {
			busy[shard] = key
		}
	}
	clock.advance(sweepEvery + time.Second)
	for _, key := range busy {
		allow(t, m, key, Limit{Rate: 1, Period: time.Hour, Burst: 10})
	}
	if n := m.len(); n != len(busy) {
		t.Fatalf("%d keys held after the idle ones were back to full burst, want the %d busy ones", n, len(busy))
	}
}

func TestMemoryIsBounded(t *testing.T) {
	m, _ := newMemoryAt(256)
	limit := Limit{Rate: 1, Period: time.Hour, Burst: 1} // nothing expires during the test
	for i := range 20000 {
		allow(t, m, "k"+strconv.Itoa(i), limit)
	}
	if n := m.len(); n > 256 {
		t.Fatalf("%d keys held, want at most 256", n)
	}
	// The key just written survives eviction long enough to be limited.
	if allow(t, m, "k19999", limit).Allowed {
		t.Fatal("the most recent key was forgotten at once")
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory(0)
	limit := Limit{Rate: 1000, Period: time.Second, Burst: 2000}
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "ip:10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(7919) // each goroutine walks the keys from its own place
		ctx := context.Background()
		for pb.Next() {
			i++
			if _, err := m.Allow(ctx, keys[i%uint64(len(keys))], limit); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMemoryAllowOneKey(b *testing.B) {
	m := NewMemory(0)
	limit := Limit{Rate: 1000, Period: time.Second, Burst: 2000}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := m.Allow(ctx, "user:hot", limit); err != nil {
				b.Fatal(err)
			}
		}
	})
}
