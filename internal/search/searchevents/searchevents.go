// Package searchevents is the search service's side of the event stream:
//
//   - it consumes the whole catalog stream (every instance, into its own
//     index), resuming after the last message the index applied, or from
//     the start for a new index;
//   - it consumes product statistics (every instance), for sort=popular;
//   - it publishes the search events of its queries, in batches (Recorder).
package searchevents

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// catalogBatch is how many catalog messages go into one index batch.
const catalogBatch = 500

// Consumers returns what the search service consumes.
func Consumers(svc *search.Service) []bus.Runner {
	return []bus.Runner{
		bus.Consumer[events.Catalog]{
			Name:   "search-index",
			Stream: events.CatalogStream,
			From:   func() uint64 { return svc.LastApplied() + 1 },
			Batch:  catalogBatch,
			Decode: events.DecodeCatalog,
			Handle: func(ctx context.Context, evs []bus.Event[events.Catalog]) error {
				changes := make([]search.Change, len(evs))
				for i, ev := range evs {
					changes[i] = search.Change{Seq: ev.Seq, Product: ev.Value.Product, Category: ev.Value.Category}
				}
				return svc.ApplyBatch(ctx, changes)
			},
		},
		bus.Consumer[events.ProductStats]{
			// A rebuilt index starts from the counters the product
			// events carry; these raise them.
			Name:     "search-stats",
			Stream:   events.AnalyticsStream,
			Subjects: []string{events.StatsSubject},
			Decode:   bus.Data(events.DecodeProductStats),
			Handle:   bus.Each(svc.ApplyStats),
		},
	}
}

// Recorder publishes the search service's query events, a batch per
// message, deduplicated by the batch's id. It implements search.Recorder.
type Recorder struct {
	Bus    *bus.Bus
	Logger *slog.Logger
}

// RecordSearches publishes evs as one batch, waiting at most 2 s.
func (r Recorder) RecordSearches(evs []events.SearchPerformed) {
	id, err := uuid.NewV7()
	if err != nil {
		r.Logger.Warn("search: could not publish search events", "events", len(evs), "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	batch := events.Searches{ID: id.String(), Searches: evs}
	if err := r.Bus.PublishEvent(ctx, batch, batch.ID); err != nil {
		r.Logger.Warn("search: could not publish search events", "events", len(evs), "err", err)
	}
}
