package producthttp

import (
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// FuzzParseListQuery: any query string either parses into a bounded query
// or is refused as invalid input; it never panics or yields another error.
func FuzzParseListQuery(f *testing.F) {
	for _, seed := range []string{
		"", "category=shoes&brand=Acme&brand=Zeta&min_price=100&max_price=900&in_stock=true&sort=-price&limit=50",
		"limit=0", "limit=999999999999999999999", "sort=%00", "brand=&brand=", "min_price=5&max_price=1",
		"cursor=abc.def", "status=draft", "%zz", "in_stock=1", "category=a-b-c&category=x",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, admin bool) {
		q, _, err := ParseListQuery(raw, admin)
		if err != nil {
			if errs.KindOf(err) != errs.KindInvalid {
				t.Fatalf("%q: error of kind %v: %v", raw, errs.KindOf(err), err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > product.MaxLimit || len(q.Brands) > product.MaxBrandFilters {
			t.Fatalf("%q: unbounded query %+v", raw, q)
		}
		if !admin && len(q.Statuses) > 0 {
			t.Fatalf("%q: a non-admin listed by status", raw)
		}
	})
}

// FuzzDecodeProductInput: any body is either a valid product input or a
// KindInvalid error that names at least one field or the body; never a panic.
func FuzzDecodeProductInput(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Lamp","variants":[{"sku":"L-1","price":{"amount":100,"currency":"EUR"},"stock":1}]}`,
		`{"name":"","variants":[]}`, `{"name":1}`, `[]`, `null`, `{"name":"x","unknown":1}`, `{`, ``,
		`{"name":"x","variants":[{"sku":"a","options":{"size":"M"},"price":{"amount":-1,"currency":"eur"}},{"sku":"a"}]}`,
		`{"name":"x","images":[{"url":"javascript:alert(1)"}],"variants":[{"sku":"A","price":{"amount":1,"currency":"USD"}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in product.Input
		err := httpx.Unmarshal(body, &in)
		if err == nil {
			err = product.Prepare(&in)
		}
		if err == nil {
			return
		}
		var e *errs.Error
		if errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("%q: error of kind %v: %v", body, errs.KindOf(err), err)
		}
		if e, _ = err.(*errs.Error); e == nil || len(e.Fields) == 0 {
			t.Fatalf("%q: invalid input without field errors: %v", body, err)
		}
	})
}
