package search

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// synonyms maps a phrase (analyzed terms joined by spaces) to the phrases a
// query for it also searches. A phrase is a list of index terms where ""
// stands for a stop word (a gap the phrase keeps). Expansion happens at query time, so changing
// the file needs no reindexing.
type synonyms struct {
	alternatives map[string][][]string
	longest      int // the most terms in a left-hand phrase
}

// loadSynonyms reads a synonyms file. Each line is either an equivalence,
// "tv, television", where every phrase also finds the others, or a one-way
// mapping, "sofa => couch", where a query for sofa also finds couch (and
// still finds sofa) but not the other way round. Blank lines and lines
// starting with # are ignored. analyze turns a phrase into index terms,
// with "" for the stop words it drops.
func loadSynonyms(path string, analyze func(string) []string) (*synonyms, error) {
	if path == "" {
		return &synonyms{alternatives: map[string][][]string{}}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("synonyms: %w", err)
	}
	defer f.Close()
	syn, err := parseSynonyms(f, analyze)
	if err != nil {
		return nil, fmt.Errorf("synonyms %s: %w", path, err)
	}
	return syn, nil
}

func parseSynonyms(r io.Reader, analyze func(string) []string) (*synonyms, error) {
	s := &synonyms{alternatives: map[string][][]string{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		phrases := func(list string) ([][]string, error) {
			var out [][]string
			for _, p := range strings.Split(list, ",") {
				if strings.TrimSpace(p) == "" {
					return nil, fmt.Errorf("line %d: empty phrase", line)
				}
				if terms := analyze(p); len(contentTerms(terms)) > 0 { // a phrase of stop words finds nothing
					out = append(out, terms)
				}
			}
			return out, nil
		}
		if lhs, rhs, oneWay := strings.Cut(text, "=>"); oneWay {
			from, err := phrases(lhs)
			if err != nil {
				return nil, err
			}
			to, err := phrases(rhs)
			if err != nil {
				return nil, err
			}
			for _, f := range from {
				s.add(f, to)
			}
			continue
		}
		all, err := phrases(text)
		if err != nil {
			return nil, err
		}
		if len(all) < 2 {
			return nil, fmt.Errorf("line %d: an equivalence needs at least two phrases separated by commas", line)
		}
		for i, f := range all {
			s.add(f, append(append([][]string(nil), all[:i]...), all[i+1:]...))
		}
	}
	return s, sc.Err()
}

func (s *synonyms) add(from []string, to [][]string) {
	key := phraseKey(from)
	for _, t := range to {
		if phraseKey(t) == key || slices.ContainsFunc(s.alternatives[key], func(p []string) bool { return phraseKey(p) == phraseKey(t) }) {
			continue
		}
		s.alternatives[key] = append(s.alternatives[key], t)
	}
	s.longest = max(s.longest, len(contentTerms(from)))
}

// phraseKey is how a phrase is looked up: queries ignore stop words.
func phraseKey(terms []string) string { return strings.Join(contentTerms(terms), " ") }

func contentTerms(terms []string) []string {
	return slices.DeleteFunc(slices.Clone(terms), func(t string) bool { return t == "" })
}

// lookup returns the alternatives of the words terms (no stop words), if any.
func (s *synonyms) lookup(terms []string) [][]string {
	return s.alternatives[strings.Join(terms, " ")]
}
