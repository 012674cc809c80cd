package analyticsdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/analytics"
)

// RecordEvents counts the events of known products not seen before.
func (s *Store) RecordEvents(ctx context.Context, evs []analytics.Event) ([]analytics.Outcome, error) {
	return s.recordEvents(ctx, nil, evs)
}

// RecordShopperEvents counts them within the bounds of gate.
func (s *Store) RecordShopperEvents(ctx context.Context, gate analytics.ShopperGate, evs []analytics.Event) ([]analytics.Outcome, error) {
	return s.recordEvents(ctx, &gate, evs)
}

func (s *Store) recordEvents(ctx context.Context, gate *analytics.ShopperGate, evs []analytics.Event) ([]analytics.Outcome, error) {
	out := make([]analytics.Outcome, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		products := make([]string, 0, len(evs))
		for _, ev := range evs {
			products = append(products, ev.ProductID)
		}
		known, err := s.knownProducts(ctx, tx, products)
		if err != nil {
			return err
		}
		// The first occurrence of an id in the batch is the one that may count.
		first := make(map[string]bool, len(evs))
		var ids []string
		var ats []int64
		for i, ev := range evs {
			switch {
			case !known[ev.ProductID]:
				out[i] = analytics.UnknownProduct
			case first[ev.ID]:
				out[i] = analytics.Duplicate
			default:
				first[ev.ID] = true
				ids, ats = append(ids, ev.ID), append(ats, ev.At.Unix())
			}
		}
		fresh, err := s.insertIDs(ctx, tx, "client_events", ids, ats)
		if err != nil {
			return err
		}
		var counted []analytics.Event
		var at []int // index in evs of each of counted
		for i, ev := range evs {
			if out[i] != 0 {
				continue
			}
			if fresh[ev.ID] {
				out[i] = analytics.Accepted
				counted, at = append(counted, ev), append(at, i)
			} else {
				out[i] = analytics.Duplicate
			}
		}
		if gate != nil && len(counted) > 0 {
			keep, err := s.gateShopper(ctx, tx, *gate, counted)
			if err != nil {
				return err
			}
			kept := counted[:0:0]
			for k, o := range keep {
				if o == analytics.Accepted {
					kept = append(kept, counted[k])
				} else {
					out[at[k]] = o
				}
			}
			counted = kept
		}
		return s.addEvents(ctx, tx, counted)
	})
	if err != nil {
		return nil, fmt.Errorf("analyticsdb: record events: %w", err)
	}
	return out, nil
}

// gateShopper decides which of evs (new events of known products, in
// order) the shopper of gate may have counted. It records the shopper's
// (product, type) pairs of the window, the first insert winning, then adds
// what is left to the shopper's count of the hour and keeps what fits under
// the cap. The count row is locked until the transaction ends, so
// concurrent batches of one shopper take turns at the cap.

func (s *Store) knownProducts(ctx context.Context, tx *sql.Tx, ids []string) (map[string]bool, error) {
	ids = distinct(ids)
	known := make(map[string]bool, len(ids))
	for chunk := range slices.Chunk(ids, maxRows) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, `SELECT product_id FROM known_products WHERE deleted = 0 AND product_id IN (`+
			s.db.Params(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			known[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return known, nil
}

// insertIDs stores the dedupe rows of ids (distinct) and returns those that
// were new. Concurrent transactions insert in id order, so on PostgreSQL
// they wait for each other instead of deadlocking; the second to insert an
// id sees the first's row once it commits, and skips it.
func (s *Store) insertIDs(ctx context.Context, tx *sql.Tx, table string, ids []string, ats []int64) (map[string]bool, error) {
	rows := make([][]any, len(ids))
	for i := range ids {
		rows[i] = []any{ids[i], ats[i]}
	}
	slices.SortFunc(rows, func(a, b []any) int { return cmp.Compare(a[0].(string), b[0].(string)) })
	fresh := make(map[string]bool, len(ids))
	for chunk := range slices.Chunk(rows, maxRows) {
		q, args := s.values(`INSERT INTO `+table+` (id, at) VALUES `, chunk)
		res, err := tx.QueryContext(ctx, q+` ON CONFLICT (id) DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, err
		}
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				res.Close()
				return nil, err
			}
			fresh[id] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

// counts are the counters of one rollup row.

// RecordSearches counts the search events not seen before.
func (s *Store) RecordSearches(ctx context.Context, evs []analytics.Search) ([]bool, error) {
	out := make([]bool, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		first := make(map[string]bool, len(evs))
		var ids []string
		var ats []int64
		for _, ev := range evs {
			if !first[ev.ID] {
				first[ev.ID] = true
				ids, ats = append(ids, ev.ID), append(ats, ev.At.Unix())
			}
		}
		fresh, err := s.insertIDs(ctx, tx, "search_events", ids, ats)
		if err != nil {
			return err
		}
		minutes, hours, summary := newTally[bucketKey](), newTally[bucketKey](), newTally[int64]()
		var unknown [][]any // query, words, at: what the last zero-result search of each query did not know
		for i, ev := range evs {
			if !fresh[ev.ID] {
				continue
			}
			delete(fresh, ev.ID) // a later copy in evs is a duplicate
			out[i] = true
			at := ev.At.Unix()
			summary.at(floor(at, minute)).addSearch(ev)
			if ev.Query != "" {
				minutes.at(bucketKey{ev.Query, floor(at, minute)}).addSearch(ev)
				hours.at(bucketKey{ev.Query, floor(at, hour)}).addSearch(ev)
				if ev.Results == 0 {
					unknown = append(unknown, []any{ev.Query, strings.Join(ev.Unknown, " "), at})
				}
			}
		}
		for _, row := range unknown {
			_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO search_unknown (query, words, at) VALUES (?, ?, ?)
				ON CONFLICT (query) DO UPDATE SET words = excluded.words, at = excluded.at
				WHERE excluded.at >= search_unknown.at`), row...)
			if err != nil {
				return err
			}
		}
		queryRows := func(t *tally[bucketKey]) [][]any {
			var rows [][]any
			for _, k := range t.sorted(compareBucket) {
				rows = append(rows, []any{k.key, k.start, t.m[k].searches, t.m[k].zero})
			}
			return rows
		}
		counters := []string{"searches", "zero_results"}
		if err := s.upsertAdd(ctx, tx, "search_minute", []string{"query", "minute"}, counters, queryRows(minutes)); err != nil {
			return err
		}
		if err := s.upsertAdd(ctx, tx, "search_hour", []string{"query", "hour"}, counters, queryRows(hours)); err != nil {
			return err
		}
		return s.addSummary(ctx, tx, summary)
	})
	if err != nil {
		return nil, fmt.Errorf("analyticsdb: record searches: %w", err)
	}
	return out, nil
}

// SetProduct records a product's existence as of its version.
func (s *Store) SetProduct(ctx context.Context, p analytics.ProductState) error {
	deleted := 0
	if p.Deleted {
		deleted = 1
	}
	_, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO known_products (product_id, version, deleted) VALUES (?, ?, ?)
		ON CONFLICT (product_id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted
		WHERE excluded.version > known_products.version
		   OR (excluded.version = known_products.version AND excluded.deleted > known_products.deleted)`),
		p.ID, p.Version, deleted)
	if err != nil {
		return fmt.Errorf("analyticsdb: set product: %w", err)
	}
	return nil
}
