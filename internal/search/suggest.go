package search

import (
	"context"
	"fmt"

	"github.com/blevesearch/bleve/v2"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Suggestion is a product name completing what the shopper is typing.
type Suggestion struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Highlight is the name, HTML-escaped, with the matched parts in <mark>.
	Highlight string `json:"highlight"`
}

// Suggest returns up to MaxSuggestions products whose names complete text:
// every word the catalog knows matches, exactly or with a typo, the last
// one also as the start of a word, with typos too; the best matches first.
// It records no search event: it runs on every keystroke.
func (s *Service) Suggest(ctx context.Context, text string) ([]Suggestion, error) {
	var v errs.Validation
	checkText(&v, "q", text)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := []Suggestion{}
	p, err := s.plan(ctx, text, planOptions{field: fieldName})
	if err != nil {
		return nil, fmt.Errorf("search: plan %q: %w", text, err)
	}
	if p == nil || len(p.words) == 0 {
		return out, nil
	}
	// Suggestions run on every keystroke, and a letter or two may be the
	// start of most names: the search stops at the first products with the
	// best score possible, and ties are left in index order rather than
	// by popularity, which would need every match's sort key.
	mq := &matchQuery{plan: p, ranking: ranking{exactness: true, all: true}, enough: MaxSuggestions}
	req := bleve.NewSearchRequestOptions(mq, MaxSuggestions, 0, false)
	req.Fields = []string{fieldSource}
	req.SortBy([]string{"-_score"})
	results, err := s.run(ctx, []*bleve.SearchRequest{req})
	if err != nil {
		return nil, err
	}
	terms := p.termSet()
	for _, hit := range results[req].Hits {
		d, err := sourceOf(hit)
		if err != nil {
			return nil, err
		}
		sg := Suggestion{ID: d.ID, Slug: d.Slug, Name: d.Name}
		sg.Highlight, _ = s.highlight(d.Name, terms)
		out = append(out, sg)
	}
	return out, nil
}
