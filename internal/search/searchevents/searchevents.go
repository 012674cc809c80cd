// Package searchevents is the search service's side of the event stream:
//
//   - it consumes the whole catalog stream (every instance, into its own
//     index), resuming after the last message the index applied, or from
//     the start for a new index;
//   - it consumes product statistics (every instance), for sort=popular;
//   - it publishes a search event per query (Recorder).
package searchevents

import (
	"context"
	"log/slog"
	"time"

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

// Recorder publishes the search service's query events, deduplicated by
// their id. It implements search.Recorder.
type Recorder struct {
	Bus    *bus.Bus
	Logger *slog.Logger
}

// RecordSearch publishes ev, waiting at most 2 s.
func (r Recorder) RecordSearch(ev events.SearchPerformed) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Bus.PublishEvent(ctx, ev, ev.ID); err != nil {
		r.Logger.Warn("search: could not publish a search event", "err", err)
	}
}
