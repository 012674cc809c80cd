package search

import "context"

// unknownWords returns the words of the plan that the index holds in no
// form: no alternative of theirs has all its terms in the index. For a
// search that found nothing, they say what a synonym should cover.
func (s *Service) unknownWords(ctx context.Context, p *plan) ([]string, error) {
	v, err := s.openVocabulary(ctx, p.field)
	if err != nil {
		return nil, err
	}
	defer v.close()
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
