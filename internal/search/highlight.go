package search

import (
	"html"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
)

// fragmentSize is about how many bytes of a long text a highlight shows.
const fragmentSize = 200

var wordTokenizer = unicode.NewUnicodeTokenizer()

// highlight returns text, HTML-escaped, with the words whose index terms
// are in terms in <mark> tags; a text longer than fragmentSize is cut to
// a fragment from a little before the first match, "…" marking the cuts.
// ok is false when no word matched.
func (s *Service) highlight(text string, terms map[string]bool) (out string, ok bool) {
	type span struct{ start, end int }
	var marks []span
	if isASCII(text) {
		// one pass: the analyzer's offsets are the text's
		for _, t := range s.text.Analyze([]byte(text)) {
			if terms[string(t.Term)] {
				marks = append(marks, span{t.Start, t.End})
			}
		}
	} else {
		// folding "é" to "e" shortens the text the analyzer's offsets
		// count in: analyze word by word
		for _, t := range wordTokenizer.Tokenize([]byte(text)) {
			for _, a := range s.text.Analyze(t.Term) {
				if terms[string(a.Term)] {
					marks = append(marks, span{t.Start, t.End})
					break
				}
			}
		}
	}
	if len(marks) == 0 {
		return "", false
	}
	from, to := 0, len(text)
	if len(text) > fragmentSize {
		tokens := wordTokenizer.Tokenize([]byte(text))
		// start at the word that begins at most a fifth of a fragment
		// before the first match, and end at the last word that fits
		from = marks[0].start
		for _, t := range tokens {
			if t.Start >= marks[0].start-fragmentSize/5 {
				from = t.Start
				break
			}
		}
		to = from
		for _, t := range tokens {
			if t.Start >= from && t.End-from <= fragmentSize {
				to = t.End
			}
		}
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	at := from
	for _, m := range marks {
		if m.start < from || m.end > to {
			continue
		}
		b.WriteString(html.EscapeString(text[at:m.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[m.start:m.end]))
		b.WriteString("</mark>")
		at = m.end
	}
	b.WriteString(html.EscapeString(text[at:to]))
	if to < len(text) {
		b.WriteString("…")
	}
	return b.String(), true
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
