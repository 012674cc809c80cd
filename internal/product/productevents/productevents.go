// Package productevents is the product service's side of the event
// stream. The service publishes its catalog events through its outbox
// (productdb and package outbox); here it listens:
//
//   - every catalog event (every instance): drop what the read cache holds
//     about the product or category, once reads from replicas wait for
//     the change (sqldb.DB.NoteWrites);
//   - product statistics from analytics (one instance each): record sales
//     and views, for the bestsellers listing and sort=-sales;
//   - product events (one instance each): delete the pictures that no
//     product holds any more. A product's delete (or an upsert that let
//     go of a picture) released them in the same transaction; a failed
//     deletion is redelivered, so no file is left behind.
package productevents

import (
	"context"
	"log/slog"
	"time"

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
		bus.Consumer[events.ProductChanged]{
			Name:     "product-images",
			Shared:   true,
			Stream:   events.CatalogStream,
			Subjects: []string{events.ProductSubjectPrefix + ">"},
			Batch:    100,
			Decode:   bus.Data(events.DecodeProductChanged),
			// Any product event may have released pictures, and the sweep
			// finds them all: one sweep serves a whole batch.
			Handle: func(ctx context.Context, _ []bus.Event[events.ProductChanged]) error {
				_, err := svc.SweepImages(ctx, time.Time{})
				return err
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

// SweepStaleUploads deletes, every hour until ctx ends, the pictures whose
// upload never reached its product (a process that stopped half-way).
func SweepStaleUploads(ctx context.Context, svc *product.Service, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := svc.SweepImages(ctx, svc.Now().Add(-product.StaleUploadAfter))
		if err != nil {
			logger.Warn("images: the hourly sweep stopped; the next one goes on", "err", err)
		} else if n > 0 {
			logger.Info("images: deleted unfinished uploads", "count", n)
		}
	}
}
