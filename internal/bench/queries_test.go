package bench

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// vocabulary is 500 words and phrases a catalog might yield.
func vocabulary() []string {
	var out []string
	for i := range 250 {
		out = append(out, fmt.Sprintf("word%03d", i), fmt.Sprintf("word%03d phrase", i))
	}
	return out
}

func TestQueryMixIsFixedBySeed(t *testing.T) {
	a, b := newQueryMix(vocabulary(), 7), newQueryMix(vocabulary(), 7)
	if !slices.Equal(a.queries, b.queries) || !slices.Equal(a.cumulative, b.cumulative) {
		t.Error("the same seed gave two distributions")
	}
	// The order of the candidates does not matter, only the seed.
	reversed := vocabulary()
	slices.Reverse(reversed)
	if c := newQueryMix(reversed, 7); !slices.Equal(a.queries, c.queries) {
		t.Error("the candidates' order changed the distribution")
	}
	if d := newQueryMix(vocabulary(), 8); slices.Equal(a.queries[:10], d.queries[:10]) {
		t.Error("another seed gave the same most popular queries")
	}
}

// TestQueryMixHasPopularQueriesARareTailAndTypos draws as a run does and
// checks the shape: the top query takes its Zipf share (1/H(500), about
// 15%), the top ten about 40%, hundreds of queries are seen at least once,
// and a few percent are misspellings of known queries.
func TestQueryMixHasPopularQueriesARareTailAndTypos(t *testing.T) {
	vocab := vocabulary()
	m := newQueryMix(vocab, 1)
	known := map[string]bool{}
	for _, q := range vocab {
		known[q] = true
	}
	if m.typos < 50 || m.typos > 200 {
		t.Errorf("%d misspelt variants of 500 queries, want about one in %d", m.typos, typoOdds)
	}

	const draws = 20_000
	counts := map[string]int{}
	typos := 0
	for range draws {
		q := m.draw()
		counts[q]++
		if !known[q] {
			typos++
		}
	}
	byCount := slices.SortedFunc(func(yield func(int) bool) {
		for _, n := range counts {
			if !yield(n) {
				return
			}
		}
	}, func(a, b int) int { return b - a })
	top10 := 0
	for _, n := range byCount[:10] {
		top10 += n
	}
	if share := float64(byCount[0]) / draws; share < 0.11 || share > 0.19 {
		t.Errorf("most popular query: %.1f%% of searches, want about 15%%", 100*share)
	}
	if share := float64(top10) / draws; share < 0.33 || share > 0.50 {
		t.Errorf("ten most popular queries: %.1f%% of searches, want about 40%%", 100*share)
	}
	if len(counts) < 300 {
		t.Errorf("only %d distinct queries in %d searches: the tail is missing", len(counts), draws)
	}
	if share := float64(typos) / draws; share < 0.01 || share > 0.12 {
		t.Errorf("%.1f%% of searches misspelt, want a few percent", 100*share)
	}
}

func TestMisspellingsStayCloseToTheWord(t *testing.T) {
	checked := 0
	for seed := range uint64(40) {
		m := newQueryMix([]string{"walnut table", "oak", "lamp"}, seed)
		for _, q := range m.queries {
			switch q {
			case "walnut table", "oak", "lamp":
				continue
			}
			checked++
			// Only words of five letters or more are misspelt, by one slip
			// that keeps their first letter.
			if len(q) < len("walnut table")-1 || len(q) > len("walnut table")+1 || q[0] != 'w' || !strings.Contains(q, " t") {
				t.Errorf("misspelling %q is not one slip away from %q", q, "walnut table")
			}
		}
	}
	if checked == 0 {
		t.Fatal("no seed of 40 misspelt anything")
	}
}

func TestQueryCandidatesAreWordsPhrasesAndBrands(t *testing.T) {
	got := queryCandidates([]string{"Oak Chair 01", "Walnut Side-Table"}, []string{"Acme"})
	want := []string{"oak", "chair", "oak chair", "walnut", "side", "table", "walnut side", "side table", "acme"}
	if !slices.Equal(got, want) {
		t.Errorf("candidates %q, want %q", got, want)
	}
}
