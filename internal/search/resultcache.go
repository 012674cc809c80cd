package search

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// resultCache keeps recent results by query while the index stays the
// same: any applied change (catalog or popularity) moves to a new
// generation, so a cached result is never older than the index. Shoppers
// repeat a small set of queries, so most searches are answered from here.
type resultCache struct {
	results *otter.Cache[string, *Result]
	gen     atomic.Uint64
}

const (
	resultCacheSize = 20_000
	resultCacheTTL  = 10 * time.Minute
)

func newResultCache() *resultCache {
	return &resultCache{results: otter.Must(&otter.Options[string, *Result]{
		MaximumSize:      resultCacheSize,
		ExpiryCalculator: otter.ExpiryWriting[string, *Result](resultCacheTTL),
	})}
}

// changed starts a new generation; entries of older ones expire unused.
func (c *resultCache) changed() { c.gen.Add(1) }

// key identifies a query (already defaulted and validated) in the current
// generation.
func (c *resultCache) key(q Query) string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(c.gen.Load(), 10))
	for _, part := range []string{NormalizeText(q.Text), q.Category, strings.Join(q.Brands, "\x01"),
		optInt(q.MinPrice), optInt(q.MaxPrice), strconv.FormatBool(q.InStock), string(q.Sort),
		strconv.Itoa(q.Page), strconv.Itoa(q.PerPage),
		strconv.FormatBool(q.Facets.Category), strconv.FormatBool(q.Facets.Brand), strconv.FormatBool(q.Facets.Price)} {
		b.WriteByte(0)
		b.WriteString(part)
	}
	return b.String()
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

// Generation names the state of the index: it changes whenever a change
// is applied to it, so whatever was computed from the index under one
// generation is still what the index says while Generation is the same.
// Read it before computing, so a result is never filed under a newer
// generation than the index it came from.
func (s *Service) Generation() uint64 { return s.results.gen.Load() }
