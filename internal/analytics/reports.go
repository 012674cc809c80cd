package analytics

import (
	"context"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Window is the period a report covers, ending now.
type Window string

const (
	Window1h  Window = "1h"
	Window24h Window = "24h"
	Window7d  Window = "7d"
)

// Duration returns the length of w, or false when w is not a window.
func (w Window) Duration() (time.Duration, bool) {
	switch w {
	case Window1h:
		return time.Hour, true
	case Window24h:
		return 24 * time.Hour, true
	case Window7d:
		return 7 * 24 * time.Hour, true
	}
	return 0, false
}

// bucket is the width of the points of a summary series over w: at most a
// few hundred points whatever the window.
func (w Window) bucket() (time.Duration, string) {
	switch w {
	case Window24h:
		return 5 * time.Minute, "5m"
	case Window7d:
		return time.Hour, "1h"
	}
	return time.Minute, "1m"
}

// Metric ranks products.
type Metric string

const (
	MetricViews Metric = "views"
	MetricSales Metric = "sales" // units sold
)

// SearchKind ranks queries.
type SearchKind string

const (
	SearchTop         SearchKind = "top"          // by number of searches
	SearchZeroResults SearchKind = "zero-results" // by number of searches that found nothing
)

// Report limits.
const (
	DefaultLimit  = 10
	MaxLimit      = 100
	DefaultWindow = Window24h
)

// TopProductsQuery asks for the products with the most views or sales.
// Zero values pick the defaults: views, 24h, 10.
type TopProductsQuery struct {
	Metric Metric
	Window Window
	Limit  int
}

// TopProducts is a top-products report.
type TopProducts struct {
	Metric Metric         `json:"metric"`
	Window Window         `json:"window"`
	Items  []ProductValue `json:"items"`
}

// TopSearchesQuery asks for the most frequent queries, or those that most
// often found nothing. Zero values pick the defaults: top, 24h, 10.
type TopSearchesQuery struct {
	Kind   SearchKind
	Window Window
	Limit  int
}

// TopSearches is a searches report.
type TopSearches struct {
	Kind   SearchKind   `json:"kind"`
	Window Window       `json:"window"`
	Items  []QueryCount `json:"items"`
}

// Summary is the totals of a window and their series, one point per
// bucket from the first to the one holding now (empty buckets included).
type Summary struct {
	Window Window        `json:"window"`
	Bucket string        `json:"bucket"` // width of a series point: 1m, 5m or 1h
	Totals Counters      `json:"totals"`
	Series []SeriesPoint `json:"series"`
}

// SeriesPoint is one bucket of a summary series.
type SeriesPoint struct {
	Minute    time.Time `json:"minute"` // start of the bucket
	Views     int64     `json:"views"`
	AddToCart int64     `json:"add_to_cart"`
	Purchases int64     `json:"purchases"`
	Searches  int64     `json:"searches"`
}

// TopProducts ranks products by views or units sold over a window.
func (s *Service) TopProducts(ctx context.Context, q TopProductsQuery) (*TopProducts, error) {
	var v errs.Validation
	if q.Metric == "" {
		q.Metric = MetricViews
	}
	v.Check(q.Metric == MetricViews || q.Metric == MetricSales, "metric", "must be views or sales")
	from := s.windowStart(&q.Window, &v)
	checkLimit(&q.Limit, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	items, err := s.store.TopProducts(ctx, q.Metric, from, q.Limit)
	if err != nil {
		return nil, err
	}
	return &TopProducts{Metric: q.Metric, Window: q.Window, Items: nonNil(items)}, nil
}

// TopSearches ranks normalised queries over a window.
func (s *Service) TopSearches(ctx context.Context, q TopSearchesQuery) (*TopSearches, error) {
	var v errs.Validation
	if q.Kind == "" {
		q.Kind = SearchTop
	}
	v.Check(q.Kind == SearchTop || q.Kind == SearchZeroResults, "kind", "must be top or zero-results")
	from := s.windowStart(&q.Window, &v)
	checkLimit(&q.Limit, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	items, err := s.store.TopSearches(ctx, q.Kind, from, q.Limit)
	if err != nil {
		return nil, err
	}
	return &TopSearches{Kind: q.Kind, Window: q.Window, Items: nonNil(items)}, nil
}

// Summary returns the totals of a window and a series to chart them.
func (s *Service) Summary(ctx context.Context, w Window) (*Summary, error) {
	var v errs.Validation
	from := s.windowStart(&w, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	width, name := w.bucket()
	buckets, err := s.store.Summary(ctx, from, width)
	if err != nil {
		return nil, err
	}
	out := &Summary{Window: w, Bucket: name, Series: []SeriesPoint{}}
	first, last := from.Truncate(width), s.now().Truncate(width)
	byStart := make(map[int64]Counters, len(buckets))
	for _, b := range buckets {
		out.Totals.Add(b.Counters)
		byStart[b.Start.Unix()] = b.Counters
	}
	for t := first; !t.After(last); t = t.Add(width) {
		c := byStart[t.Unix()]
		out.Series = append(out.Series, SeriesPoint{Minute: t, Views: c.Views, AddToCart: c.AddToCart, Purchases: c.Purchases, Searches: c.Searches})
	}
	return out, nil
}

// windowStart checks *w (defaulting it) and returns the first minute it
// covers: a 1h window is the current minute and the 59 before it.
func (s *Service) windowStart(w *Window, v *errs.Validation) time.Time {
	if *w == "" {
		*w = DefaultWindow
	}
	d, ok := w.Duration()
	if !ok {
		v.Add("window", "must be 1h, 24h or 7d")
		return time.Time{}
	}
	return s.now().Truncate(time.Minute).Add(time.Minute - d)
}

func checkLimit(limit *int, v *errs.Validation) {
	if *limit == 0 {
		*limit = DefaultLimit
	}
	v.Check(*limit >= 1 && *limit <= MaxLimit, "limit", "must be an integer from 1 to %d", MaxLimit)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
