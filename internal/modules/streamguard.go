package modules

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/platform/cache"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/producthttp"
)

// streamGuard decides whether a product instance may serve catalog reads
// from its cache. The cache forgets a product when the product's event
// arrives; an instance cut off from the stream (NATS down, its link cut, its
// consumer stuck) never hears of a change, so after staleAfter without the
// stream, or without progress towards the stream's last event, it serves
// catalog reads straight from the database, and it goes back to its cache
// only once it is connected again and has applied every event up to the
// stream's last one (which drops what changed meanwhile).
//
// It does not take the instance out of the pool: when the whole NATS
// cluster is down every instance is in the same case, and reading from the
// database is better than refusing everything.
type streamGuard struct {
	staleAfter time.Duration
	// probe returns the stream's last sequence; an error means the
	// instance cannot reach the stream.
	probe  func(context.Context) (uint64, error)
	seen   atomic.Uint64 // last catalog event applied to the cache
	stale  atomic.Bool
	logger *slog.Logger
}

func newStreamGuard(staleAfter time.Duration, start uint64, probe func(context.Context) (uint64, error), logger *slog.Logger, reg prometheus.Registerer) *streamGuard {
	g := &streamGuard{staleAfter: staleAfter, probe: probe, logger: logger}
	g.seen.Store(start)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vitrine_catalog_cache_bypassed",
		Help: "1 while this instance serves catalog reads from the database because it lost the catalog stream.",
	}, func() float64 {
		if g.stale.Load() {
			return 1
		}
		return 0
	}))
	return g
}

// applied records a catalog event the cache has taken into account.
func (g *streamGuard) applied(seq uint64) {
	for {
		cur := g.seen.Load()
		if seq <= cur || g.seen.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// run probes the stream every staleAfter/8 until ctx ends.
func (g *streamGuard) run(ctx context.Context) {
	interval := g.staleAfter / 8
	t := time.NewTicker(interval)
	defer t.Stop()
	var (
		lostSince    time.Time // first failed probe of the current outage
		behind       uint64    // a stream position the cache has not reached yet...
		behindSince  time.Time // ...seen at this time
		probeTimeout = max(g.staleAfter/4, 100*time.Millisecond)
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		last, err := g.probe(pctx)
		cancel()
		now := time.Now()
		seen := g.seen.Load()
		if err != nil {
			if lostSince.IsZero() {
				lostSince = now
			}
		} else {
			lostSince = time.Time{}
		}
		switch {
		case err != nil:
		case seen >= last:
			behind, behindSince = 0, time.Time{}
		case behind == 0 || seen >= behind:
			behind, behindSince = last, now
		}
		lost := !lostSince.IsZero() && now.Sub(lostSince) >= g.staleAfter
		lagging := behind != 0 && now.Sub(behindSince) >= g.staleAfter
		switch {
		case (lost || lagging) && !g.stale.Load():
			g.stale.Store(true)
			g.logger.Warn("catalog stream lost: serving catalog reads from the database, not the cache",
				"lost_for", now.Sub(lostSince).Round(time.Millisecond), "seen", seen, "stream_last", last)
		case err == nil && seen >= last && g.stale.Load():
			g.stale.Store(false)
			g.logger.Info("catalog stream back and caught up: serving catalog reads from the cache again", "seen", seen)
		}
	}
}

// uncachedProductRoutes are the product routes (and more) on a cache that keeps
// nothing, for the guard to send catalog reads to while the instance is cut
// off from the stream.
func uncachedProductRoutes(svc *product.Service, shared httpx.SharedCache, more func(*httpx.Router)) http.Handler {
	rt := httpx.NewRouter()
	producthttp.Routes(rt, svc, producthttp.NewReadCache(cache.New(cache.Config{L1MaxBytes: 1, L1MaxTTL: time.Nanosecond}), 0), shared)
	more(rt)
	return rt
}

// guardedCache tells the stream guard of every catalog event the read
// cache applies: the guard measures how far behind the stream the cache is.
type guardedCache struct {
	*producthttp.ReadCache
	guard *streamGuard
}

func (c guardedCache) Apply(ctx context.Context, seq uint64, subject string) {
	c.ReadCache.Apply(ctx, seq, subject)
	c.guard.applied(seq)
}
