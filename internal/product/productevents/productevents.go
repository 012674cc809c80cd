// Package productevents is the product service's side of the event
// stream. The service publishes its catalog events through its outbox
// (productdb and package outbox); here it listens:
//
//   - every catalog event (every instance): drop what the read cache holds
//     about the product or category, once reads from replicas wait for
//     the change (sqldb.DB.NoteWrites);
//   - product statistics from analytics (one instance each): record sales
//     and views, for the bestsellers listing and sort=-sales.
package productevents

import (
	"context"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Cache is the read cache the catalog events keep in step.
type Cache interface {
	// Apply says the catalog stream reached seq with a change of subject.
	Apply(ctx context.Context, seq uint64, subject string)
	// StatsChanged says the counters of some products moved.
	StatsChanged(ctx context.Context, ev events.ProductStats)
}

// Reads is where the store's reads go; catalog events tell it of writes
// (see sqldb.DB.NoteWrites).
type Reads interface {
	NoteWrites(ctx context.Context) error
}

// Consumers returns what the product service consumes.
func Consumers(svc *product.Service, cache Cache, reads Reads) []bus.Runner {
	return []bus.Runner{
		bus.Consumer[struct{}]{
			Name:   "product-cache",
			Stream: events.CatalogStream,
			// Only the subject matters: nothing to decode.
			Decode: func(string, []byte) (struct{}, error) { return struct{}{}, nil },
			Handle: func(ctx context.Context, evs []bus.Event[struct{}]) error {
				// Reads learn of the writes before the cache forgets the
				// old rows: a fill that follows never reads a replica that
				// has not replayed them. Best effort: if the primary does
				// not answer (it takes no writes then), the invalidation
				// matters more.
				_ = reads.NoteWrites(ctx)
				for _, ev := range evs {
					cache.Apply(ctx, ev.Seq, ev.Subject)
				}
				return nil
			},
		},
		bus.Consumer[events.ProductStats]{
			Name:     "product-stats",
			Shared:   true,
			Stream:   events.AnalyticsStream,
			Subjects: []string{events.StatsSubject},
			Decode:   bus.Data(events.DecodeProductStats),
			Handle: bus.Each(func(ctx context.Context, ev events.ProductStats) error {
				if err := svc.ApplyStats(ctx, ev); err != nil {
					return err
				}
				cache.StatsChanged(ctx, ev)
				return nil
			}),
		},
	}
}
