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
	"slices"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// searchBatch is how many search events are recorded in one transaction,
// and how many messages (each a search, or a batch of them) are handled
// at once.
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
		searches(svc, "analytics-search-batches", events.SearchesSubject),
		// The single searches earlier versions published, still on the
		// stream for its 8 days. (A consumer each: a consumer with two
		// filter subjects needs nats-server 2.10.)
		searches(svc, "analytics-searches", events.SearchSubject),
	}
}

// searches is a consumer of search events on subject: batches of them
// (SearchesSubject) or one per message (SearchSubject), recorded in
// transactions of at most searchBatch events.
func searches(svc *analytics.Service, name, subject string) bus.Consumer[[]events.SearchPerformed] {
	return bus.Consumer[[]events.SearchPerformed]{
		Name:     name,
		Shared:   true,
		Stream:   events.AnalyticsStream,
		Subjects: []string{subject},
		Batch:    searchBatch,
		Decode:   decodeSearches,
		Handle: func(ctx context.Context, msgs []bus.Event[[]events.SearchPerformed]) error {
			var all []events.SearchPerformed
			for _, m := range msgs {
				all = append(all, m.Value...)
			}
			// A redelivery after a failed chunk counts nothing twice:
			// searches are recorded once by id.
			for batch := range slices.Chunk(all, searchBatch) {
				if err := rejectInvalid(svc.ApplySearches(ctx, batch)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// decodeSearches reads a message of either search subject as the searches
// it holds. A single search whose id analytics cannot keep is undecodable;
// in a batch, such a search is skipped (ApplySearches) and the others count.
func decodeSearches(subject string, data []byte) ([]events.SearchPerformed, error) {
	if subject == events.SearchSubject {
		ev, err := events.DecodeSearchPerformed(data)
		if err == nil && !analytics.ValidID(ev.ID) {
			err = fmt.Errorf("search id %q is not one analytics keeps", ev.ID)
		}
		return []events.SearchPerformed{ev}, err
	}
	b, err := events.DecodeSearches(data)
	return b.Searches, err
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
