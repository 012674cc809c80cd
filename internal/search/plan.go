package search

import (
	"context"
	"slices"
)

// A query is planned, as Meilisearch does, by listing for each word every
// way a product may contain it: as typed, through a synonym, with typos
// within its length's budget, split in two ("coffeemaker": "coffee
// maker"), joined with the next word ("head phones": "headphones") and,
// for the last word, which may still be being typed, as the start of a
// longer word, with typos too (alternatives.go finds each kind). The
// ranking rules (rank.go) then sort the products by how well they match
// the words.

// maxWords bounds the work a long query can cause; later words are ignored.
const maxWords = 12

// queryWord is one word of a query.
type queryWord struct {
	typed string // folded and lowercased: what prefixes and typos are measured on
	term  string // as indexed (singular)
}

// alternative is one way of finding words first..last of a query in a
// product: its terms, adjacent and in order in one attribute.
type alternative struct {
	first, last int
	terms       []string // "" keeps the place of a stop word in a synonym phrase
	typos       int      // edits from the words as typed
	exact       bool     // the word as typed, not a synonym, prefix, split or join
	slots       []int    // per term, its index in plan.terms; -1 for a gap
}

// plan is a query's words and their alternatives, with the distinct terms
// they use, each knowing where it is used.
type plan struct {
	field        string // the index field the terms are in
	words        []queryWord
	alternatives []alternative
	terms        []string
	roles        [][]termRole // per term
}

// termRole is a place of a term: slot of alternative alt.
type termRole struct{ alt, slot int }

// planOptions say where a plan looks and which alternatives it lists.
type planOptions struct {
	field    string // fieldText, or fieldName for suggestions
	synonyms bool   // suggestions complete names and skip them
}

// plan analyzes text and lists its alternatives, looking terms up in the
// index. It returns nil when text holds nothing to search for (browsing),
// and a plan without words when it holds only punctuation.
func (s *Service) plan(ctx context.Context, text string, opts planOptions) (*plan, error) {
	if NormalizeText(text) == "" {
		return nil, nil
	}
	p := &plan{field: opts.field, words: s.words(text)}
	if len(p.words) == 0 {
		return p, nil
	}
	v, err := s.openVocabulary(ctx, opts.field)
	if err != nil {
		return nil, err
	}
	defer v.close()
	last := len(p.words) - 1
	for i, w := range p.words {
		if w.term != "" {
			p.add(alternative{first: i, last: i, terms: []string{w.term}, exact: true})
		}
		if err := s.addTypos(p, v, i); err != nil {
			return nil, err
		}
		if i == last {
			if err := addPrefixes(p, v, i); err != nil {
				return nil, err
			}
		}
		if err := addSplit(p, v, i); err != nil {
			return nil, err
		}
		if i < last {
			if err := addJoin(p, v, i); err != nil {
				return nil, err
			}
		}
		if opts.synonyms {
			s.addSynonyms(p, i)
		}
	}
	p.index()
	return p, nil
}

// words returns the words of text, stop words left out; when there are
// only stop words, the last one, which may be the start of a longer word
// ("an" -> "android"), is kept as a prefix.
func (s *Service) words(text string) []queryWord {
	var all, content []queryWord
	for _, t := range s.word.Analyze([]byte(text)) {
		w := queryWord{typed: string(t.Term)}
		if terms := s.text.Analyze(t.Term); len(terms) > 0 {
			w.term = string(terms[0].Term)
			content = append(content, w)
		}
		all = append(all, w)
	}
	if len(content) == 0 && len(all) > 0 {
		content = all[len(all)-1:]
	}
	return content[:min(len(content), maxWords)]
}

// add lists a, unless the same terms already stand for the same words
// (then the cheaper of the two stays).
func (p *plan) add(a alternative) {
	for i, b := range p.alternatives {
		if b.first == a.first && b.last == a.last && slices.Equal(b.terms, a.terms) {
			if a.typos < b.typos || a.typos == b.typos && a.exact && !b.exact {
				p.alternatives[i] = a
			}
			return
		}
	}
	p.alternatives = append(p.alternatives, a)
}

// index lists the distinct terms and where each is used.
func (p *plan) index() {
	at := map[string]int{}
	for ai := range p.alternatives {
		a := &p.alternatives[ai]
		a.slots = make([]int, len(a.terms))
		for slot, t := range a.terms {
			if t == "" {
				a.slots[slot] = -1
				continue
			}
			ti, ok := at[t]
			if !ok {
				ti = len(p.terms)
				at[t] = ti
				p.terms = append(p.terms, t)
				p.roles = append(p.roles, nil)
			}
			a.slots[slot] = ti
			p.roles[ti] = append(p.roles[ti], termRole{alt: ai, slot: slot})
		}
	}
}

// termSet is the plan's terms, for highlighting.
func (p *plan) termSet() map[string]bool {
	set := make(map[string]bool, len(p.terms))
	for _, t := range p.terms {
		set[t] = true
	}
	return set
}
