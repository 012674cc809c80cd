package analyticsdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
)

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
	if err != nil || kind != analytics.SearchZeroResults || len(out) == 0 {
		return out, err
	}
	return out, s.addUnknownWords(ctx, out)
}

// addUnknownWords fills in the words each query's last zero-result search
// did not find in the catalog.
func (s *Store) addUnknownWords(ctx context.Context, items []analytics.QueryCount) error {
	args := make([]any, len(items))
	for i, it := range items {
		args[i] = it.Query
	}
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT query, words FROM search_unknown WHERE query IN (?`+
		strings.Repeat(", ?", len(items)-1)+`)`), args...)
	if err != nil {
		return fmt.Errorf("analyticsdb: unknown words: %w", err)
	}
	defer rows.Close()
	words := map[string][]string{}
	for rows.Next() {
		var query, w string
		if err := rows.Scan(&query, &w); err != nil {
			return fmt.Errorf("analyticsdb: unknown words: %w", err)
		}
		if f := strings.Fields(w); len(f) > 0 {
			words[query] = f
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("analyticsdb: unknown words: %w", err)
	}
	for i := range items {
		items[i].UnknownWords = words[items[i].Query]
	}
	return nil
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
