package search

// editDistance is the number of typos between a and b: letters inserted,
// deleted, replaced, or two neighbours swapped (the optimal string
// alignment distance).
func editDistance(a, b string) int {
	return osa([]rune(a), []rune(b))
}

// prefixDistance is the fewest typos between typed and a start of term
// ("hedph" is one from "headph", the start of "headphone"), or budget+1
// when there are more than budget.
func prefixDistance(typed, term string, budget int) int {
	t, r := []rune(typed), []rune(term)
	best := budget + 1
	for n := max(1, len(t)-budget); n <= min(len(r), len(t)+budget); n++ {
		best = min(best, osa(t, r[:n]))
	}
	return best
}

func osa(a, b []rune) int {
	// three rows of the dynamic programme: two back, one back, this one
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
