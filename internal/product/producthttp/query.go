package producthttp

import (
	"math"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// listParams are the query parameters GET /api/products understands.
var listParams = append(httpx.Params("category", "min_price", "max_price", "in_stock", "sort", "limit", "cursor"),
	httpx.Param{Name: "brand", Repeatable: true}, httpx.Param{Name: "status", Repeatable: true})

// priceDetail is the fault of a price bound.
const priceDetail = "must be a non-negative integer amount in minor units"

// ParseListQuery parses the query string of a product listing. Unknown
// parameters and malformed values are reported field by field. Only admins
// may list other statuses than active.
func ParseListQuery(raw string, admin bool) (product.ListQuery, string, error) {
	var q product.ListQuery
	v := httpx.ReadQuery(raw, listParams...)
	if c := v.Get("category"); c != "" {
		v.Check(product.ValidSlug(c), "category", "must be a category slug")
		q.Category = c
	}
	for _, b := range v.All("brand") {
		b = strings.TrimSpace(b)
		if b == "" || len(b) > product.MaxBrandLen {
			v.Add("brand", "must be 1 to %d characters", product.MaxBrandLen)
			continue
		}
		q.Brands = append(q.Brands, b)
	}
	v.Check(len(q.Brands) <= product.MaxBrandFilters, "brand", "at most %d brands may be given", product.MaxBrandFilters)
	q.MinPrice = v.OptInt("min_price", 0, math.MaxInt64, priceDetail)
	q.MaxPrice = v.OptInt("max_price", 0, math.MaxInt64, priceDetail)
	if q.MinPrice != nil && q.MaxPrice != nil && *q.MinPrice > *q.MaxPrice {
		v.Add("max_price", "must not be below min_price")
	}
	q.InStock = v.Bool("in_stock")
	q.Sort = v.Get("sort")
	if _, ok := product.SortOrderOf(q.Sort); q.Sort != "" && !ok {
		v.Add("sort", "must be one of %s", product.SortNames())
	}
	q.Limit = readLimit(v)
	for _, s := range v.All("status") {
		switch {
		case !admin:
			v.Add("status", "only administrators may list by status")
		case s == product.StatusDraft || s == product.StatusActive || s == product.StatusArchived:
			q.Statuses = append(q.Statuses, s)
		default:
			v.Add("status", "must be one of draft, active, archived")
		}
	}
	return q, v.Get("cursor"), v.Err()
}

// readLimit reads a page size between 1 and product.MaxLimit.
func readLimit(v *httpx.Query) int {
	return int(v.Int("limit", 1, product.MaxLimit, product.DefaultLimit, ""))
}

// parseBestsellersQuery reads the query string of the bestsellers listing.
func parseBestsellersQuery(raw string) (limit int, err error) {
	v := httpx.ReadQuery(raw, httpx.Params("limit")...)
	limit = readLimit(v)
	return limit, v.Err()
}
