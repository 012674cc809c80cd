package searchhttp

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// searchParams are the query parameters GET /api/search understands; the
// repeatable ones may be given more than once.
var searchParams = map[string]struct{ repeatable bool }{
	"q": {}, "category": {}, "brand": {repeatable: true}, "min_price": {}, "max_price": {},
	"in_stock": {}, "sort": {}, "page": {}, "per_page": {}, "facets": {repeatable: true},
}

// ParseSearchQuery parses the query string of GET /api/search. Unknown or
// repeated parameters and malformed or out-of-bounds values are reported
// field by field, as an errs.KindInvalid error.
func ParseSearchQuery(raw string) (search.Query, error) {
	var (
		q search.Query
		v errs.Validation
	)
	values, err := parseValues(raw, searchParams, &v)
	if err != nil {
		return q, err
	}
	q.Text = values.Get("q")
	q.Category = values.Get("category")
	for _, b := range values["brand"] {
		q.Brands = append(q.Brands, strings.TrimSpace(b))
	}
	q.MinPrice = parseInt64(values, "min_price", &v)
	q.MaxPrice = parseInt64(values, "max_price", &v)
	if s := values.Get("in_stock"); s != "" {
		b, err := strconv.ParseBool(s)
		v.Check(err == nil, "in_stock", "must be true or false")
		q.InStock = b
	}
	if s, ok := values["sort"]; ok {
		q.Sort = search.Sort(s[0])
		if q.Sort == "" {
			q.Sort = search.SortRelevance
		}
	}
	q.Page = parseInt(values, "page", &v)
	q.PerPage = parseInt(values, "per_page", &v)
	for _, list := range values["facets"] {
		for _, name := range strings.Split(list, ",") {
			switch strings.TrimSpace(name) {
			case "":
			case search.FacetBrand:
				q.Facets.Brand = true
			case search.FacetCategory:
				q.Facets.Category = true
			case search.FacetPrice:
				q.Facets.Price = true
			default:
				v.Add("facets", "must list some of %s", strings.Join(search.FacetNames, ", "))
			}
		}
	}
	if err := v.Err(); err != nil {
		return q, err
	}
	return q, q.Validate()
}

// ParseSuggestQuery parses the query string of GET /api/search/suggest and
// returns q.
func ParseSuggestQuery(raw string) (string, error) {
	var v errs.Validation
	values, err := parseValues(raw, map[string]struct{ repeatable bool }{"q": {}}, &v)
	if err != nil {
		return "", err
	}
	return values.Get("q"), v.Err()
}

// parseNoParams refuses any query parameter.
func parseNoParams(raw string) error {
	var v errs.Validation
	if _, err := parseValues(raw, nil, &v); err != nil {
		return err
	}
	return v.Err()
}

// parseValues parses raw and checks every parameter is known and, unless
// repeatable, given once.
func parseValues(raw string, known map[string]struct{ repeatable bool }, v *errs.Validation) (url.Values, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		v.Add("query", "malformed query string")
		return nil, v.Err()
	}
	for name, vals := range values {
		p, ok := known[name]
		switch {
		case !ok:
			v.Add(name, "unknown query parameter")
		case !p.repeatable && len(vals) > 1:
			v.Add(name, "must be given at most once")
		}
	}
	return values, nil
}

// parseInt reads a positive integer (0 when absent: the default applies).
func parseInt(values url.Values, name string, v *errs.Validation) int {
	s, ok := values[name]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s[0])
	if err != nil || n < 1 {
		v.Add(name, "must be a positive integer")
		return 0
	}
	return n
}

func parseInt64(values url.Values, name string, v *errs.Validation) *int64 {
	s, ok := values[name]
	if !ok || s[0] == "" {
		return nil
	}
	n, err := strconv.ParseInt(s[0], 10, 64)
	if err != nil || n < 0 {
		v.Add(name, "must be a non-negative integer amount in minor units")
		return nil
	}
	return &n
}
