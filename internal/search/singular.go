package search

import (
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/gertd/go-pluralize"
	"github.com/maypok86/otter/v2"
)

// singularFilterName is the token filter that turns English plurals into
// singulars, with the irregular ones an inflection dictionary knows
// ("mice" -> "mouse", "shelves" -> "shelf", "scarves" -> "scarf") and the
// words it knows to end in s left alone ("wireless", "series").
const singularFilterName = "vitrine_singular"

func init() {
	err := registry.RegisterTokenFilter(singularFilterName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return singularFilter{}, nil
	})
	if err != nil {
		panic(err)
	}
}

type singularFilter struct{}

func (singularFilter) Filter(ts analysis.TokenStream) analysis.TokenStream {
	for _, t := range ts {
		if s := singular(string(t.Term)); s != string(t.Term) {
			t.Term = []byte(s)
		}
	}
	return ts
}

// inflection is safe for concurrent use once built; its rules are
// regular expressions, slow enough to be worth a cache: a catalog's
// vocabulary is small and its words repeat in every product.
var (
	inflection    = pluralize.NewClient()
	singularCache = otter.Must(&otter.Options[string, string]{MaximumSize: 100_000})
)

// singular returns the singular of an English word. Words of fewer than
// three letters and words without a letter ("xs", "4k", "100") are kept:
// sizes and model numbers are not plurals.
func singular(word string) string {
	letters := 0
	for _, r := range word {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters < 3 {
		return word
	}
	if s, ok := singularCache.GetIfPresent(word); ok {
		return s
	}
	s := inflection.Singular(word)
	singularCache.Set(word, s)
	return s
}
