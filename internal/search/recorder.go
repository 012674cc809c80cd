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

// recordLinger is how long a batch gathers events after its first: at
// any rate above a few searches a second, the stream then carries a few
// messages a second per instance, whatever the rate of searches.
const recordLinger = 100 * time.Millisecond

// recordLoop hands queued events to the recorder in batches until Close,
// then passes on what is still buffered. A batch is the events that
// arrive within recordLinger of its first, at most events.MaxSearchBatch.
func (s *Service) recordLoop() {
	defer close(s.recorded)
	linger := time.NewTimer(recordLinger)
	linger.Stop()
	for {
		var batch []events.SearchPerformed // a new slice per call: the recorder may keep it
		select {
		case ev := <-s.records:
			batch = append(batch, ev)
		case <-s.stop:
			s.flushRecords()
			return
		}
		linger.Reset(recordLinger)
	gather:
		for len(batch) < events.MaxSearchBatch {
			select {
			case ev := <-s.records:
				batch = append(batch, ev)
			case <-linger.C:
				break gather
			case <-s.stop: // no more waiting: what is buffered goes now
				batch = s.takeRecords(batch)
				break gather
			}
		}
		linger.Stop()
		s.opts.Recorder.RecordSearches(batch)
	}
}

// flushRecords passes on, in batches, the events still buffered.
func (s *Service) flushRecords() {
	for batch := s.takeRecords(nil); len(batch) > 0; batch = s.takeRecords(nil) {
		s.opts.Recorder.RecordSearches(batch)
	}
}

// takeRecords adds buffered events to batch, without waiting, until the
// buffer is empty or the batch full.
func (s *Service) takeRecords(batch []events.SearchPerformed) []events.SearchPerformed {
	for len(batch) < events.MaxSearchBatch {
		select {
		case ev := <-s.records:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

// EventsDropped returns how many search events were dropped because the
// recorder fell behind.
func (s *Service) EventsDropped() uint64 { return s.dropped.Load() }
