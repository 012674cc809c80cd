package search

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

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

// facetRequests are the requests that count the facets of a search. A
// facet goes on the page's request when its filter is not set, else on a
// count-only request without that filter; the price facet's lowest and
// highest prices take a request each.
type facetRequests struct {
	set                    FacetSet
	brand, category, price *bleve.SearchRequest
	lowest, highest        *bleve.SearchRequest
	extra                  []*bleve.SearchRequest // to run besides the page's
}

// newFacetRequests puts the facets of set on page, the request for the
// page of products that text and f match, or on requests of their own.
func newFacetRequests(set FacetSet, page *bleve.SearchRequest, text query.Query, f filters) *facetRequests {
	fr := &facetRequests{set: set}
	on := func(name string, filter query.Query, facet *bleve.FacetRequest) *bleve.SearchRequest {
		req := page
		if filter != nil {
			req = countRequest(compose(text, f.all(name)))
			fr.extra = append(fr.extra, req)
		}
		req.AddFacet(name, facet)
		return req
	}
	if set.Brand {
		fr.brand = on(FacetBrand, f.brand, bleve.NewFacetRequest(fieldBrandFacet, brandFacetSize))
	}
	if set.Category {
		fr.category = on(FacetCategory, f.category, bleve.NewFacetRequest(fieldCategory, categoryTermsSize))
	}
	if set.Price {
		fr.price = on(FacetPrice, f.price, bleve.NewFacetRequest(fieldPriceBucket, len(priceBounds)))
		unpriced := compose(text, f.all(FacetPrice))
		fr.lowest, fr.highest = extremeRequest(unpriced, fieldPriceKey), extremeRequest(unpriced, "-"+fieldPriceKey)
		fr.extra = append(fr.extra, fr.lowest, fr.highest)
	}
	return fr
}

// facets reads the facets out of the results of their requests; nil when
// none was asked for.
func (s *Service) facets(fr *facetRequests, results map[*bleve.SearchRequest]*bleve.SearchResult) (*Facets, error) {
	if !fr.set.Any() {
		return nil, nil
	}
	facets := &Facets{}
	if fr.brand != nil {
		facets.Brand = termCounts(results[fr.brand].Facets[FacetBrand])
	}
	if fr.category != nil {
		facets.Category = s.categoryCounts(results[fr.category].Facets[FacetCategory])
	}
	if fr.price != nil {
		var err error
		facets.Price, err = priceFacet(results[fr.price].Facets[FacetPrice], results[fr.lowest], results[fr.highest])
		if err != nil {
			return nil, err
		}
	}
	return facets, nil
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
