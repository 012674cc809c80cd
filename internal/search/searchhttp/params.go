package searchhttp

import (
	"math"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// searchParams are the query parameters GET /api/search understands; the
// repeatable ones may be given more than once.
var searchParams = append(httpx.Params("q", "category", "min_price", "max_price", "in_stock", "sort", "page", "per_page"),
	httpx.Param{Name: "brand", Repeatable: true}, httpx.Param{Name: "facets", Repeatable: true})

// ParseSearchQuery parses the query string of GET /api/search. Unknown or
// repeated parameters and malformed or out-of-bounds values are reported
// field by field, as an errs.KindInvalid error.
func ParseSearchQuery(raw string) (search.Query, error) {
	var q search.Query
	v := httpx.ReadQuery(raw, searchParams...)
	q.Text = v.Get("q")
	q.Category = v.Get("category")
	for _, b := range v.All("brand") {
		q.Brands = append(q.Brands, strings.TrimSpace(b))
	}
	const priceDetail = "must be a non-negative integer amount in minor units"
	q.MinPrice = v.OptInt("min_price", 0, math.MaxInt64, priceDetail)
	q.MaxPrice = v.OptInt("max_price", 0, math.MaxInt64, priceDetail)
	q.InStock = v.Bool("in_stock")
	if v.Has("sort") {
		q.Sort = search.Sort(v.Get("sort"))
		if q.Sort == "" {
			q.Sort = search.SortRelevance
		}
	}
	// 0 when absent: the default applies.
	q.Page = int(v.Int("page", 1, math.MaxInt, 0, "must be a positive integer"))
	q.PerPage = int(v.Int("per_page", 1, math.MaxInt, 0, "must be a positive integer"))
	for _, list := range v.All("facets") {
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
	v := httpx.ReadQuery(raw, httpx.Params("q")...)
	return v.Get("q"), v.Err()
}

// parseNoParams refuses any query parameter.
func parseNoParams(raw string) error { return httpx.ReadQuery(raw).Err() }
