package search

import (
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// record queues a search event without ever waiting: when the buffer is
// full the event is dropped and counted.
func (s *Service) record(text string, results int, unknown []string) {
	if s.records == nil || text == "" {
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		s.dropped.Add(1)
		return
	}
	ev := events.SearchPerformed{ID: id.String(), Query: text, Results: results, At: time.Now().UTC(), Unknown: unknown}
	select {
	case <-s.stop:
		s.dropped.Add(1)
	case s.records <- ev:
	default:
		s.dropped.Add(1)
	}
}

// recordLoop hands queued events to the recorder until Close, then passes
// on what is still buffered.
func (s *Service) recordLoop() {
	defer close(s.recorded)
	for {
		select {
		case ev := <-s.records:
			s.opts.Recorder.RecordSearch(ev)
		case <-s.stop:
			for {
				select {
				case ev := <-s.records:
					s.opts.Recorder.RecordSearch(ev)
				default:
					return
				}
			}
		}
	}
}

// EventsDropped returns how many search events were dropped because the
// recorder fell behind.
func (s *Service) EventsDropped() uint64 { return s.dropped.Load() }
