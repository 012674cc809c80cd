package edge

import (
	"context"
	"log/slog"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
)

// Purger drops the edges' copies of every answer carrying one of keys
// (edgepurge.Purger); changedAt is when the change happened, for its lag.
type Purger interface {
	Purge(ctx context.Context, changedAt time.Time, keys ...string) error
}

// RepurgeAfter is when a change's keys are purged a second time. The
// purge may reach the edge before every instance has applied the change
// (an instance's read cache, the search index): an edge that fetches from
// such an instance in that moment keeps the old answer. Instances apply a
// change within milliseconds of each other, as the read cache's second
// drop assumes too (producthttp's redeleteAfter); the second purge ends
// that rare staleness within a second instead of at s-maxage.
const RepurgeAfter = time.Second

// purgeBatch is how many catalog changes one purge covers at most: their
// keys, once each.
const purgeBatch = 500

// Consumer returns the consumer that purges, from every edge, the answers
// each catalog change touches. It is shared: one instance of the
// deployment purges each change, and a restarted deployment resumes after
// the last change it purged. A purge that fails after its retries is
// logged and counted, not retried forever: the edges' copies then expire
// on their s-maxage.
func Consumer(p Purger, logger *slog.Logger) bus.Runner {
	return bus.Consumer[[]string]{
		Name:   "edge-purge",
		Shared: true,
		Stream: events.CatalogStream,
		Batch:  purgeBatch,
		// The subject names what changed: nothing else to decode.
		Decode: func(subject string, _ []byte) ([]string, error) { return Touched(subject), nil },
		Handle: func(ctx context.Context, evs []bus.Event[[]string]) error {
			keys, changedAt := union(evs)
			err := p.Purge(ctx, changedAt, keys...)
			if ctx.Err() != nil {
				return ctx.Err() // stopping: the next run purges them
			}
			if err != nil {
				logger.Warn("edge: a purge failed; the edge's copies live until their s-maxage", "keys", len(keys), "err", err)
			}
			time.AfterFunc(RepurgeAfter, func() {
				_ = p.Purge(context.WithoutCancel(ctx), time.Time{}, keys...)
			})
			return nil
		},
	}
}

// union returns the keys of evs, each once, and when the oldest change
// happened.
func union(evs []bus.Event[[]string]) (keys []string, oldest time.Time) {
	seen := make(map[string]bool)
	for _, ev := range evs {
		if oldest.IsZero() || ev.Time.Before(oldest) {
			oldest = ev.Time
		}
		for _, k := range ev.Value {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys, oldest
}
