package search

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
)

// schemaVersion names the shape of the index (mapping, analyzers, stored
// document). An index written under another version is recreated empty, so
// the caller replays the catalog stream into the new shape.
const schemaVersion = "vitrine-search-6"

// Analyzers defined in the index mapping.
const (
	// textAnalyzer folds accents, lowercases, drops English stop words and
	// turns plurals into singulars, irregular ones included ("mice" ->
	// "mouse", "shelves" -> "shelf"). It stems no further: typos and
	// prefixes are matched against the indexed terms, and a full stemmer
	// ("headphones" -> "headphon") would put them out of reach.
	textAnalyzer = "vitrine_text"
	// wordAnalyzer only folds and lowercases: the form of a word as typed,
	// which prefixes and typos are measured on.
	wordAnalyzer = "vitrine_word"
	// keyAnalyzer keeps the whole value as one lowercased term (brand filter).
	keyAnalyzer = "vitrine_key"
)

// Index fields. One text field is searched (and the names alone, for
// suggestions); the others filter, sort and facet. Sorting and faceting read doc values for every match, so each sort
// key is one keyword term per document (a Bleve number has sixteen) and ends
// with the product id, making every order total: pages never overlap.
const (
	// fieldText holds every searched word of a product, as the values
	// listed by the attribute constants, with positions: one term
	// dictionary to look typos, prefixes and split words up in, and one
	// posting list per term that says in which attribute and where a word
	// was found, which is all the ranking rules need.
	fieldText = "text"
	// fieldName is the name alone, the same way: suggestions complete
	// names, and looking their words up among all of a catalog's would
	// read the postings of descriptions only to throw them away.
	fieldName        = "name"
	fieldBrandFacet  = "brand_facet"  // the brand as written, for the facet
	fieldBrandKey    = "brand_key"    // the brand lowercased, for the filter
	fieldCategory    = "category"     // the category slug, for filter and facet
	fieldPrice       = "price_min"    // lowest variant price, minor units: range filter
	fieldPriceKey    = "price_key"    // lowest price, then id: sort, min and max
	fieldPriceBucket = "price_bucket" // index into priceBounds: price facet
	fieldNewestKey   = "newest_key"   // created_at, then id
	fieldPopularKey  = "popular_key"  // sales, views, created_at, then id
	fieldInStock     = "in_stock"
	fieldSource      = "src" // the stored document, JSON; not indexed
)

// The values of fieldText, in the order of the attribute ranking rule: a
// word found in the name ranks above one found in the brand, and so on. A
// term's array position in the field is its attribute.
const (
	attrName = iota
	attrBrand
	attrCategory
	attrTags
	attrDescription
	numAttributes
)

func newIndexMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomAnalyzer(textAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, en.StopName, singularFilterName},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(wordAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(keyAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{},
		"tokenizer":     single.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, err
	}

	keyword := func(analyzer string, docValues bool) *mapping.FieldMapping {
		return &mapping.FieldMapping{Type: "text", Analyzer: analyzer, Index: true, DocValues: docValues}
	}
	doc := bleve.NewDocumentStaticMapping()
	searched := func() *mapping.FieldMapping {
		return &mapping.FieldMapping{Type: "text", Analyzer: textAnalyzer, Index: true, IncludeTermVectors: true}
	}
	doc.AddFieldMappingsAt(fieldText, searched())
	doc.AddFieldMappingsAt(fieldName, searched())
	doc.AddFieldMappingsAt(fieldBrandFacet, keyword("keyword", true))
	doc.AddFieldMappingsAt(fieldBrandKey, keyword(keyAnalyzer, false))
	doc.AddFieldMappingsAt(fieldCategory, keyword("keyword", true))
	doc.AddFieldMappingsAt(fieldPrice, &mapping.FieldMapping{Type: "number", Index: true})
	doc.AddFieldMappingsAt(fieldPriceKey, keyword("keyword", true))
	doc.AddFieldMappingsAt(fieldPriceBucket, keyword("keyword", true))
	doc.AddFieldMappingsAt(fieldNewestKey, keyword("keyword", true))
	doc.AddFieldMappingsAt(fieldPopularKey, keyword("keyword", true))
	doc.AddFieldMappingsAt(fieldInStock, &mapping.FieldMapping{Type: "boolean", Index: true})
	doc.AddFieldMappingsAt(fieldSource, &mapping.FieldMapping{Type: "text", Store: true})

	im.DefaultMapping = doc
	im.DefaultAnalyzer = textAnalyzer
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	return im, im.Validate()
}

