package search

import (
	"context"
	"fmt"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Search runs q. It validates q (see Query.Validate) and records a search
// event for analytics when q.Text is not empty.
func (s *Service) Search(ctx context.Context, q Query) (*Result, error) {
	res, _, err := s.SearchCached(ctx, q)
	return res, err
}

// SearchCached is Search that also says whether the result came from the
// result cache (hit) or from the index: the HTTP layer measures the two
// against different latency objectives.
func (s *Service) SearchCached(ctx context.Context, q Query) (res *Result, hit bool, err error) {
	q = q.withDefaults()
	if err := q.Validate(); err != nil {
		return nil, false, err
	}
	key := s.results.key(q)
	res, hit = s.results.results.GetIfPresent(key)
	if !hit {
		if res, err = s.search(ctx, q); err != nil {
			return nil, false, err
		}
		s.results.results.Set(key, res)
	}
	s.record(NormalizeText(q.Text), res.Total, res.unknown)
	return res, hit, nil
}

// search runs q against the index: the page of products, the words the
// index does not know when nothing is found, and the facets asked for.
func (s *Service) search(ctx context.Context, q Query) (*Result, error) {
	p, err := s.plan(ctx, q.Text, planOptions{field: fieldText, synonyms: true})
	if err != nil {
		return nil, fmt.Errorf("search: plan %q: %w", q.Text, err)
	}
	text := textQuery(p, ranking{exactness: q.Sort == SortRelevance})
	f := s.filters(q)

	// with text, the page is among the products that rank at least as
	// well as the last one of the window: only those need their sort key
	ranked, total, err := s.cut(ctx, text, f.all(""), q.Page*q.PerPage)
	if err != nil {
		return nil, err
	}
	page := pageRequest(q, compose(ranked, f.all("")), text != nil)
	facets := newFacetRequests(q.Facets, page, text, f)
	results, err := s.run(ctx, append([]*bleve.SearchRequest{page}, facets.extra...))
	if err != nil {
		return nil, err
	}
	if ranked == text {
		total = results[page].Total // nothing cut: the page's request counted every match
	}
	res := &Result{Total: int(total), Page: q.Page, PerPage: q.PerPage}
	if res.Items, err = s.items(results[page].Hits, p); err != nil {
		return nil, err
	}
	if res.Total == 0 && p != nil {
		if res.unknown, err = s.unknownWords(ctx, p); err != nil {
			return nil, err
		}
	}
	if res.Facets, err = s.facets(facets, results); err != nil {
		return nil, err
	}
	return res, nil
}

// pageRequest fetches the page q asks for of the products match finds, in
// q's sort order; hasText says whether match ranks by the query's words.
func pageRequest(q Query, match query.Query, hasText bool) *bleve.SearchRequest {
	req := bleve.NewSearchRequestOptions(match, q.PerPage, (q.Page-1)*q.PerPage, false)
	req.Fields = []string{fieldSource}
	req.SortBy(sortOrder(q.Sort, hasText))
	if !req.Sort.RequiresScore() {
		req.Score = bleve.ScoreNone
	}
	return req
}

// run executes the requests concurrently.
func (s *Service) run(ctx context.Context, requests []*bleve.SearchRequest) (map[*bleve.SearchRequest]*bleve.SearchResult, error) {
	out := make([]*bleve.SearchResult, len(requests))
	errOut := make([]error, len(requests))
	var wg sync.WaitGroup
	for i, req := range requests {
		run := func() { out[i], errOut[i] = s.index.SearchInContext(ctx, req) }
		if i == len(requests)-1 {
			run() // the last one on this goroutine
			continue
		}
		wg.Go(run)
	}
	wg.Wait()
	results := make(map[*bleve.SearchRequest]*bleve.SearchResult, len(requests))
	for i, req := range requests {
		if errOut[i] != nil {
			if ctx.Err() != nil {
				return nil, errs.Wrap(errs.KindUnavailable, ctx.Err(), "the search was cancelled")
			}
			return nil, fmt.Errorf("search: %w", errOut[i])
		}
		results[req] = out[i]
	}
	return results, nil
}

// cut returns text restricted to the products that score at least as well
// as the window-th best, and how many products text and filter match.
//
// Bleve's collector reads the doc values of every match to sort by a
// field, and that is most of the cost of a search; sorting by the score
// alone, it reads none. So a first pass by score alone finds the window's
// lowest score, and the sorted pass then reads the sort keys of the
// products at or above it only: those matching as many words as well as
// the window's last, rather than every product matching any word. The
// page is the same, ties on the score included. Without text (browsing)
// or a plan without words, text is returned as it is, and total is 0.
func (s *Service) cut(ctx context.Context, text, filter query.Query, window int) (query.Query, uint64, error) {
	mq, ok := text.(*matchQuery)
	if !ok {
		return text, 0, nil
	}
	req := bleve.NewSearchRequestOptions(compose(mq, filter), window, 0, false)
	req.SortBy([]string{"-_score"})
	results, err := s.run(ctx, []*bleve.SearchRequest{req})
	if err != nil {
		return nil, 0, err
	}
	res := results[req]
	if len(res.Hits) < window {
		return text, res.Total, nil
	}
	above := *mq
	above.minScore = res.Hits[window-1].Score
	return &above, res.Total, nil
}

// textQuery is the query for the plan's words, nil when browsing; a plan
// without words (punctuation only) matches nothing.
func textQuery(p *plan, rk ranking) query.Query {
	switch {
	case p == nil:
		return nil
	case len(p.words) == 0:
		return bleve.NewMatchNoneQuery()
	}
	return &matchQuery{plan: p, ranking: rk}
}

// sortOrder returns the Bleve sort of s. With text, the ranking rules
// before the sort (packed in the score) come first, and typo matches can
// never be listed before exact ones, whatever the sort; for relevance the
// score also holds exactness, and popularity breaks ties. Every key ends
// with the product id, so each order is total and pages do not overlap.
func sortOrder(s Sort, hasText bool) []string {
	var order []string
	if hasText {
		order = append(order, "-_score")
	}
	switch s {
	case SortPrice:
		return append(order, fieldPriceKey)
	case SortPriceDesc:
		return append(order, "-"+fieldPriceKey)
	case SortNewest:
		return append(order, "-"+fieldNewestKey)
	default:
		return append(order, "-"+fieldPopularKey)
	}
}
