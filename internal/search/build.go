package search

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// searchField is a text field a query's words are looked for in, with its
// weight in the score.
type searchField struct {
	name   string
	boost  float64
	prefix bool // the last word may match a prefix here
}

// productFields rank name over brand over category and tags over the
// description. Prefix matching skips the description: its vocabulary is the
// largest and a half-typed word would expand to too many terms there.
var productFields = []searchField{
	{fieldName, 5, true},
	{fieldBrand, 3, true},
	{fieldCategoryText, 2, true},
	{fieldTags, 2, true},
	{fieldDescription, 1, false},
}

// suggestFields: suggestions complete product names.
var suggestFields = []searchField{{fieldName, 1, true}}

// Relative weights of the ways a word can match: exactly, as a synonym, as
// the start of a word, or with a typo (per edit).
const (
	exactBoost   = 3.0
	synonymBoost = 2.0
	prefixBoost  = 1.5
	fuzzyBoost   = 1.0
	phraseBoost  = 5.0 // the words, in order, in the name
)

// maxWords bounds the work a long query can cause; later words are ignored.
const maxWords = 12

// maxTypoTerms bounds how many indexed terms one misspelt word expands to;
// the closest and most frequent are kept.
const maxTypoTerms = 16

// word is one word of a query in the forms the index needs.
type word struct {
	raw   string      // folded and lowercased: the form prefixes are matched in
	term  string      // as indexed (plural stripped); "" for a stop word
	typos []typoMatch // indexed terms within the word's fuzziness, term excluded
}

// typoMatch is an indexed term a few edits away from a query word.
type typoMatch struct {
	term     string
	distance int
	count    uint64
}

func (s *Service) words(text string) []word {
	tokens := s.word.Analyze([]byte(text))
	out := make([]word, 0, min(len(tokens), maxWords))
	for _, t := range tokens {
		if len(out) == maxWords {
			break
		}
		w := word{raw: string(t.Term)}
		if terms := s.terms(w.raw); len(terms) > 0 {
			w.term = terms[0]
		}
		out = append(out, w)
	}
	return out
}

// expandTypos finds, for each word long enough for typos, the indexed terms
// within its fuzziness. It does once, in the shared vocabulary field, what a
// Bleve fuzzy query does per field and per search request (building a
// Levenshtein automaton each time, the most expensive step of a query).
func (s *Service) expandTypos(ws []word) error {
	var reader index.IndexReader
	for i := range ws {
		fuzz := fuzziness(ws[i].term)
		if fuzz == 0 {
			continue
		}
		if reader == nil {
			adv, err := s.index.Advanced()
			if err != nil {
				return err
			}
			if reader, err = adv.Reader(); err != nil {
				return err
			}
			defer reader.Close()
		}
		fuzzy, ok := reader.(index.IndexReaderFuzzy)
		if !ok {
			return errors.New("search: the index cannot look up fuzzy terms")
		}
		dict, err := fuzzy.FieldDictFuzzy(fieldVocabulary, ws[i].term, fuzz, "")
		if err != nil {
			return err
		}
		var matches []typoMatch
		for {
			e, err := dict.Next()
			if err != nil {
				_ = dict.Close()
				return err
			}
			if e == nil {
				break
			}
			if e.Term != ws[i].term {
				matches = append(matches, typoMatch{term: e.Term, distance: int(e.EditDistance), count: e.Count})
			}
		}
		if err := dict.Close(); err != nil {
			return err
		}
		slices.SortFunc(matches, func(a, b typoMatch) int {
			return cmp.Or(cmp.Compare(a.distance, b.distance), cmp.Compare(b.count, a.count), strings.Compare(a.term, b.term))
		})
		ws[i].typos = matches[:min(len(matches), maxTypoTerms)]
	}
	return nil
}

// fuzziness allows one typo in words of 4 characters or more and two from
// 8; shorter words must be exact, or nearly every short word would match.
func fuzziness(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	default:
		return 0
	}
}

// textQuery is the full-text part of a search: every clause in must has to
// match (one per word, or per phrase with synonyms); should only adds to the
// score.
type textQuery struct {
	must   []query.Query
	should []query.Query
}

// textQuery builds the query for what the shopper typed: each word must
// match in some field, exactly (ranked highest), through a synonym, with a
// typo, or - for the last word, which may still be being typed - as a
// prefix. It returns nil when text holds nothing to search for (browsing).
func (s *Service) textQuery(text string, fields []searchField, withSynonyms bool) (*textQuery, error) {
	if NormalizeText(text) == "" {
		return nil, nil
	}
	all := s.words(text)
	tq := &textQuery{}
	if len(all) == 0 {
		return tq, nil // punctuation only: matches nothing
	}
	if err := s.expandTypos(all); err != nil {
		return nil, fmt.Errorf("search: look up typos: %w", err)
	}
	last := all[len(all)-1]
	var content []word // words that are not stop words
	for _, w := range all {
		if w.term != "" {
			content = append(content, w)
		}
	}
	if len(content) == 0 {
		// only stop words: the last one may be the start of a longer word
		// ("an" -> "android")
		tq.must = append(tq.must, wordQuery(last, true, fields))
		return tq, nil
	}
	lastIsContent := last.term != ""
	for i := 0; i < len(content); {
		n, alternatives := s.synonymsAt(content[i:], withSynonyms)
		group := make([]query.Query, 0, n)
		for j := i; j < i+n; j++ {
			group = append(group, wordQuery(content[j], lastIsContent && j == len(content)-1, fields))
		}
		clause := conjunction(group)
		if len(alternatives) > 0 {
			options := []query.Query{clause}
			for _, alt := range alternatives {
				options = append(options, phraseTermsQuery(alt, fields))
			}
			clause = bleve.NewDisjunctionQuery(options...)
		}
		tq.must = append(tq.must, clause)
		i += n
	}
	if !lastIsContent {
		// "case for": "for" is probably a finished stop word, but may be the
		// start of "ford"; let it help the score without being required.
		tq.should = append(tq.should, wordQuery(last, true, fields))
	}
	if len(content) > 1 {
		phrase := bleve.NewMatchPhraseQuery(text)
		phrase.SetField(fieldName)
		phrase.SetBoost(phraseBoost)
		tq.should = append(tq.should, phrase)
	}
	return tq, nil
}

