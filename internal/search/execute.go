package search

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Result is one page of search results.
type Result struct {
	Total   int     `json:"total"` // exact
	Page    int     `json:"page"`
	PerPage int     `json:"per_page"`
	Items   []Item  `json:"items"`
	Facets  *Facets `json:"facets,omitempty"`

	// unknown is, when nothing was found, the words of the query the
	// catalog holds in no form; the search event tells analytics.
	unknown []string
}

// Item is a product as a search result shows it.
type Item struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Brand    string `json:"brand"`
	Category string `json:"category"`
	Price    Price  `json:"price"`
	InStock  bool   `json:"in_stock"`
	Image    string `json:"image"` // the first image's URL, or ""
	// Thumbnail is the first image's small size (its URL when it is
	// linked, not uploaded), or "".
	Thumbnail string `json:"thumbnail"`
	// Highlights holds, per field (name, description), the fragments where
	// the query matched, HTML-escaped with matches in <mark> tags.
	Highlights map[string][]string `json:"highlights"`
}

// Price is a product's price range, in minor units.
type Price struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
}

// Facets holds the counts asked for. Brand and category counts ignore the
// brand and category filters respectively (disjunctive facets: a shopper
// who picked one brand still sees how many results the others would add);
// the price facet ignores the price filter.
type Facets struct {
	Brand    []FacetValue `json:"brand,omitempty"`
	Category []FacetValue `json:"category,omitempty"`
	Price    *PriceFacet  `json:"price,omitempty"`
}

// FacetValue is one value of a facet and how many results have it. A
// category's count includes its descendants', as the category filter does.
type FacetValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// PriceFacet counts results by lowest price in ranges [from, to) and gives
// the lowest and highest price (nil without results).
type PriceFacet struct {
	Ranges []PriceRange `json:"ranges"`
	Min    *int64       `json:"min"`
	Max    *int64       `json:"max"`
}

// PriceRange is a bucket of a price facet; To is nil for the open last one.
type PriceRange struct {
	From  int64  `json:"from"`
	To    *int64 `json:"to"`
	Count int    `json:"count"`
}

// Facet sizes.
const (
	brandFacetSize    = 50
	categoryFacetSize = 50
	// categoryTermsSize is how many leaf categories are counted before
	// rolling counts up to their ancestors.
	categoryTermsSize = 2000
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

// search runs q against the index.
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
	main := bleve.NewSearchRequestOptions(compose(ranked, f.all("")), q.PerPage, (q.Page-1)*q.PerPage, false)
	main.Fields = []string{fieldSource}
	main.SortBy(sortOrder(q.Sort, text != nil))
	if !main.Sort.RequiresScore() {
		main.Score = bleve.ScoreNone
	}
	requests := []*bleve.SearchRequest{main}
	// facetRequest puts a facet on the main request when its filter is not
	// set, else on an extra count-only request without that filter.
	facetRequest := func(name string, filter query.Query, fr *bleve.FacetRequest) *bleve.SearchRequest {
		req := main
		if filter != nil {
			req = countRequest(compose(text, f.all(name)))
			requests = append(requests, req)
		}
		req.AddFacet(name, fr)
		return req
	}
	var brandReq, categoryReq, priceReq, minReq, maxReq *bleve.SearchRequest
	if q.Facets.Brand {
		brandReq = facetRequest(FacetBrand, f.brand, bleve.NewFacetRequest(fieldBrandFacet, brandFacetSize))
	}
	if q.Facets.Category {
		categoryReq = facetRequest(FacetCategory, f.category, bleve.NewFacetRequest(fieldCategory, categoryTermsSize))
	}
	if q.Facets.Price {
		priceReq = facetRequest(FacetPrice, f.price, bleve.NewFacetRequest(fieldPriceBucket, len(priceBounds)))
		unpriced := compose(text, f.all(FacetPrice))
		minReq, maxReq = extremeRequest(unpriced, fieldPriceKey), extremeRequest(unpriced, "-"+fieldPriceKey)
		requests = append(requests, minReq, maxReq)
	}

	results, err := s.run(ctx, requests)
	if err != nil {
		return nil, err
	}
	if ranked == text {
		total = results[main].Total
	}
	res := &Result{Total: int(total), Page: q.Page, PerPage: q.PerPage, Items: make([]Item, 0, len(results[main].Hits))}
	var terms map[string]bool
	if p != nil {
		terms = p.termSet()
	}
	for _, hit := range results[main].Hits {
		item, err := s.itemOf(hit, terms)
		if err != nil {
			return nil, err
		}
		res.Items = append(res.Items, item)
	}
	if res.Total == 0 && p != nil {
		if res.unknown, err = s.unknownWords(ctx, p); err != nil {
			return nil, err
		}
	}
	if q.Facets.Any() {
		res.Facets = &Facets{}
		if brandReq != nil {
			res.Facets.Brand = termCounts(results[brandReq].Facets[FacetBrand])
		}
		if categoryReq != nil {
			res.Facets.Category = s.categoryCounts(results[categoryReq].Facets[FacetCategory])
		}
		if priceReq != nil {
			res.Facets.Price, err = priceFacet(results[priceReq].Facets[FacetPrice], results[minReq], results[maxReq])
			if err != nil {
				return nil, err
			}
		}
	}
	return res, nil
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

// countRequest counts matches (and facets) without fetching or scoring hits.
func countRequest(q query.Query) *bleve.SearchRequest {
	req := bleve.NewSearchRequestOptions(q, 0, 0, false)
	req.Score = bleve.ScoreNone
	return req
}

// extremeRequest finds the first match in the given order.
func extremeRequest(q query.Query, order string) *bleve.SearchRequest {
	req := bleve.NewSearchRequestOptions(q, 1, 0, false)
	req.Score = bleve.ScoreNone
	req.Fields = []string{fieldSource}
	req.SortBy([]string{order})
	return req
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

func sourceOf(hit *search.DocumentMatch) (*document, error) {
	src, _ := hit.Fields[fieldSource].(string)
	var d document
	if err := json.Unmarshal([]byte(src), &d); err != nil {
		return nil, fmt.Errorf("search: decode hit %s: %w", hit.ID, err)
	}
	return &d, nil
}

// itemOf returns the result item of hit, its name and description
// highlighted where they hold one of terms.
func (s *Service) itemOf(hit *search.DocumentMatch, terms map[string]bool) (Item, error) {
	d, err := sourceOf(hit)
	if err != nil {
		return Item{}, err
	}
	item := Item{
		ID: d.ID, Slug: d.Slug, Name: d.Name, Brand: d.Brand, Category: d.Category,
		Price:   Price{Min: d.PriceMin, Max: d.PriceMax, Currency: d.Currency},
		InStock: d.InStock, Image: d.Image, Thumbnail: d.Thumbnail, Highlights: map[string][]string{},
	}
	for field, text := range map[string]string{"name": d.Name, "description": d.Description} {
		if h, ok := s.highlight(text, terms); ok {
			item.Highlights[field] = []string{h}
		}
	}
	return item, nil
}

func termCounts(fr *search.FacetResult) []FacetValue {
	out := []FacetValue{}
	if fr == nil || fr.Terms == nil {
		return out
	}
	for _, t := range fr.Terms.Terms() {
		out = append(out, FacetValue{Value: t.Term, Count: t.Count})
	}
	sortFacet(out)
	return out
}

// categoryCounts rolls the counts of each category up to its ancestors, so
// that a parent's count is what filtering by it would return.
func (s *Service) categoryCounts(fr *search.FacetResult) []FacetValue {
	out := []FacetValue{}
	if fr == nil || fr.Terms == nil {
		return out
	}
	tree := s.categories.Load()
	counts := map[string]int{}
	for _, t := range fr.Terms.Terms() {
		counts[t.Term] += t.Count
		for _, a := range tree.ancestors(t.Term) {
			counts[a] += t.Count
		}
	}
	for v, c := range counts {
		out = append(out, FacetValue{Value: v, Count: c})
	}
	sortFacet(out)
	if len(out) > categoryFacetSize {
		out = out[:categoryFacetSize]
	}
	return out
}

func sortFacet(vs []FacetValue) {
	slices.SortFunc(vs, func(a, b FacetValue) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value))
	})
}

