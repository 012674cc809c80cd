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

type counts struct{ views, carts, purchases, units, searches, zero int64 }

func (c *counts) addEvent(ev analytics.Event) {
	switch ev.Type {
	case analytics.TypeView:
		c.views++
	case analytics.TypeAddToCart:
		c.carts++
	case analytics.TypePurchase:
		c.purchases++
		c.units += ev.Quantity
	}
}

func (c *counts) addSearch(ev analytics.Search) {
	c.searches++
	if ev.Results == 0 {
		c.zero++
	}
}

// bucketKey names a rollup row: a product or query, and a bucket start.
type bucketKey struct {
	key   string
	start int64
}

// tally sums counters per key, remembering the keys in sorted order so
// that every transaction updates rows in the same order (no deadlocks).
type tally[K comparable] struct {
	m map[K]*counts
}

func newTally[K comparable]() *tally[K] { return &tally[K]{m: map[K]*counts{}} }

func (t *tally[K]) at(k K) *counts {
	c := t.m[k]
	if c == nil {
		c = &counts{}
		t.m[k] = c
	}
	return c
}

func (t *tally[K]) sorted(compare func(a, b K) int) []K {
	keys := make([]K, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}

func compareBucket(a, b bucketKey) int {
	return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.start, b.start))
}

// addEvents adds counted client events to the rollups and product totals.
func (s *Store) addEvents(ctx context.Context, tx *sql.Tx, evs []analytics.Event) error {
	if len(evs) == 0 {
		return nil
	}
	minutes, hours := newTally[bucketKey](), newTally[bucketKey]()
	totals, summary := newTally[string](), newTally[int64]()
	for _, ev := range evs {
		at := ev.At.Unix()
		minutes.at(bucketKey{ev.ProductID, floor(at, minute)}).addEvent(ev)
		hours.at(bucketKey{ev.ProductID, floor(at, hour)}).addEvent(ev)
		totals.at(ev.ProductID).addEvent(ev)
		summary.at(floor(at, minute)).addEvent(ev)
	}
	productRows := func(t *tally[bucketKey]) [][]any {
		var rows [][]any
		for _, k := range t.sorted(compareBucket) {
			c := t.m[k]
			rows = append(rows, []any{k.key, k.start, c.views, c.carts, c.purchases, c.units})
		}
		return rows
	}
	counters := []string{"views", "carts", "purchases", "units_sold"}
	if err := s.upsertAdd(ctx, tx, "product_minute", []string{"product_id", "minute"}, counters, productRows(minutes)); err != nil {
		return err
	}
	if err := s.upsertAdd(ctx, tx, "product_hour", []string{"product_id", "hour"}, counters, productRows(hours)); err != nil {
		return err
	}
	var rows [][]any
	for _, id := range totals.sorted(strings.Compare) {
		c := totals.m[id]
		var rev int64
		if c.views > 0 || c.units > 0 { // only what stats carry makes a product worth publishing
			rev = 1
		}
		rows = append(rows, []any{id, c.views, c.carts, c.purchases, c.units, rev})
	}
	if err := s.upsertAdd(ctx, tx, "product_totals", []string{"product_id"}, append(counters, "rev"), rows); err != nil {
		return err
	}
	return s.addSummary(ctx, tx, summary)
}

// addSummary adds to the all-products counters of each minute. It comes
// last in every transaction: its current-minute row is the one all writers
// share, so it is held for the shortest time.
func (s *Store) addSummary(ctx context.Context, tx *sql.Tx, t *tally[int64]) error {
	var rows [][]any
	for _, m := range t.sorted(cmp.Compare[int64]) {
		c := t.m[m]
		rows = append(rows, []any{m, c.views, c.carts, c.purchases, c.units, c.searches, c.zero})
	}
	return s.upsertAdd(ctx, tx, "summary_minute", []string{"minute"},
		[]string{"views", "carts", "purchases", "units_sold", "searches", "zero_results"}, rows)
}

// upsertAdd inserts rows (key columns, then counter columns) into table,
// adding the counters to those of a row already there.
func (s *Store) upsertAdd(ctx context.Context, tx *sql.Tx, table string, keys, counters []string, rows [][]any) error {
	set := make([]string, len(counters))
	for i, c := range counters {
		set[i] = c + " = " + table + "." + c + " + excluded." + c
	}
	head := `INSERT INTO ` + table + ` (` + strings.Join(append(slices.Clone(keys), counters...), ", ") + `) VALUES `
	tail := ` ON CONFLICT (` + strings.Join(keys, ", ") + `) DO UPDATE SET ` + strings.Join(set, ", ")
	for chunk := range slices.Chunk(rows, maxRows) {
		q, args := s.values(head, chunk)
		if _, err := tx.ExecContext(ctx, q+tail, args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// values appends to head one parenthesised group of placeholders per row
// and returns the statement with its arguments.
func (s *Store) values(head string, rows [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString(head)
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		b.WriteString(s.db.Params(len(args)+1, len(row)))
		b.WriteString(")")
		args = append(args, row...)
	}
	return b.String(), args
}