// synonymsAt returns how many words from the start of ws form the longest
// phrase with synonyms, and those synonyms; (1, nil) when there is none.
func (s *Service) synonymsAt(ws []word, enabled bool) (int, [][]string) {
	if !enabled {
		return 1, nil
	}
	for n := min(s.synonyms.longest, len(ws)); n >= 1; n-- {
		terms := make([]string, n)
		for i := range n {
			terms[i] = ws[i].term
		}
		if alts := s.synonyms.lookup(terms); len(alts) > 0 {
			return n, alts
		}
	}
	return 1, nil
}

// wordQuery matches one word in any of the fields.
func wordQuery(w word, last bool, fields []searchField) query.Query {
	var options []query.Query
	for _, f := range fields {
		if w.term != "" {
			options = append(options, termQuery(w.term, f.name, f.boost*exactBoost))
		}
		for _, t := range w.typos {
			// each edit halves the weight
			options = append(options, termQuery(t.term, f.name, f.boost*fuzzyBoost/float64(max(t.distance, 1))))
		}
		if last && f.prefix {
			q := bleve.NewPrefixQuery(w.raw)
			q.SetField(f.name)
			q.SetBoost(f.boost * prefixBoost)
			options = append(options, q)
		}
	}
	if len(options) == 1 {
		return options[0]
	}
	return bleve.NewDisjunctionQuery(options...)
}

// phraseTermsQuery matches a synonym, a word or a phrase, in any field.
// Phrase terms that are "" stand for a stop word.
func phraseTermsQuery(terms []string, fields []searchField) query.Query {
	options := make([]query.Query, 0, len(fields))
	for _, f := range fields {
		if len(terms) == 1 {
			options = append(options, termQuery(terms[0], f.name, f.boost*synonymBoost))
			continue
		}
		slots := make([][]string, len(terms))
		for i, t := range terms {
			if t != "" {
				slots[i] = []string{t}
			}
		}
		q := query.NewMultiPhraseQuery(slots, f.name)
		q.SetBoost(f.boost * synonymBoost)
		options = append(options, q)
	}
	return disjunction(options)
}

func termQuery(term, field string, boost float64) *query.TermQuery {
	q := bleve.NewTermQuery(term)
	q.SetField(field)
	q.SetBoost(boost)
	return q
}

func conjunction(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewConjunctionQuery(qs...)
}

func disjunction(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// compose joins the text query and the filters. Filters do not score.
func compose(tq *textQuery, filter query.Query) query.Query {
	switch {
	case tq != nil && len(tq.must) == 0:
		return bleve.NewMatchNoneQuery()
	case tq == nil && filter == nil:
		return bleve.NewMatchAllQuery()
	}
	q := bleve.NewBooleanQuery()
	if tq != nil {
		q.AddMust(tq.must...)
		q.AddShould(tq.should...)
	}
	q.AddFilter(filter)
	return q
}

// filters holds the query's filters apart, so that each disjunctive facet
// can be counted without its own filter.
type filters struct {
	category, brand, price, stock query.Query
}

func (s *Service) filters(q Query) filters {
	var f filters
	if q.Category != "" {
		slugs := s.categories.Load().subtree(q.Category)
		options := make([]query.Query, len(slugs))
		for i, slug := range slugs {
			options[i] = termQuery(slug, fieldCategory, 1)
		}
		f.category = disjunction(options)
	}
	if len(q.Brands) > 0 {
		options := make([]query.Query, len(q.Brands))
		for i, b := range q.Brands {
			options[i] = termQuery(strings.ToLower(b), fieldBrandKey, 1)
		}
		f.brand = disjunction(options)
	}
	if q.MinPrice != nil || q.MaxPrice != nil {
		var lo, hi *float64
		if q.MinPrice != nil {
			v := float64(*q.MinPrice)
			lo = &v
		}
		if q.MaxPrice != nil {
			v := float64(*q.MaxPrice)
			hi = &v
		}
		inclusive := true
		r := bleve.NewNumericRangeInclusiveQuery(lo, hi, &inclusive, &inclusive)
		r.SetField(fieldPrice)
		f.price = r
	}
	if q.InStock {
		b := bleve.NewBoolFieldQuery(true)
		b.SetField(fieldInStock)
		f.stock = b
	}
	return f
}

// all returns the conjunction of every filter except the one named (a facet
// name, or "" for none); nil when none remain.
func (f filters) all(except string) query.Query {
	var qs []query.Query
	for _, c := range []struct {
		name string
		q    query.Query
	}{{FacetCategory, f.category}, {FacetBrand, f.brand}, {FacetPrice, f.price}, {"", f.stock}} {
		if c.q != nil && (except == "" || c.name != except) {
			qs = append(qs, c.q)
		}
	}
	if len(qs) == 0 {
		return nil
	}
	return conjunction(qs)
}
