// Package edge is Vitrine's side of the edge cache (Varnish with
// varnish-modules' xkey, deploy/varnish): the surrogate keys public answers
// carry (httpx.SurrogateKeyHeader), what each catalog change touches, and
// the consumer of catalog events that purges those keys from every edge.
//
// An answer names what it shows: a product answer its product and
// category; listings, search results, bestsellers and the category tree
// their family, which any change of a product or category may alter. A
// change purges the keys it touches, so the edge may keep answers for
// their s-maxage and still show a change within milliseconds.
package edge

import (
	"strings"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// The families of answers: each answer of one carries its key.
const (
	Listings    = "listings"    // product listings (GET /api/products)
	Search      = "search"      // search results and suggestions
	Bestsellers = "bestsellers" // the bestsellers listing
	Categories  = "categories"  // the category tree and each category
)

// ProductKey is the key of the answers that show product id.
func ProductKey(id string) string { return "p:" + id }

// CategoryKey is the key of the answers that show the category slug.
func CategoryKey(slug string) string { return "c:" + slug }

// productFamilies are the families any product change may alter.
var productFamilies = []string{Listings, Search, Bestsellers}

// Touched returns the keys of the answers that the change published on
// a catalog subject may alter, for a purge. A product's change touches its
// own answers and every listing, search and bestseller answer (any of
// which may show it), not its category's key: that would drop the answers
// of every other product of the category. A category's change touches the
// answers of its products (which name it), the category tree and every
// family.
func Touched(subject string) []string {
	if id, ok := strings.CutPrefix(subject, events.ProductSubjectPrefix); ok {
		return append([]string{ProductKey(id)}, productFamilies...)
	}
	if slug, ok := strings.CutPrefix(subject, events.CategorySubjectPrefix); ok {
		return append([]string{CategoryKey(slug), Categories}, productFamilies...)
	}
	return nil
}
