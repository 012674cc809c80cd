package producthttp

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// listParams are the query parameters GET /api/products understands.
var listParams = map[string]bool{
	"category": true, "brand": true, "min_price": true, "max_price": true,
	"in_stock": true, "sort": true, "limit": true, "cursor": true, "status": true,
}

// ParseListQuery parses the query string of a product listing. Unknown
// parameters and malformed values are reported field by field. Only admins
// may list other statuses than active.
func ParseListQuery(raw string, admin bool) (product.ListQuery, string, error) {
	var (
		q product.ListQuery
		v errs.Validation
	)
	values, err := url.ParseQuery(raw)
	if err != nil {
		v.Add("query", "malformed query string")
		return q, "", v.Err()
	}
	for name := range values {
		v.Check(listParams[name], name, "unknown query parameter")
	}
	if c := values.Get("category"); c != "" {
		v.Check(product.ValidSlug(c), "category", "must be a category slug")
		q.Category = c
	}
	for _, b := range values["brand"] {
		b = strings.TrimSpace(b)
		if b == "" || len(b) > product.MaxBrandLen {
			v.Add("brand", "must be 1 to %d characters", product.MaxBrandLen)
			continue
		}
		q.Brands = append(q.Brands, b)
	}
	v.Check(len(q.Brands) <= product.MaxBrandFilters, "brand", "at most %d brands may be given", product.MaxBrandFilters)
	q.MinPrice = parsePrice(values, "min_price", &v)
	q.MaxPrice = parsePrice(values, "max_price", &v)
	if q.MinPrice != nil && q.MaxPrice != nil && *q.MinPrice > *q.MaxPrice {
		v.Add("max_price", "must not be below min_price")
	}
	if s := values.Get("in_stock"); s != "" {
		b, err := strconv.ParseBool(s)
		v.Check(err == nil, "in_stock", "must be true or false")
		q.InStock = b
	}
	q.Sort = values.Get("sort")
	if _, ok := product.SortOrderOf(q.Sort); q.Sort != "" && !ok {
		v.Add("sort", "must be one of %s", product.SortNames())
	}
	limit, err := ParseLimit(values, "limit")
	if err != nil {
		return q, "", err
	}
	q.Limit = limit
	for _, s := range values["status"] {
		switch {
		case !admin:
			v.Add("status", "only administrators may list by status")
		case s == product.StatusDraft || s == product.StatusActive || s == product.StatusArchived:
			q.Statuses = append(q.Statuses, s)
		default:
			v.Add("status", "must be one of draft, active, archived")
		}
	}
	return q, values.Get("cursor"), v.Err()
}

// ParseLimit reads a page size between 1 and product.MaxLimit.
func ParseLimit(values url.Values, name string) (int, error) {
	s := values.Get(name)
	if s == "" {
		return product.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > product.MaxLimit {
		return 0, &errs.Error{Kind: errs.KindInvalid, Msg: "the request has invalid fields",
			Fields: []errs.FieldError{{Field: name, Detail: fmt.Sprintf("must be an integer from 1 to %d", product.MaxLimit)}}}
	}
	return n, nil
}

func parsePrice(values url.Values, name string, v *errs.Validation) *int64 {
	s := values.Get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		v.Add(name, "must be a non-negative integer amount in minor units")
		return nil
	}
	return &n
}
