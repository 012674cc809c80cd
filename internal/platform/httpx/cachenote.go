package httpx

import "context"

// CacheOutcome says how a request's response was found: in a cache, after
// a cache lookup missed, or with no cache involved. The request metrics
// keep the latency of hits and misses apart, because their objectives
// differ (< 50 ms on a hit, < 200 ms on a miss).
type CacheOutcome uint8

const (
	CacheNone CacheOutcome = iota // no cache lookup served the request
	CacheHit                      // every lookup found its entry
	CacheMiss                     // at least one lookup missed and loaded its entry
)

// String is the value of the request metrics' cache label.
func (o CacheOutcome) String() string {
	switch o {
	case CacheHit:
		return "hit"
	case CacheMiss:
		return "miss"
	}
	return "none"
}

// NoteCache records on the request being served the outcome of a cache
// lookup made for it. A request may look up several entries (a slug, then
// the product it names): one miss makes the request a miss, since it paid
// for a load. Outside Edge it does nothing.
func NoteCache(ctx context.Context, hit bool) {
	info := InfoFrom(ctx)
	switch {
	case info == nil:
	case !hit:
		info.cache = CacheMiss
	case info.cache == CacheNone:
		info.cache = CacheHit
	}
}

// CacheOutcomeOf returns what NoteCache recorded for the request.
func CacheOutcomeOf(ctx context.Context) CacheOutcome {
	if info := InfoFrom(ctx); info != nil {
		return info.cache
	}
	return CacheNone
}
