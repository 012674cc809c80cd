// Package analyticsdb implements analytics.Store on SQL: SQLite in the
// embedded shape, PostgreSQL (schema "analytics") when split. Each batch of
// events is one transaction: the dedupe insert, then the rollups and totals
// of the events it let through.
package analyticsdb

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is an analytics.Store on a SQL database.
type Store struct {
	db *sqldb.DB
}

var _ analytics.Store = (*Store)(nil)

// Open connects to the database described by cfg (schema "analytics" on
// PostgreSQL unless cfg names another) and applies the migrations.
func Open(ctx context.Context, cfg sqldb.Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "analytics"
	}
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "migrations", "analytics"); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// maxRows bounds the rows of one multi-row statement: 7 columns of 500 rows
// stay far below the parameter limits of SQLite (32766) and PostgreSQL (65535).
const maxRows = 500

// Seconds in the buckets of the rollup tables.
const (
	minute = int64(time.Minute / time.Second)
	hour   = int64(time.Hour / time.Second)
)

func floor(unix, width int64) int64 { return unix - unix%width }

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
func (s *Store) gateShopper(ctx context.Context, tx *sql.Tx, gate analytics.ShopperGate, evs []analytics.Event) ([]analytics.Outcome, error) {
	type pair struct{ product, typ string }
	var rows [][]any
	seen := map[pair]bool{}
	for _, ev := range evs {
		p := pair{ev.ProductID, ev.Type}
		if !seen[p] {
			seen[p] = true
			rows = append(rows, []any{gate.Shopper, ev.ProductID, ev.Type, gate.Window.Unix()})
		}
	}
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(strings.Compare(a[1].(string), b[1].(string)), strings.Compare(a[2].(string), b[2].(string)))
	})
	fresh := map[pair]bool{}
	for chunk := range slices.Chunk(rows, maxRows) {
		q, args := s.values(`INSERT INTO shopper_events (shopper, product_id, type, bucket) VALUES `, chunk)
		res, err := tx.QueryContext(ctx, q+` ON CONFLICT (shopper, product_id, type, bucket) DO NOTHING RETURNING product_id, type`, args...)
		if err != nil {
			return nil, fmt.Errorf("shopper_events: %w", err)
		}
		for res.Next() {
			var p pair
			if err := res.Scan(&p.product, &p.typ); err != nil {
				res.Close()
				return nil, err
			}
			fresh[p] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]analytics.Outcome, len(evs))
	wanted := 0
	for i, ev := range evs {
		p := pair{ev.ProductID, ev.Type}
		if fresh[p] {
			delete(fresh, p) // a later one in evs repeats it
			out[i] = analytics.Accepted
			wanted++
		} else {
			out[i] = analytics.Repeated
		}
	}
	if wanted == 0 {
		return out, nil
	}
	var total int64
	err := tx.QueryRowContext(ctx, s.db.Q(`INSERT INTO shopper_hours (shopper, hour, events) VALUES (?, ?, ?)
		ON CONFLICT (shopper, hour) DO UPDATE SET events = shopper_hours.events + excluded.events
		RETURNING events`), gate.Shopper, gate.Hour.Unix(), wanted).Scan(&total)
	if err != nil {
		return nil, fmt.Errorf("shopper_hours: %w", err)
	}
	room := min(max(int64(gate.Cap)-(total-int64(wanted)), 0), int64(wanted))
	for i := range out {
		if out[i] != analytics.Accepted {
			continue
		}
		if room > 0 {
			room--
		} else {
			out[i] = analytics.OverCap
		}
	}
	return out, nil
}

// knownProducts returns which of ids name products that exist.
func (s *Store) knownProducts(ctx context.Context, tx *sql.Tx, ids []string) (map[string]bool, error) {
	ids = distinct(ids)
	known := make(map[string]bool, len(ids))
	for chunk := range slices.Chunk(ids, maxRows) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, `SELECT product_id FROM known_products WHERE deleted = 0 AND product_id IN (`+
			s.params(1, len(chunk))+`)`, args...)
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
		b.WriteString(s.params(len(args)+1, len(row)))
		b.WriteString(")")
		args = append(args, row...)
	}
	return b.String(), args
}

