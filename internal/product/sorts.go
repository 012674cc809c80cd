package product

import (
	"strconv"
	"strings"
)

// SortOrder is one order a listing can take. It is the only place that
// knows one: the query parser accepts its name, the store orders by its
// column, and cursors carry its key. To add an order, add a row to
// sortOrders (and an index on the column, if the listing is to stay fast).
type SortOrder struct {
	Name   string // the value of ?sort=
	Column string // the products column the store orders by, then by id
	Desc   bool
	Text   bool // the key is text; otherwise an integer
	// Key is p's value in this order, as text, for its cursor.
	Key func(p *Product) string
}

// Sort orders of a listing.
const (
	SortNewest    = "newest"
	SortPrice     = "price"
	SortPriceDesc = "-price"
	SortName      = "name"
	SortSalesDesc = "-sales"
)

func intKey(f func(p *Product) int64) func(p *Product) string {
	return func(p *Product) string { return strconv.FormatInt(f(p), 10) }
}

var sortOrders = []SortOrder{
	{Name: SortNewest, Column: "created_at", Desc: true, Key: intKey(func(p *Product) int64 { return p.CreatedAt.UnixMicro() })},
	{Name: SortPrice, Column: "price_min", Key: intKey(func(p *Product) int64 { return p.Price.Min })},
	{Name: SortPriceDesc, Column: "price_min", Desc: true, Key: intKey(func(p *Product) int64 { return p.Price.Min })},
	{Name: SortName, Column: "name", Text: true, Key: func(p *Product) string { return p.Name }},
	{Name: SortSalesDesc, Column: "sales_count", Desc: true, Key: intKey(func(p *Product) int64 { return p.SalesCount })},
}

// SortOrderOf returns the order called name.
func SortOrderOf(name string) (SortOrder, bool) {
	for _, o := range sortOrders {
		if o.Name == name {
			return o, true
		}
	}
	return SortOrder{}, false
}

// SortNames lists the orders, for error messages and documentation.
func SortNames() string {
	names := make([]string, len(sortOrders))
	for i, o := range sortOrders {
		names[i] = o.Name
	}
	return strings.Join(names, ", ")
}
