package search

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	index "github.com/blevesearch/bleve_index_api"
)

// A query is planned, as Meilisearch does, by listing for each word every
// way a product may contain it: as typed, through a synonym, with typos
// within its length's budget, split in two ("coffeemaker": "coffee
// maker"), joined with the next word ("head phones": "headphones") and,
// for the last word, which may still be being typed, as the start of a
// longer word, with typos too. The ranking rules (rank.go) then sort the
// products by how well they match the words.

// maxWords bounds the work a long query can cause; later words are ignored.
const maxWords = 12

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
	adv, err := s.index.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	v := vocabulary{ctx: ctx, r: r, field: opts.field}
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
	for _, m := range closest(found, maxTypoTerms) {
		p.add(alternative{first: i, last: i, terms: []string{m.term}, typos: m.distance})
	}
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
	for _, m := range closest(exact, maxPrefixTerms) {
		p.add(alternative{first: i, last: i, terms: []string{m.term}})
	}
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
	for _, m := range closest(typos, maxTypoTerms) {
		p.add(alternative{first: i, last: i, terms: []string{m.term}, typos: m.distance})
	}
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

// vocabulary looks terms of a field up in one index snapshot.
type vocabulary struct {
	ctx   context.Context
	r     index.IndexReader
	field string
}

// count returns how many products hold term.
func (v vocabulary) count(term string) (uint64, error) {
	tfr, err := v.r.TermFieldReader(v.ctx, []byte(term), v.field, false, false, false)
	if err != nil {
		return 0, err
	}
	defer tfr.Close()
	return tfr.Count(), nil
}

// fuzzy returns the terms within distance edits of term (Levenshtein).
func (v vocabulary) fuzzy(term string, distance int) ([]index.DictEntry, error) {
	fr, ok := v.r.(index.IndexReaderFuzzy)
	if !ok {
		return nil, errors.New("search: the index cannot look up fuzzy terms")
	}
	dict, err := fr.FieldDictFuzzy(v.field, term, distance, "")
	if err != nil {
		return nil, err
	}
	return drain(dict, -1)
}

// prefixed returns up to limit terms that start with prefix.
func (v vocabulary) prefixed(prefix string, limit int) ([]index.DictEntry, error) {
	dict, err := v.r.FieldDictPrefix(v.field, []byte(prefix))
	if err != nil {
		return nil, err
	}
	return drain(dict, limit)
}

func drain(dict index.FieldDict, limit int) ([]index.DictEntry, error) {
	var out []index.DictEntry
	for limit < 0 || len(out) < limit {
		e, err := dict.Next()
		if err != nil {
			_ = dict.Close()
			return nil, err
		}
		if e == nil {
			break
		}
		out = append(out, *e)
	}
	return out, dict.Close()
}

// unknownWords returns the words of the plan that the index holds in no
// form: no alternative of theirs has all its terms in the index. For a
// search that found nothing, they say what a synonym should cover.
func (s *Service) unknownWords(ctx context.Context, p *plan) ([]string, error) {
	adv, err := s.index.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	v := vocabulary{ctx: ctx, r: r, field: p.field}
	known := make([]bool, len(p.words))
	for _, a := range p.alternatives {
		held := true
		for _, t := range a.terms {
			if t == "" {
				continue
			}
			n, err := v.count(t)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				held = false
				break
			}
		}
		for i := a.first; held && i <= a.last; i++ {
			known[i] = true
		}
	}
	var out []string
	for i, w := range p.words {
		if !known[i] {
			out = append(out, w.typed)
		}
	}
	return out, nil
}
