package searchhttp

import (
	"testing"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// FuzzParseSearchQuery: any query string either parses into a query the
// service accepts, within every bound, or is refused as invalid input with
// the fields at fault; it never panics or yields another kind of error.
func FuzzParseSearchQuery(f *testing.F) {
	for _, seed := range []string{
		"", "q=hedphones", "q=sony+headph&category=audio&brand=Sony&brand=Bose&min_price=100&max_price=90000&in_stock=true&sort=-price&page=2&per_page=50&facets=brand,category,price",
		"per_page=101", "page=0", "page=10001&per_page=1", "page=9999999999999999999", "sort=", "sort=%00", "facets=,,brand,", "facets=colour",
		"brand=&brand=", "min_price=5&max_price=1", "min_price=-0", "in_stock=1", "category=a-b-c&category=x", "%zz", "q=%ff%fe",
		"q=a;b", "q=" + string(make([]byte, 300)), "unknown=1", "q=t%C3%A9l%C3%A9",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseSearchQuery(raw)
		if err != nil {
			e, ok := err.(*errs.Error)
			if !ok || e.Kind != errs.KindInvalid || len(e.Fields) == 0 {
				t.Fatalf("%q: %T %v", raw, err, err)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("%q: parsed but invalid: %v", raw, err)
		}
		page, perPage := max(q.Page, 1), q.PerPage
		if perPage == 0 {
			perPage = search.DefaultPerPage
		}
		if perPage > search.MaxPerPage || page*perPage > search.MaxResultWindow ||
			len(q.Brands) > search.MaxBrandFilters || !utf8.ValidString(q.Text) || utf8.RuneCountInString(q.Text) > search.MaxQueryLen {
			t.Fatalf("%q: unbounded query %+v", raw, q)
		}
	})
}
