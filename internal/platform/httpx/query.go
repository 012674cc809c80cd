package httpx

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Param declares a query parameter a handler understands.
type Param struct {
	Name       string
	Repeatable bool // may be given more than once
}

// Params declares parameters that may each be given once.
func Params(names ...string) []Param {
	out := make([]Param, len(names))
	for i, n := range names {
		out[i] = Param{Name: n}
	}
	return out
}

// Query is a query string read strictly, the same way by every service: a
// parameter not declared is an error, as is one not declared repeatable
// and given twice; numbers are decimal integers within bounds. Faults
// gather in one errs.Validation, field by field: those of the query
// string (in name order) first, then those of the values, in the order
// the handler reads them.
type Query struct {
	values url.Values
	v      errs.Validation
}

// ReadQuery parses raw against the declared parameters. A query string that
// cannot be parsed at all is a fault of the field "query".
func ReadQuery(raw string, params ...Param) *Query {
	q := &Query{}
	values, err := url.ParseQuery(raw)
	if err != nil {
		q.v.Add("query", "malformed query string")
		return q
	}
	q.values = values
	known := map[string]Param{}
	for _, p := range params {
		known[p.Name] = p
	}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		p, ok := known[name]
		switch {
		case !ok:
			q.v.Add(name, "unknown query parameter")
		case !p.Repeatable && len(values[name]) > 1:
			q.v.Add(name, "must be given at most once")
		}
	}
	return q
}

// Has reports whether name was given (possibly empty).
func (q *Query) Has(name string) bool {
	_, ok := q.values[name]
	return ok
}

// Get returns the value of name, "" when absent.
func (q *Query) Get(name string) string { return q.values.Get(name) }

// All returns every value of a repeatable parameter.
func (q *Query) All(name string) []string { return q.values[name] }

// Bool reads true or false; absent or empty is false.
func (q *Query) Bool(name string) bool {
	s := q.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	q.Check(err == nil, name, "must be true or false")
	return b
}

// Int reads a decimal integer from min to max; absent or empty returns
// def. detail, when not empty, replaces the message of a fault ("must be
// an integer from min to max").
func (q *Query) Int(name string, min, max, def int64, detail string) int64 {
	if n, ok := q.parseInt(name, min, max, detail); ok {
		return n
	}
	return def
}

// OptInt is Int for an optional value: nil when absent, empty or faulty.
func (q *Query) OptInt(name string, min, max int64, detail string) *int64 {
	if n, ok := q.parseInt(name, min, max, detail); ok {
		return &n
	}
	return nil
}

func (q *Query) parseInt(name string, min, max int64, detail string) (int64, bool) {
	s := q.Get(name)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		if detail == "" {
			detail = fmt.Sprintf("must be an integer from %d to %d", min, max)
		}
		q.v.Add(name, "%s", detail)
		return 0, false
	}
	return n, true
}

// Add records a fault of a value, as errs.Validation.Add.
func (q *Query) Add(field, format string, args ...any) { q.v.Add(field, format, args...) }

// Check records a fault unless ok, as errs.Validation.Check.
func (q *Query) Check(ok bool, field, format string, args ...any) {
	q.v.Check(ok, field, format, args...)
}

// Err returns the faults found, as one errs.KindInvalid error, or nil.
func (q *Query) Err() error { return q.v.Err() }
