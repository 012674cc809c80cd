package search

import (
	"reflect"
	"strings"
	"testing"
)

// analyzeWords stands in for the index analyzer: lowercase words, "the" as
// the only stop word.
func analyzeWords(s string) []string {
	var out []string
	for _, w := range strings.Fields(strings.ToLower(s)) {
		if w == "the" {
			w = ""
		}
		out = append(out, w)
	}
	return out
}

func TestParseSynonyms(t *testing.T) {
	syn, err := parseSynonyms(strings.NewReader(`
# comment
TV, television, telly
sofa, settee => couch
smart phone => smartphone
bag => the bag
`), analyzeWords)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		terms []string
		want  [][]string
	}{
		{[]string{"tv"}, [][]string{{"television"}, {"telly"}}},
		{[]string{"telly"}, [][]string{{"tv"}, {"television"}}},
		{[]string{"sofa"}, [][]string{{"couch"}}},
		{[]string{"settee"}, [][]string{{"couch"}}},
		{[]string{"couch"}, nil}, // one way
		{[]string{"smart", "phone"}, [][]string{{"smartphone"}}},
		{[]string{"smartphone"}, nil},
		{[]string{"bag"}, nil}, // "the bag" is "bag": nothing to add
	} {
		if got := syn.lookup(tc.terms); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.terms, got, tc.want)
		}
	}
	if syn.longest != 2 {
		t.Errorf("longest %d", syn.longest)
	}
	for _, bad := range []string{"tv", "tv,", "=> couch", "sofa =>", "a, , b"} {
		if _, err := parseSynonyms(strings.NewReader(bad), analyzeWords); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}
