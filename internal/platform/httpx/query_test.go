package httpx_test

import (
	"fmt"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

func fields(err error) string {
	e, ok := err.(*errs.Error)
	if err == nil || !ok {
		return fmt.Sprint(err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+": "+f.Detail)
	}
	return fmt.Sprint(out)
}

// TestReadQuery: unknown and repeated parameters, then faulty values, are
// named field by field; numbers parse one way.
func TestReadQuery(t *testing.T) {
	params := append(httpx.Params("limit", "sort", "min"), httpx.Param{Name: "tag", Repeatable: true})
	for _, tc := range []struct{ raw, want string }{
		{"", "<nil>"},
		{"limit=5&sort=name&tag=a&tag=b&min=0", "<nil>"},
		{"limit=", "<nil>"}, // empty is absent
		{"zz=1&aa=2", "[aa: unknown query parameter zz: unknown query parameter]"},
		{"sort=name&sort=price", "[sort: must be given at most once]"},
		{"limit=0", "[limit: must be an integer from 1 to 100]"},
		{"limit=+5", "[limit: must be an integer from 1 to 100]"}, // "+" is a space
		{"limit=5.0", "[limit: must be an integer from 1 to 100]"},
		{"limit=99999999999999999999", "[limit: must be an integer from 1 to 100]"},
		{"min=-1", "[min: must not be negative]"},
		{"limit=0&z=1", "[z: unknown query parameter limit: must be an integer from 1 to 100]"},
		{"limit=%zz", "[query: malformed query string]"},
	} {
		q := httpx.ReadQuery(tc.raw, params...)
		q.Int("limit", 1, 100, 20, "")
		q.OptInt("min", 0, 1000, "must not be negative")
		if got := fields(q.Err()); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.raw, got, tc.want)
		}
	}
	q := httpx.ReadQuery("limit=7&tag=a&tag=b&min=3", params...)
	if n := q.Int("limit", 1, 100, 20, ""); n != 7 {
		t.Errorf("limit %d", n)
	}
	if m := q.OptInt("min", 0, 10, ""); m == nil || *m != 3 {
		t.Errorf("min %v", m)
	}
	if m := q.OptInt("absent", 0, 10, ""); m != nil {
		t.Errorf("absent %v", *m)
	}
	if tags := q.All("tag"); len(tags) != 2 {
		t.Errorf("tags %v", tags)
	}
	if n := httpx.ReadQuery("", params...).Int("limit", 1, 100, 20, ""); n != 20 {
		t.Errorf("default limit %d", n)
	}
	b := httpx.ReadQuery("in_stock=maybe", httpx.Params("in_stock")...)
	if b.Bool("in_stock") || fields(b.Err()) != "[in_stock: must be true or false]" {
		t.Errorf("bool: %s", fields(b.Err()))
	}
}