// params returns n comma-separated placeholders numbered from first ($n on
// PostgreSQL). Statements whose length follows the batch are numbered here
// rather than by DB.Q, whose memo would keep one copy of every length.
func (s *Store) params(first, n int) string {
	if s.db.Dialect != sqldb.Postgres {
		return sqldb.Placeholders(n)
	}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

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

// TopProducts sums a metric from the minute rollups up to the first whole
// hour of the window and from the hourly ones after it.
func (s *Store) TopProducts(ctx context.Context, metric analytics.Metric, from time.Time, limit int) ([]analytics.ProductValue, error) {
	column := map[analytics.Metric]string{analytics.MetricViews: "views", analytics.MetricSales: "units_sold"}[metric]
	if column == "" {
		return nil, fmt.Errorf("analyticsdb: unknown metric %q", metric)
	}
	var out []analytics.ProductValue
	err := s.top(ctx, "product_id", column, "product", from, limit, func(key string, n int64) {
		out = append(out, analytics.ProductValue{ProductID: key, Value: n})
	})
	return out, err
}

// TopSearches ranks normalised queries the same way.
func (s *Store) TopSearches(ctx context.Context, kind analytics.SearchKind, from time.Time, limit int) ([]analytics.QueryCount, error) {
	column := map[analytics.SearchKind]string{analytics.SearchTop: "searches", analytics.SearchZeroResults: "zero_results"}[kind]
	if column == "" {
		return nil, fmt.Errorf("analyticsdb: unknown search kind %q", kind)
	}
	var out []analytics.QueryCount
	err := s.top(ctx, "query", column, "search", from, limit, func(key string, n int64) {
		out = append(out, analytics.QueryCount{Query: key, Count: n})
	})
	return out, err
}

// top ranks the keys of the <prefix>_minute and <prefix>_hour rollups by
// column summed from from on. All names come from the callers' constants.
func (s *Store) top(ctx context.Context, key, column, prefix string, from time.Time, limit int, row func(string, int64)) error {
	start := floor(from.Unix(), minute)
	edge := floor(start+hour-1, hour) // the first whole hour of the window
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT k, CAST(SUM(v) AS BIGINT) AS total FROM (
			SELECT `+key+` AS k, `+column+` AS v FROM `+prefix+`_minute WHERE minute >= ? AND minute < ?
			UNION ALL
			SELECT `+key+` AS k, `+column+` AS v FROM `+prefix+`_hour WHERE hour >= ?
		) AS t GROUP BY k HAVING SUM(v) > 0 ORDER BY total DESC, k LIMIT ?`), start, edge, edge, limit)
	if err != nil {
		return fmt.Errorf("analyticsdb: top %s: %w", prefix, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k string
			n int64
		)
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		row(k, n)
	}
	return rows.Err()
}

// Summary sums the all-products counters per bucket.
func (s *Store) Summary(ctx context.Context, from time.Time, bucket time.Duration) ([]analytics.SummaryBucket, error) {
	width := int64(bucket / time.Second)
	if width < minute || width%minute != 0 {
		return nil, fmt.Errorf("analyticsdb: bucket %s is not a whole number of minutes", bucket)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT minute - minute % ? AS bucket,
			CAST(SUM(views) AS BIGINT), CAST(SUM(carts) AS BIGINT), CAST(SUM(purchases) AS BIGINT),
			CAST(SUM(units_sold) AS BIGINT), CAST(SUM(searches) AS BIGINT), CAST(SUM(zero_results) AS BIGINT)
		FROM summary_minute WHERE minute >= ? GROUP BY bucket ORDER BY bucket`), width, floor(from.Unix(), minute))
	if err != nil {
		return nil, fmt.Errorf("analyticsdb: summary: %w", err)
	}
	defer rows.Close()
	var out []analytics.SummaryBucket
	for rows.Next() {
		var (
			b     analytics.SummaryBucket
			start int64
		)
		if err := rows.Scan(&start, &b.Views, &b.AddToCart, &b.Purchases, &b.UnitsSold, &b.Searches, &b.ZeroResultSearches); err != nil {
			return nil, err
		}
		b.Start = time.Unix(start, 0).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// UnpublishedTotals pages through the products changed since last published.
func (s *Store) UnpublishedTotals(ctx context.Context, after string, limit int) ([]analytics.ProductTotals, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT product_id, views, carts, purchases, units_sold, rev
		FROM product_totals WHERE rev > published_rev AND product_id > ? ORDER BY product_id LIMIT ?`), after, limit)
	if err != nil {
		return nil, fmt.Errorf("analyticsdb: unpublished totals: %w", err)
	}
	defer rows.Close()
	var out []analytics.ProductTotals
	for rows.Next() {
		var t analytics.ProductTotals
		if err := rows.Scan(&t.ProductID, &t.Views, &t.AddToCart, &t.Purchases, &t.UnitsSold, &t.Rev); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// MarkPublished moves each product's published_rev up to the rev sent.
func (s *Store) MarkPublished(ctx context.Context, totals []analytics.ProductTotals) error {
	if len(totals) == 0 {
		return nil
	}
	totals = slices.SortedFunc(slices.Values(totals), func(a, b analytics.ProductTotals) int {
		return strings.Compare(a.ProductID, b.ProductID)
	})
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.db.Q(`UPDATE product_totals SET published_rev = ?
			WHERE product_id = ? AND published_rev < ?`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, t := range totals {
			if _, err := stmt.ExecContext(ctx, t.Rev, t.ProductID, t.Rev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("analyticsdb: mark published: %w", err)
	}
	return nil
}

// Prune deletes dedupe rows and rollups older than before.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	t := before.Unix()
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM client_events WHERE at < ?`, t},
		{`DELETE FROM search_events WHERE at < ?`, t},
		{`DELETE FROM product_minute WHERE minute < ?`, t - minute + 1},
		{`DELETE FROM search_minute WHERE minute < ?`, t - minute + 1},
		{`DELETE FROM summary_minute WHERE minute < ?`, t - minute + 1},
		{`DELETE FROM product_hour WHERE hour < ?`, t - hour + 1},
		{`DELETE FROM search_hour WHERE hour < ?`, t - hour + 1},
	} {
		if _, err := s.db.ExecContext(ctx, s.db.Q(q.sql), q.arg); err != nil {
			return fmt.Errorf("analyticsdb: prune: %w", err)
		}
	}
	return nil
}

// PruneShoppers deletes shopper windows and hours that started before before.
func (s *Store) PruneShoppers(ctx context.Context, before time.Time) error {
	for _, q := range []string{`DELETE FROM shopper_events WHERE bucket < ?`, `DELETE FROM shopper_hours WHERE hour < ?`} {
		if _, err := s.db.ExecContext(ctx, s.db.Q(q), before.Unix()); err != nil {
			return fmt.Errorf("analyticsdb: prune shoppers: %w", err)
		}
	}
	return nil
}

func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
