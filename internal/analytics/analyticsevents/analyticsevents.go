// Package analyticsevents is the analytics service's side of the event
// stream:
//
//   - product events (one instance each): which products exist;
//   - search events (one instance each, in batches): top and zero-result
//     searches;
//   - it publishes the all-time totals of changed products (Publisher).
//
// An event the service can never use (an id it refuses, say) is parked on
// the dead-letter subject like an undecodable one.
package analyticsevents

import (
	"context"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// searchBatch is how many search events are recorded in one transaction.
const searchBatch = 500

// Consumers returns what the analytics service consumes.
func Consumers(svc *analytics.Service) []bus.Runner {
	return []bus.Runner{
		bus.Consumer[events.ProductChanged]{
			Name:     "analytics-catalog",
			Shared:   true,
			Stream:   events.CatalogStream,
			Subjects: []string{events.ProductSubjectPrefix + "*"},
			Decode: func(_ string, data []byte) (events.ProductChanged, error) {
				ev, err := events.DecodeProductChanged(data)
				if err == nil && !analytics.ValidID(ev.ID) {
					err = fmt.Errorf("product id %q is not one analytics keeps", ev.ID)
				}
				return ev, err
			},
			Handle: bus.Each(func(ctx context.Context, ev events.ProductChanged) error {
				return rejectInvalid(svc.ApplyProduct(ctx, ev))
			}),
		},
		bus.Consumer[events.SearchPerformed]{
			Name:     "analytics-searches",
			Shared:   true,
			Stream:   events.AnalyticsStream,
			Subjects: []string{events.SearchSubject},
			Batch:    searchBatch,
			Decode: func(_ string, data []byte) (events.SearchPerformed, error) {
				ev, err := events.DecodeSearchPerformed(data)
				if err == nil && !analytics.ValidID(ev.ID) {
					err = fmt.Errorf("search id %q is not one analytics keeps", ev.ID)
				}
				return ev, err
			},
			Handle: func(ctx context.Context, evs []bus.Event[events.SearchPerformed]) error {
				batch := make([]events.SearchPerformed, len(evs))
				for i, ev := range evs {
					batch[i] = ev.Value
				}
				return rejectInvalid(svc.ApplySearches(ctx, batch))
			},
		},
	}
}

// rejectInvalid marks an error the service will give again, however often
// it is asked, as permanent.
func rejectInvalid(err error) error {
	if errs.Is(err, errs.KindInvalid) {
		return bus.Reject(err)
	}
	return err
}

// Publisher sends analytics' product statistics to the stream. It
// implements analytics.StatsPublisher.
type Publisher struct{ Bus *bus.Bus }

// PublishStats publishes s.
func (p Publisher) PublishStats(ctx context.Context, s events.ProductStats) error {
	return p.Bus.PublishEvent(ctx, s, "")
}
