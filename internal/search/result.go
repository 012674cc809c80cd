package search

import (
	"encoding/json"
	"fmt"

	"github.com/blevesearch/bleve/v2/search"
)

// Result is one page of search results.
type Result struct {
	Total   int     `json:"total"` // exact
	Page    int     `json:"page"`
	PerPage int     `json:"per_page"`
	Items   []Item  `json:"items"`
	Facets  *Facets `json:"facets,omitempty"`

	// unknown is, when nothing was found, the words of the query the
	// catalog holds in no form; the search event tells analytics.
	unknown []string
}

// Item is a product as a search result shows it.
type Item struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Brand    string `json:"brand"`
	Category string `json:"category"`
	Price    Price  `json:"price"`
	InStock  bool   `json:"in_stock"`
	Image    string `json:"image"` // the first image's URL, or ""
	// Thumbnail is the first image's small size (its URL when it is
	// linked, not uploaded), or "".
	Thumbnail string `json:"thumbnail"`
	// Highlights holds, per field (name, description), the fragments where
	// the query matched, HTML-escaped with matches in <mark> tags.
	Highlights map[string][]string `json:"highlights"`
}

// Price is a product's price range, in minor units.
type Price struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
}

func sourceOf(hit *search.DocumentMatch) (*document, error) {
	src, _ := hit.Fields[fieldSource].(string)
	var d document
	if err := json.Unmarshal([]byte(src), &d); err != nil {
		return nil, fmt.Errorf("search: decode hit %s: %w", hit.ID, err)
	}
	return &d, nil
}

// items returns the result items of hits, highlighted where they hold one
// of the plan's terms (none when browsing: p is nil).
func (s *Service) items(hits search.DocumentMatchCollection, p *plan) ([]Item, error) {
	var terms map[string]bool
	if p != nil {
		terms = p.termSet()
	}
	items := make([]Item, 0, len(hits))
	for _, hit := range hits {
		item, err := s.itemOf(hit, terms)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

// itemOf returns the result item of hit, its name and description
// highlighted where they hold one of terms.
func (s *Service) itemOf(hit *search.DocumentMatch, terms map[string]bool) (Item, error) {
	d, err := sourceOf(hit)
	if err != nil {
		return Item{}, err
	}
	item := Item{
		ID: d.ID, Slug: d.Slug, Name: d.Name, Brand: d.Brand, Category: d.Category,
		Price:   Price{Min: d.PriceMin, Max: d.PriceMax, Currency: d.Currency},
		InStock: d.InStock, Image: d.Image, Thumbnail: d.Thumbnail, Highlights: map[string][]string{},
	}
	for field, text := range map[string]string{"name": d.Name, "description": d.Description} {
		if h, ok := s.highlight(text, terms); ok {
			item.Highlights[field] = []string{h}
		}
	}
	return item, nil
}
