package analytics

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// ApplyProduct keeps the set of known products in step with the catalog
// stream: an upsert makes a product known, a delete unknown. Redelivered
// and out-of-order messages are harmless (versions decide). A message that
// can never apply is a KindInvalid error: drop it, do not retry it.
func (s *Service) ApplyProduct(ctx context.Context, ev events.ProductChanged) error {
	if !ValidID(ev.ID) {
		return errs.New(errs.KindInvalid, "catalog event with an invalid product id %q", ev.ID)
	}
	var deleted bool
	switch ev.Op {
	case events.OpUpsert:
	case events.OpDelete:
		deleted = true
	default:
		return errs.New(errs.KindInvalid, "catalog event with unknown op %q", ev.Op)
	}
	return s.store.SetProduct(ctx, ProductState{ID: ev.ID, Version: ev.Version, Deleted: deleted})
}

// ApplySearch counts a search event once, however often it is delivered.
// Events older than MaxAge are ignored (their dedupe rows may be gone); a
// timestamp ahead of the clock counts now. An event without an id is a
// KindInvalid error: drop it, do not retry it.
func (s *Service) ApplySearch(ctx context.Context, ev events.SearchPerformed) error {
	return s.ApplySearches(ctx, []events.SearchPerformed{ev})
}

// ApplySearches records a batch of search events in one transaction
// (deduplicated by id). Events with an invalid id are skipped; the error
// says so only when nothing else could be recorded.
func (s *Service) ApplySearches(ctx context.Context, evs []events.SearchPerformed) error {
	now := s.now()
	batch := make([]Search, 0, len(evs))
	var invalid error
	for _, ev := range evs {
		if !ValidID(ev.ID) {
			invalid = errs.New(errs.KindInvalid, "search event with an invalid id %q", ev.ID)
			continue
		}
		at := ev.At.UTC()
		switch {
		case ev.At.IsZero() || at.After(now):
			at = now
		case at.Before(now.Add(-MaxAge)):
			continue
		}
		batch = append(batch, Search{ID: ev.ID, Query: NormalizeQuery(ev.Query), Results: max(ev.Results, 0), At: at, Unknown: ev.Unknown})
	}
	if len(batch) == 0 {
		return invalid
	}
	_, err := s.store.RecordSearches(ctx, batch)
	return err
}

// NormalizeQuery folds the ways of typing one query into one key: lower
// case, control characters dropped, runs of spaces collapsed, trimmed, and
// cut to MaxQueryLen bytes on a character boundary.
func NormalizeQuery(q string) string {
	q = strings.ToValidUTF8(q, "")
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, q)
	q = strings.Join(strings.Fields(strings.ToLower(q)), " ")
	if len(q) > MaxQueryLen {
		cut := MaxQueryLen
		for cut > 0 && !utf8.RuneStart(q[cut]) {
			cut--
		}
		q = strings.TrimSpace(q[:cut])
	}
	return q
}
