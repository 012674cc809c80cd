package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Limits of a search request.
const (
	DefaultPerPage  = 20
	MaxPerPage      = 100
	MaxResultWindow = 10_000 // page*per_page: deep paging costs memory and time per request
	MaxQueryLen     = 200    // characters of q
	MaxBrandFilters = 20
	MaxFilterLen    = 100 // characters of a brand or category value
	MaxSuggestions  = 8
)

// Sort orders of search results.
type Sort string

const (
	SortRelevance Sort = "relevance" // best match first; without q, like SortPopular
	SortPrice     Sort = "price"     // lowest price first
	SortPriceDesc Sort = "-price"    // highest price first
	SortNewest    Sort = "newest"    // most recently created first
	SortPopular   Sort = "popular"   // most sold, then most viewed first
)

// Sorts lists the valid sort orders.
var Sorts = []Sort{SortRelevance, SortPrice, SortPriceDesc, SortNewest, SortPopular}

// Facet names.
const (
	FacetCategory = "category"
	FacetBrand    = "brand"
	FacetPrice    = "price"
)

// FacetNames lists the valid facet names.
var FacetNames = []string{FacetCategory, FacetBrand, FacetPrice}

// FacetSet says which facets a search computes.
type FacetSet struct {
	Category, Brand, Price bool
}

// Any reports whether any facet is asked for.
func (f FacetSet) Any() bool { return f.Category || f.Brand || f.Price }

// Query is one search request. The zero values of Page, PerPage and Sort
// mean 1, DefaultPerPage and SortRelevance.
type Query struct {
	Text     string   // what the shopper typed; empty browses by the filters alone
	Category string   // a category slug; its descendants are included
	Brands   []string // any of these brands (case-insensitive)
	MinPrice *int64   // lowest variant price at least this, minor units
	MaxPrice *int64   // lowest variant price at most this, minor units
	InStock  bool     // only products with stock
	Sort     Sort
	Page     int // 1-based
	PerPage  int
	Facets   FacetSet
}

// withDefaults fills in the zero values.
func (q Query) withDefaults() Query {
	if q.Page == 0 {
		q.Page = 1
	}
	if q.PerPage == 0 {
		q.PerPage = DefaultPerPage
	}
	if q.Sort == "" {
		q.Sort = SortRelevance
	}
	return q
}

// Validate reports every field of q (after defaults) that is out of bounds,
// as an errs.KindInvalid error naming the query parameters.
func (q Query) Validate() error {
	var v errs.Validation
	q = q.withDefaults()
	checkText(&v, "q", q.Text)
	if q.Category != "" {
		v.Check(validSlug(q.Category), "category", "must be a category slug (lowercase letters, digits and hyphens, at most %d characters)", MaxFilterLen)
	}
	v.Check(len(q.Brands) <= MaxBrandFilters, "brand", "at most %d brands may be given", MaxBrandFilters)
	for _, b := range q.Brands {
		if strings.TrimSpace(b) == "" || utf8.RuneCountInString(b) > MaxFilterLen || !utf8.ValidString(b) {
			v.Add("brand", "must be 1 to %d characters", MaxFilterLen)
			break
		}
	}
	if q.MinPrice != nil {
		v.Check(*q.MinPrice >= 0, "min_price", "must not be negative")
	}
	if q.MaxPrice != nil {
		v.Check(*q.MaxPrice >= 0, "max_price", "must not be negative")
	}
	if q.MinPrice != nil && q.MaxPrice != nil && *q.MinPrice > *q.MaxPrice {
		v.Add("max_price", "must not be below min_price")
	}
	validSort := false
	for _, s := range Sorts {
		validSort = validSort || q.Sort == s
	}
	v.Check(validSort, "sort", "must be one of relevance, price, -price, newest, popular")
	v.Check(q.PerPage >= 1 && q.PerPage <= MaxPerPage, "per_page", "must be an integer from 1 to %d", MaxPerPage)
	if q.Page < 1 {
		v.Add("page", "must be an integer from 1")
	} else if q.PerPage >= 1 && q.PerPage <= MaxPerPage && q.Page > MaxResultWindow/q.PerPage {
		v.Add("page", "page*per_page must not exceed %d; narrow the search instead", MaxResultWindow)
	}
	return v.Err()
}

func checkText(v *errs.Validation, field, text string) {
	switch {
	case !utf8.ValidString(text):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(text) > MaxQueryLen:
		v.Add(field, "must be at most %d characters", MaxQueryLen)
	}
}

// validSlug reports whether s looks like a category slug.
func validSlug(s string) bool {
	if s == "" || len(s) > MaxFilterLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NormalizeText is the form of a query that analytics records: lowercased,
// trimmed, with runs of white space (and control characters) collapsed to
// one space.
func NormalizeText(text string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}