// document is what the index keeps of a product: everything a search result
// shows and everything needed to index it again (popularity updates rewrite
// the whole document, as Bleve has no partial update).
type document struct {
	ID      string `json:"id"`
	Slug    string `json:"slug"`
	Version int64  `json:"version"` // of the product event it was built from
	// Searched; name and description are highlighted.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Filtered and faceted, and searched too.
	Brand    string   `json:"brand"`
	Category string   `json:"category"`
	Tags     []string `json:"tags"`
	// Shown: the first image, and its small size.
	Image     string `json:"image"`
	Thumbnail string `json:"thumbnail,omitempty"`
	// The publisher's price range (the lowest price filters, sorts and
	// facets) and stock.
	PriceMin int64  `json:"price_min"`
	PriceMax int64  `json:"price_max"`
	Currency string `json:"currency"`
	InStock  bool   `json:"in_stock"`
	// Popularity: the larger of the product's counters and the totals
	// analytics last published.
	Sales int64 `json:"sales"`
	Views int64 `json:"views"`
	// Sort=newest reads CreatedAt.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// fields returns the document in the shape the mapping indexes.
func (d *document) fields() (map[string]any, error) {
	src, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	created := d.CreatedAt.UnixNano()
	if d.CreatedAt.Before(time.Unix(0, 0)) || d.CreatedAt.After(time.Unix(0, math.MaxInt64)) {
		created = 0
	}
	text := make([]string, numAttributes)
	text[attrName], text[attrBrand], text[attrCategory] = d.Name, d.Brand, slugWords(d.Category)
	text[attrTags], text[attrDescription] = strings.Join(tags, " "), d.Description
	f := map[string]any{
		fieldText:        text,
		fieldName:        d.Name,
		fieldPrice:       float64(d.PriceMin),
		fieldPriceKey:    sortKey(d.ID, d.PriceMin),
		fieldPriceBucket: strconv.Itoa(priceBucket(d.PriceMin)),
		fieldNewestKey:   sortKey(d.ID, created),
		fieldPopularKey:  sortKey(d.ID, d.Sales, d.Views, created),
		fieldInStock:     d.InStock,
		fieldSource:      string(src),
	}
	// an empty brand or category would show up as an empty facet value
	if d.Brand != "" {
		f[fieldBrandFacet], f[fieldBrandKey] = d.Brand, d.Brand
	}
	if d.Category != "" {
		f[fieldCategory] = d.Category
	}
	return f, nil
}

// sortKey encodes non-negative numbers (negative ones as 0) so that the
// keys sort as the numbers do, then the id.
func sortKey(id string, numbers ...int64) string {
	var b strings.Builder
	for _, n := range numbers {
		fmt.Fprintf(&b, "%019d/", max(n, 0))
	}
	b.WriteString(id)
	return b.String()
}

// priceBounds are the edges of the price facet's buckets, in minor units:
// 1-2-5 steps (0, 1, 2, 5, 10, 20, 50, ... currency units) that read well in
// any currency. Changing them changes the schema.
var priceBounds = func() []int64 {
	b := []int64{0}
	for p := int64(100); p <= 1e13; p *= 10 {
		b = append(b, p, 2*p, 5*p)
	}
	return b
}()

// priceBucket returns the index of the bucket holding price.
func priceBucket(price int64) int {
	i, found := slices.BinarySearch(priceBounds, max(price, 0))
	if !found {
		i--
	}
	return i
}

// slugWords turns "home-audio" into "home audio" so a category's words are
// searchable.
func slugWords(slug string) string {
	b := []byte(slug)
	for i, c := range b {
		if c == '-' || c == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}
