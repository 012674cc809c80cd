package search

import (
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// compose joins the text query (nil when browsing) and the filters (nil
// when none). Filters do not score.
func compose(text, filter query.Query) query.Query {
	switch {
	case text == nil && filter == nil:
		return bleve.NewMatchAllQuery()
	case filter == nil:
		return text
	}
	q := bleve.NewBooleanQuery()
	if text != nil {
		q.AddMust(text)
	}
	q.AddFilter(filter)
	return q
}

// filters holds the query's filters apart, so that each disjunctive facet
// can be counted without its own filter.
type filters struct {
	category, brand, price, stock query.Query
}

func (s *Service) filters(q Query) filters {
	var f filters
	if q.Category != "" {
		slugs := s.categories.Load().subtree(q.Category)
		options := make([]query.Query, len(slugs))
		for i, slug := range slugs {
			options[i] = termQuery(slug, fieldCategory, 1)
		}
		f.category = disjunction(options)
	}
	if len(q.Brands) > 0 {
		options := make([]query.Query, len(q.Brands))
		for i, b := range q.Brands {
			options[i] = termQuery(strings.ToLower(b), fieldBrandKey, 1)
		}
		f.brand = disjunction(options)
	}
	if q.MinPrice != nil || q.MaxPrice != nil {
		var lo, hi *float64
		if q.MinPrice != nil {
			v := float64(*q.MinPrice)
			lo = &v
		}
		if q.MaxPrice != nil {
			v := float64(*q.MaxPrice)
			hi = &v
		}
		inclusive := true
		r := bleve.NewNumericRangeInclusiveQuery(lo, hi, &inclusive, &inclusive)
		r.SetField(fieldPrice)
		f.price = r
	}
	if q.InStock {
		b := bleve.NewBoolFieldQuery(true)
		b.SetField(fieldInStock)
		f.stock = b
	}
	return f
}

// all returns the conjunction of every filter except the one named (a facet
// name, or "" for none); nil when none remain.
func (f filters) all(except string) query.Query {
	var qs []query.Query
	for _, c := range []struct {
		name string
		q    query.Query
	}{{FacetCategory, f.category}, {FacetBrand, f.brand}, {FacetPrice, f.price}, {"", f.stock}} {
		if c.q != nil && (except == "" || c.name != except) {
			qs = append(qs, c.q)
		}
	}
	if len(qs) == 0 {
		return nil
	}
	return conjunction(qs)
}

func termQuery(term, field string, boost float64) *query.TermQuery {
	q := bleve.NewTermQuery(term)
	q.SetField(field)
	q.SetBoost(boost)
	return q
}

func conjunction(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewConjunctionQuery(qs...)
}

func disjunction(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewDisjunctionQuery(qs...)
}
