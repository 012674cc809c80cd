package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// The shape of the search traffic. Query logs of shops follow a Zipf law
// with an exponent near 1: the most popular query is searched about twice
// as often as the second and ten times as often as the tenth, and a long
// tail is searched once in a while. Some searches are misspelt; a misspelt
// query is itself searched again by other shoppers, less often than the
// right spelling.
const (
	zipfExponent = 1.0
	typoOdds     = 4   // one query in 4 has a misspelt variant...
	typoWeight   = 0.2 // ...searched a fifth as often as the query
	typoMinRunes = 5   // shorter words misspelt become other words
	maxQueries   = 20_000
)

// QueryMix draws search queries from a fixed distribution: the queries
// discovered in the catalog, ranked in an order drawn from the seed, with
// Zipf weights and misspelt variants. The same queries and seed give the
// same distribution; draws themselves are random.
type QueryMix struct {
	queries    []string
	cumulative []float64 // cumulative[i]: weight of queries[0..i]
	typos      int
}

// newQueryMix ranks candidates (deduplicated; their order does not matter)
// with a generator seeded by seed.
func newQueryMix(candidates []string, seed uint64) *QueryMix {
	uniq := slices.Compact(slices.Sorted(slices.Values(candidates)))
	uniq = slices.DeleteFunc(uniq, func(q string) bool { return q == "" })
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(uniq), func(i, j int) { uniq[i], uniq[j] = uniq[j], uniq[i] })
	if len(uniq) > maxQueries {
		uniq = uniq[:maxQueries]
	}
	m := &QueryMix{}
	known := map[string]bool{}
	for _, q := range uniq {
		known[q] = true
	}
	total := 0.0
	add := func(q string, w float64) {
		total += w
		m.queries = append(m.queries, q)
		m.cumulative = append(m.cumulative, total)
	}
	for rank, q := range uniq {
		w := 1 / math.Pow(float64(rank+1), zipfExponent)
		add(q, w)
		if rng.IntN(typoOdds) == 0 {
			if t, ok := misspell(q, rng); ok && !known[t] {
				known[t] = true
				add(t, w*typoWeight)
				m.typos++
			}
		}
	}
	return m
}

// NewQueryMix is the search traffic `vitrine bench` sends to a catalog
// with these product names and brands, for benchmarks that replay it
// in process (the search service's).
func NewQueryMix(names, brands []string, seed uint64) *QueryMix {
	return newQueryMix(queryCandidates(names, brands), seed)
}

// draw returns a query with its probability in the distribution.
func (m *QueryMix) draw() string { return m.at(rand.Float64()) }

// Draw is draw with a generator of the caller's, for repeatable runs.
func (m *QueryMix) Draw(rng *rand.Rand) string { return m.at(rng.Float64()) }

// at returns the query at u, in [0, 1), of the cumulative weights.
func (m *QueryMix) at(u float64) string {
	return m.queries[sort.SearchFloat64s(m.cumulative, u*m.cumulative[len(m.cumulative)-1])]
}

// misspell makes one of the slips shoppers make in a word of q long enough
// to survive it: a letter dropped, two letters swapped, or one doubled.
func misspell(q string, rng *rand.Rand) (string, bool) {
	words := strings.Fields(q)
	var long []int
	for i, w := range words {
		if len([]rune(w)) >= typoMinRunes {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return "", false
	}
	i := long[rng.IntN(len(long))]
	r := []rune(words[i])
	at := 1 + rng.IntN(len(r)-2) // the first letter stays, as in most slips
	switch rng.IntN(3) {
	case 0:
		r = slices.Delete(r, at, at+1)
	case 1:
		r[at], r[at+1] = r[at+1], r[at]
	default:
		r = slices.Insert(r, at, r[at])
	}
	words[i] = string(r)
	t := strings.Join(words, " ")
	return t, t != q
}

// queryCandidates are what shoppers search for in a catalog: the words of
// product names, pairs of adjacent words ("oak chair"), and brands.
func queryCandidates(names, brands []string) []string {
	var out []string
	for _, name := range names {
		words := nameWords(name, "")
		out = append(out, words...)
		for i := 1; i < len(words); i++ {
			out = append(out, words[i-1]+" "+words[i])
		}
	}
	for _, b := range brands {
		if b = strings.ToLower(strings.TrimSpace(b)); b != "" {
			out = append(out, b)
		}
	}
	return out
}
