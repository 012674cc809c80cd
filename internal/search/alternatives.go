package search

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The alternatives of a word besides the word as typed (see plan.go), one
// function a kind: typos, prefixes of the last word, a split, a join with
// the next word, synonyms. Each looks its terms up in the index.

// Bounds on how many index terms one word expands to: the closest and most
// frequent are kept.
const (
	maxTypoTerms   = 16
	maxPrefixTerms = 50
	// maxPrefixScan bounds the terms read to find the prefixes within a
	// typo of a word being typed.
	maxPrefixScan = 20_000
)

// typoBudget is how many typos a word may have: one from 5 letters, two
// from 9 (Meilisearch's defaults). Shorter words must be exact, or "vase"
// would find cases and "chair" hair dryers.
func typoBudget(typed string) int {
	switch n := utf8.RuneCountInString(typed); {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	default:
		return 0
	}
}

// addTypos lists the indexed terms within the typo budget of word i. The
// distance is the smaller from the word as typed and from its singular
// ("wireles" is one edit from "wireless", its singular "wirele" two), and
// a swap of two letters counts as one typo.
func (s *Service) addTypos(p *plan, v vocabulary, i int) error {
	w := p.words[i]
	budget := typoBudget(w.typed)
	if budget == 0 || w.term == "" {
		return nil
	}
	// Levenshtein counts a swap as two edits: look one further, then
	// measure with swaps
	reach := min(budget+1, 2)
	found := map[string]typoMatch{}
	for _, from := range slices.Compact([]string{w.term, w.typed}) {
		entries, err := v.fuzzy(from, reach)
		if err != nil {
			return err
		}
		for _, e := range entries {
			d := min(editDistance(w.typed, e.Term), editDistance(w.term, e.Term))
			if e.Term == w.term || d == 0 || d > budget {
				continue
			}
			if m, ok := found[e.Term]; !ok || d < m.distance {
				found[e.Term] = typoMatch{term: e.Term, distance: d, count: e.Count}
			}
		}
	}
	p.addClosest(i, found, maxTypoTerms)
	return nil
}

// addPrefixes lists the indexed terms that word i, the last one, may be
// the start of; when there are none and the word is not itself indexed,
// those it may be the start of with typos ("hedph": "headphone"). Looking
// for typos only then departs from Meilisearch, which always does: a
// prefix with a typo is short and matches much ("backp" is a typo away
// from "backe", the start of "backed" in nearly every description), so
// it costs a lot to rank what is always ranked last.
func addPrefixes(p *plan, v vocabulary, i int) error {
	w := p.words[i]
	entries, err := v.prefixed(w.typed, maxPrefixScan)
	if err != nil {
		return err
	}
	exact := map[string]typoMatch{}
	for _, e := range entries {
		if e.Term != w.term {
			exact[e.Term] = typoMatch{term: e.Term, count: e.Count}
		}
	}
	p.addClosest(i, exact, maxPrefixTerms)
	budget := typoBudget(w.typed)
	if budget == 0 || len(entries) > 0 {
		return nil
	}
	if n, err := v.count(w.term); err != nil || n > 0 {
		return err
	}
	// a typo in the first letter is rare; reading only the terms that
	// start with it keeps this cheap
	first, _ := utf8.DecodeRuneInString(w.typed)
	if entries, err = v.prefixed(string(first), maxPrefixScan); err != nil {
		return err
	}
	typos := map[string]typoMatch{}
	for _, e := range entries {
		if d := prefixDistance(w.typed, e.Term, budget); d > 0 && d <= budget {
			typos[e.Term] = typoMatch{term: e.Term, distance: d, count: e.Count}
		}
	}
	p.addClosest(i, typos, maxTypoTerms)
	return nil
}

// addSplit lists word i split in two words the index knows ("hairdryer":
// "hair dryer"), found next to each other: the split whose rarer half is
// the most frequent, as Meilisearch does. Only a word the index does not
// know is split.
func addSplit(p *plan, v vocabulary, i int) error {
	w := p.words[i]
	runes := []rune(w.typed)
	if w.term == "" || len(runes) < 4 {
		return nil
	}
	if n, err := v.count(w.term); err != nil || n > 0 {
		return err
	}
	var best []string
	var bestCount uint64
	for k := 2; k <= len(runes)-2; k++ {
		left, right := singular(string(runes[:k])), singular(string(runes[k:]))
		nl, err := v.count(left)
		if err != nil || nl == 0 {
			if err != nil {
				return err
			}
			continue
		}
		nr, err := v.count(right)
		if err != nil {
			return err
		}
		if c := min(nl, nr); c > bestCount {
			best, bestCount = []string{left, right}, c
		}
	}
	if best != nil {
		p.add(alternative{first: i, last: i, terms: best})
	}
	return nil
}

// addJoin lists words i and i+1 run together ("head phones": "headphones")
// when the index knows the result.
func addJoin(p *plan, v vocabulary, i int) error {
	joined := singular(p.words[i].typed + p.words[i+1].typed)
	n, err := v.count(joined)
	if err != nil || n == 0 {
		return err
	}
	p.add(alternative{first: i, last: i + 1, terms: []string{joined}})
	return nil
}

// addSynonyms lists the synonyms of the longest phrase of the synonyms
// file that starts at word i.
func (s *Service) addSynonyms(p *plan, i int) {
	for n := min(s.synonyms.longest, len(p.words)-i); n >= 1; n-- {
		terms := make([]string, n)
		for k := range n {
			terms[k] = p.words[i+k].term
		}
		if alts := s.synonyms.lookup(terms); len(alts) > 0 {
			for _, alt := range alts {
				p.add(alternative{first: i, last: i + n - 1, terms: alt})
			}
			return
		}
	}
}

// typoMatch is an indexed term some edits away from a query word.
type typoMatch struct {
	term     string
	distance int
	count    uint64
}

// addClosest lists the n closest matches as alternatives of word i.
func (p *plan) addClosest(i int, matches map[string]typoMatch, n int) {
	for _, m := range closest(matches, n) {
		p.add(alternative{first: i, last: i, terms: []string{m.term}, typos: m.distance})
	}
}

// closest returns up to n matches, the fewest edits first, then the most
// frequent.
func closest(m map[string]typoMatch, n int) []typoMatch {
	out := make([]typoMatch, 0, len(m))
	for _, tm := range m {
		out = append(out, tm)
	}
	slices.SortFunc(out, func(a, b typoMatch) int {
		return cmp.Or(cmp.Compare(a.distance, b.distance), cmp.Compare(b.count, a.count), strings.Compare(a.term, b.term))
	})
	return out[:min(len(out), n)]
}
