package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxKeys bounds a Memory limiter built with maxKeys <= 0: about
// 50 MB at most, room for far more clients than one instance serves.
const DefaultMaxKeys = 1 << 19

// sweepEvery is how often a shard drops the keys that are back to their
// full burst. Such a key carries no information (a missing key means the
// same), so dropping it never changes a decision.
const sweepEvery = 10 * time.Second

// evictSample is how many keys a full shard looks at to pick one to drop.
const evictSample = 8

// Memory is a GCRA limiter held in process memory: a sharded map from key
// to theoretical arrival time. Its memory is bounded: keys idle long enough
// to be back to their full burst are swept, and past maxKeys a new key
// evicts the key, among a few sampled, closest to its full burst (that key
// then starts afresh: under a flood of distinct keys the limiter errs
// towards letting requests through, never towards refusing a new client).
//
// It is safe for concurrent use and needs no Close.
type Memory struct {
	seed     maphash.Seed
	mask     uint64
	perShard int
	shards   []memShard
	now      func() int64 // nanoseconds on a monotonic clock; tests replace it
}

type memShard struct {
	mu        sync.Mutex
	tats      map[string]int64
	nextSweep int64
	_         [40]byte // keep shards on separate cache lines
}

// NewMemory returns an in-memory limiter holding at most about maxKeys
// keys (DefaultMaxKeys when maxKeys <= 0).
func NewMemory(maxKeys int) *Memory {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	// At least 64 keys per shard, at most 64 shards, a power of two.
	n := 1
	for n < 64 && n*2*64 <= maxKeys {
		n *= 2
	}
	epoch := time.Now()
	m := &Memory{
		seed:     maphash.MakeSeed(),
		mask:     uint64(n - 1),
		perShard: (maxKeys + n - 1) / n,
		shards:   make([]memShard, n),
		now:      func() int64 { return int64(time.Since(epoch)) },
	}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

// Allow applies limit to key. It fails only for an invalid limit.
func (m *Memory) Allow(_ context.Context, key string, limit Limit) (Result, error) {
	lim, err := limit.normalized()
	if err != nil {
		return Result{}, err
	}
	interval, tolerance := lim.emission()
	s := &m.shards[maphash.String(m.seed, key)&m.mask]

	s.mu.Lock()
	now := m.now()
	if now >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = now + int64(sweepEvery)
	}
	stored, found := s.tats[key]
	tat := max(stored, now)
	newTAT := tat + interval
	allowAt := newTAT - tolerance
	if now < allowAt {
		s.mu.Unlock()
		return Result{
			Allowed:    false,
			RetryAfter: time.Duration(allowAt - now),
			ResetAfter: time.Duration(tat - now),
			Limit:      lim,
		}, nil
	}
	if !found && len(s.tats) >= m.perShard {
		s.evict(now)
	}
	s.tats[key] = newTAT
	s.mu.Unlock()

	return Result{
		Allowed:    true,
		Remaining:  int((now - allowAt) / interval),
		ResetAfter: time.Duration(newTAT - now),
		Limit:      lim,
	}, nil
}

// sweep drops the keys that are back to their full burst.
func (s *memShard) sweep(now int64) {
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
}

// evict makes room for one key: it drops every idle key among a few
// sampled (map iteration starts at a random place), or else the sampled
// key with the earliest arrival time, the one that holds the least debt.
func (s *memShard) evict(now int64) {
	var victim string
	victimTAT, seen, dropped := int64(0), 0, false
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
			dropped = true
		} else if seen == 0 || tat < victimTAT {
			victim, victimTAT = k, tat
		}
		if seen++; seen == evictSample {
			break
		}
	}
	if !dropped && seen > 0 {
		delete(s.tats, victim)
	}
}

// len returns the number of keys held.
func (m *Memory) len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}
