package search

import (
	"bytes"
	"container/heap"
	"context"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	index "github.com/blevesearch/bleve_index_api"
)

// matchQuery is the text part of a search as a Bleve query: the products
// holding any alternative of the plan, scored by the ranking rules. Bleve's
// own queries could find the same products but not say which words each
// matched, with how many typos and where, so it walks the terms' posting
// lists itself, one document at a time.
type matchQuery struct {
	plan    *plan
	ranking ranking
	// minScore leaves out the products that score less (see Service.cut)
	minScore float64
	// enough, when not 0, ends the search once that many products have
	// the best score the plan allows: no other can rank above them. The
	// total is then not counted (suggestions need none).
	enough int
}

func (q *matchQuery) Searcher(ctx context.Context, r index.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	s, err := newMatchSearcher(ctx, r, q.plan, q.ranking, opts.Score != "none")
	if err != nil {
		return nil, err
	}
	s.minScore = q.minScore
	if q.enough > 0 {
		s.enough, s.best = q.enough, q.ranking.best(q.plan)
	}
	return s, nil
}

// cursor walks the posting list of one term of the plan.
type cursor struct {
	term   int
	reader index.TermFieldReader
	doc    *index.TermFieldDoc // current; nil when done
}

// cursors is a heap of cursors by current document.
type cursors []*cursor

func (h cursors) Len() int           { return len(h) }
func (h cursors) Less(i, j int) bool { return bytes.Compare(h[i].doc.ID, h[j].doc.ID) < 0 }
func (h cursors) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// matchSearcher is a Bleve searcher over the terms of a plan.
type matchSearcher struct {
	plan     *plan
	ranking  ranking
	scoring  bool
	minScore float64
	enough   int                     // see matchQuery.enough
	best     float64                 // the best score the plan allows
	atBest   int                     // products found with it
	readers  []index.TermFieldReader // every one opened, to close
	heap     cursors
	count    uint64
	// required is the words a document must match when ranking.all is
	// set: those the index holds an alternative of.
	required []bool

	// per document, reused
	at       []*cursor
	termPos  [][]position // per term
	altStart [][]position // per alternative
	altSeen  []bool
	words    []wordMatch
	matched  []bool
}

func newMatchSearcher(ctx context.Context, r index.IndexReader, p *plan, rk ranking, scoring bool) (*matchSearcher, error) {
	s := &matchSearcher{
		plan: p, ranking: rk, scoring: scoring,
		termPos: make([][]position, len(p.terms)), altStart: make([][]position, len(p.alternatives)),
		altSeen: make([]bool, len(p.alternatives)), words: make([]wordMatch, len(p.words)), matched: make([]bool, len(p.words)),
		required: make([]bool, len(p.words)),
	}
	present := make([]bool, len(p.terms))
	for ti, term := range p.terms {
		tfr, err := r.TermFieldReader(ctx, []byte(term), p.field, false, false, true)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		s.readers = append(s.readers, tfr)
		if tfr.Count() == 0 {
			continue
		}
		present[ti] = true
		s.count += tfr.Count()
		doc, err := tfr.Next(nil)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		if doc != nil {
			s.heap = append(s.heap, &cursor{term: ti, reader: tfr, doc: doc})
		}
	}
	heap.Init(&s.heap)
	// a word is known when the index holds every term of one of its
	// alternatives
	for _, a := range p.alternatives {
		known := true
		for _, ti := range a.slots {
			if ti >= 0 && !present[ti] {
				known = false
			}
		}
		for i := a.first; known && i <= a.last; i++ {
			s.required[i] = true
		}
	}
	return s, nil
}

func (s *matchSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	for len(s.heap) > 0 {
		id := s.heap[0].doc.ID
		s.at = s.at[:0]
		for len(s.heap) > 0 && bytes.Equal(s.heap[0].doc.ID, id) {
			s.at = append(s.at, heap.Pop(&s.heap).(*cursor))
		}
		var dm *search.DocumentMatch
		if score, ok := s.rank(); ok && (!s.scoring || score >= s.minScore) {
			dm = ctx.DocumentMatchPool.Get()
			dm.IndexInternalID = append(dm.IndexInternalID[:0], id...)
			dm.Score = score
			if s.enough > 0 && score >= s.best {
				s.atBest++
			}
		}
		for _, c := range s.at {
			doc, err := c.reader.Next(c.doc)
			if err != nil {
				return nil, err
			}
			if c.doc = doc; doc != nil {
				heap.Push(&s.heap, c)
			}
		}
		if s.enough > 0 && s.atBest >= s.enough {
			s.heap = s.heap[:0] // the rest cannot rank above
		}
		if dm != nil {
			return dm, nil
		}
	}
	return nil, nil
}

