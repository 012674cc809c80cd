package search

import (
	"context"
	"errors"

	index "github.com/blevesearch/bleve_index_api"
)

// vocabulary looks terms of a field up in one index snapshot.
type vocabulary struct {
	ctx   context.Context
	r     index.IndexReader
	field string
}

// openVocabulary looks terms of field up in a snapshot of the index until
// close.
func (s *Service) openVocabulary(ctx context.Context, field string) (vocabulary, error) {
	adv, err := s.index.Advanced()
	if err != nil {
		return vocabulary{}, err
	}
	r, err := adv.Reader()
	if err != nil {
		return vocabulary{}, err
	}
	return vocabulary{ctx: ctx, r: r, field: field}, nil
}

// close releases the index snapshot.
func (v vocabulary) close() error { return v.r.Close() }

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