func priceFacet(fr *search.FacetResult, lowest, highest *bleve.SearchResult) (*PriceFacet, error) {
	pf := &PriceFacet{Ranges: []PriceRange{}}
	if fr != nil && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			i, err := strconv.Atoi(t.Term)
			if err != nil || i < 0 || i >= len(priceBounds) || t.Count == 0 {
				continue
			}
			pr := PriceRange{From: priceBounds[i], Count: t.Count}
			if i+1 < len(priceBounds) {
				to := priceBounds[i+1]
				pr.To = &to
			}
			pf.Ranges = append(pf.Ranges, pr)
		}
	}
	slices.SortFunc(pf.Ranges, func(a, b PriceRange) int { return cmp.Compare(a.From, b.From) })
	for _, ex := range []struct {
		res *bleve.SearchResult
		dst **int64
	}{{lowest, &pf.Min}, {highest, &pf.Max}} {
		if len(ex.res.Hits) == 0 {
			continue
		}
		d, err := sourceOf(ex.res.Hits[0])
		if err != nil {
			return nil, err
		}
		v := d.PriceMin
		*ex.dst = &v
	}
	return pf, nil
}

// Suggestion is a product name completing what the shopper is typing.
type Suggestion struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Highlight is the name, HTML-escaped, with the matched parts in <mark>.
	Highlight string `json:"highlight"`
}

// Suggest returns up to MaxSuggestions products whose names complete text:
// every word the catalog knows matches, exactly or with a typo, the last
// one also as the start of a word, with typos too; the best matches first.
// It records no search event: it runs on every keystroke.
func (s *Service) Suggest(ctx context.Context, text string) ([]Suggestion, error) {
	var v errs.Validation
	checkText(&v, "q", text)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := []Suggestion{}
	p, err := s.plan(ctx, text, planOptions{field: fieldName})
	if err != nil {
		return nil, fmt.Errorf("search: plan %q: %w", text, err)
	}
	if p == nil || len(p.words) == 0 {
		return out, nil
	}
	// Suggestions run on every keystroke, and a letter or two may be the
	// start of most names: the search stops at the first products with the
	// best score possible, and ties are left in index order rather than
	// by popularity, which would need every match's sort key.
	mq := &matchQuery{plan: p, ranking: ranking{exactness: true, all: true}, enough: MaxSuggestions}
	req := bleve.NewSearchRequestOptions(mq, MaxSuggestions, 0, false)
	req.Fields = []string{fieldSource}
	req.SortBy([]string{"-_score"})
	results, err := s.run(ctx, []*bleve.SearchRequest{req})
	if err != nil {
		return nil, err
	}
	terms := p.termSet()
	for _, hit := range results[req].Hits {
		d, err := sourceOf(hit)
		if err != nil {
			return nil, err
		}
		sg := Suggestion{ID: d.ID, Slug: d.Slug, Name: d.Name}
		sg.Highlight, _ = s.highlight(d.Name, terms)
		out = append(out, sg)
	}
	return out, nil
}