func (s *matchSearcher) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	for len(s.heap) > 0 && bytes.Compare(s.heap[0].doc.ID, id) < 0 {
		c := heap.Pop(&s.heap).(*cursor)
		doc, err := c.reader.Advance(id, c.doc)
		if err != nil {
			return nil, err
		}
		if c.doc = doc; doc != nil {
			heap.Push(&s.heap, c)
		}
	}
	return s.Next(ctx)
}

// rank evaluates the document the cursors in s.at are on: which words it
// matches and how, and its score. ok is false when it matches no word
// (only part of a phrase, say), or not all it must.
func (s *matchSearcher) rank() (score float64, ok bool) {
	p := s.plan
	for _, c := range s.at {
		ps := s.termPos[c.term][:0]
		for _, v := range c.doc.Vectors {
			attr := 0
			if len(v.ArrayPositions) > 0 {
				attr = int(v.ArrayPositions[0])
			}
			ps = append(ps, position{attr: attr, pos: int(v.Pos)})
		}
		s.termPos[c.term] = ps
	}
	clear(s.matched)
	for _, c := range s.at {
		for _, role := range p.roles[c.term] {
			if s.altSeen[role.alt] {
				continue
			}
			s.altSeen[role.alt] = true
			starts := s.starts(role.alt)
			if len(starts) == 0 {
				continue
			}
			a := p.alternatives[role.alt]
			m := wordMatch{alt: role.alt, typos: a.typos, attr: numAttributes, exact: a.exact, starts: starts}
			for _, x := range starts {
				m.attr = min(m.attr, x.attr)
			}
			for i := a.first; i <= a.last; i++ {
				if !s.matched[i] || better(m, s.words[i]) {
					s.words[i], s.matched[i] = m, true
				}
			}
		}
	}
	// reset for the next document
	for _, c := range s.at {
		for _, role := range p.roles[c.term] {
			s.altSeen[role.alt] = false
		}
		s.termPos[c.term] = s.termPos[c.term][:0]
	}
	any := false
	for i, m := range s.matched {
		if s.ranking.all && s.required[i] && !m {
			return 0, false
		}
		any = any || m
	}
	if !any {
		return 0, false
	}
	if !s.scoring {
		return 0, true
	}
	return s.ranking.score(p, s.words, s.matched), true
}

// better reports whether a is a better match of a word than b.
func better(a, b wordMatch) bool {
	if a.typos != b.typos {
		return a.typos < b.typos
	}
	if a.attr != b.attr {
		return a.attr < b.attr
	}
	return a.exact && !b.exact
}

// starts returns where alternative ai starts in the current document: for
// one term, wherever it is; for several, wherever they follow each other
// in one attribute.
func (s *matchSearcher) starts(ai int) []position {
	a := s.plan.alternatives[ai]
	out := s.altStart[ai][:0]
	lead := -1 // the first slot that is not a stop word's gap
	for slot, ti := range a.slots {
		if ti >= 0 {
			lead = slot
			break
		}
	}
	if lead < 0 {
		return nil
	}
	for _, x := range s.termPos[a.slots[lead]] {
		start := position{attr: x.attr, pos: x.pos - lead}
		ok := true
		for slot, ti := range a.slots {
			if ti < 0 || slot == lead {
				continue
			}
			want := position{attr: x.attr, pos: start.pos + slot}
			found := false
			for _, y := range s.termPos[ti] {
				if y == want {
					found = true
					break
				}
			}
			if !found {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, start)
		}
	}
	s.altStart[ai] = out
	return out
}

func (s *matchSearcher) Close() error {
	var first error
	for _, r := range s.readers {
		if err := r.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *matchSearcher) Weight() float64            { return 1 }
func (s *matchSearcher) SetQueryNorm(float64)       {}
func (s *matchSearcher) Count() uint64              { return s.count }
func (s *matchSearcher) Min() int                   { return 0 }
func (s *matchSearcher) Size() int                  { return 0 }
func (s *matchSearcher) DocumentMatchPoolSize() int { return 1 }
