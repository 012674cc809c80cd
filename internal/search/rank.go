package search

import "math/bits"

// The ranking rules, in Meilisearch's order: a product that matches more
// of the query's words comes first (words), then one with fewer typos
// (typo), then one where the words are closer together (proximity), then
// one where they are found in a better attribute, name first (attribute);
// then the asked sort order (sort), then words matched as typed before
// prefixes, synonyms and the like (exactness). Bleve sorts by one score,
// so the rules before the sort are packed into it, each in bits of its
// own; after it comes the sort field, then, for relevance, exactness
// (which is in the score then) and popularity.

// ranking says how documents are ranked and which count as matches.
type ranking struct {
	// exactness puts the exactness rule in the score; sorted searches leave
	// it out, as it comes after their sort.
	exactness bool
	// all requires every word the index knows to match; otherwise one is
	// enough (word dropping).
	all bool
}

// Ceilings of the rules, each packed in the bits it needs.
const (
	maxProximity  = 7 // per pair of words: further apart, or apart in two attributes
	typoBits      = 5 // 2 typos x 12 words < 32
	proximityBits = 7 // 7 x 11 pairs < 128
	attributeBits = 6 // 4 x 12 words < 64
	exactBits     = 4 // 12 words < 16
	wordBits      = 4 // 12 words < 16
	maskBits      = maxWords
)

// position is where a match starts in a document: attribute and word.
type position struct {
	attr int
	pos  int
}

// wordMatch is how one query word matched a document.
type wordMatch struct {
	alt    int // the best alternative: fewest typos, then best attribute, then exact
	typos  int
	attr   int
	exact  bool
	starts []position // of the alternative
}

// score is the packed rank of a document whose words matched as given
// (matched[i] false when word i did not).
func (r ranking) score(p *plan, words []wordMatch, matched []bool) float64 {
	var k rankKey
	prev := -1
	for i, ok := range matched {
		if !ok {
			continue
		}
		w := words[i]
		k.count++
		k.mask |= 1 << (maskBits - 1 - i) // an earlier word weighs more: words drop from the end
		k.typos += uint64(w.typos)
		k.attribute += uint64(w.attr)
		if w.exact {
			k.exact++
		}
		if prev >= 0 {
			k.proximity += uint64(distance(p, words[prev], w))
		}
		prev = i
	}
	return r.pack(k)
}

// rankKey is what the ranking rules look at, fewer being better for
// typos, proximity and attribute.
type rankKey struct {
	count, mask, typos, proximity, attribute, exact uint64
}

// pack puts k in one number, the rules in order from the highest bits.
func (r ranking) pack(k rankKey) float64 {
	key := k.count
	key = key<<maskBits | k.mask
	key = key<<typoBits | (1<<typoBits - 1 - min(k.typos, 1<<typoBits-1))
	key = key<<proximityBits | (1<<proximityBits - 1 - min(k.proximity, 1<<proximityBits-1))
	key = key<<attributeBits | (1<<attributeBits - 1 - min(k.attribute, 1<<attributeBits-1))
	if r.exactness {
		key = key<<exactBits | min(k.exact, 1<<exactBits-1)
	}
	if bits.Len64(key) > 53 {
		panic("search: rank key overflows a float64") // a change to the constants above
	}
	return float64(key)
}

// distance is how far apart two consecutive matched words are: 0 when one
// alternative stands for both ("head phones" as "headphones"), the words
// between them plus one, one more when in the wrong order, and
// maxProximity when further or never in the same attribute.
func distance(p *plan, a, b wordMatch) int {
	if a.alt == b.alt {
		return 0
	}
	aLen := len(p.alternatives[a.alt].terms)
	best := maxProximity
	for _, x := range a.starts {
		end := x.pos + aLen - 1
		for _, y := range b.starts {
			if x.attr != y.attr {
				continue
			}
			d := y.pos - end
			if d <= 0 {
				d = end - y.pos + 1
			}
			best = min(best, d)
		}
	}
	return best
}

// best returns a score no document can beat under the plan: every word
// matched with its fewest typos, exactly when it can be, next to the
// previous one (or within one alternative with it), in the first
// attribute.
func (r ranking) best(p *plan) float64 {
	n := len(p.words)
	typos := make([]int, n)
	exact := make([]bool, n)
	together := make([]bool, n) // word i and i+1 within one alternative
	for i := range typos {
		typos[i] = 1 << typoBits
	}
	for _, a := range p.alternatives {
		for i := a.first; i <= a.last; i++ {
			typos[i] = min(typos[i], a.typos)
			exact[i] = exact[i] || a.exact
			if i < a.last {
				together[i] = true
			}
		}
	}
	var k rankKey
	for i := range n {
		k.count++
		k.mask |= 1 << (maskBits - 1 - i)
		k.typos += uint64(typos[i])
		if exact[i] {
			k.exact++
		}
		if i > 0 && !together[i-1] {
			k.proximity++
		}
	}
	return r.pack(k)
}
