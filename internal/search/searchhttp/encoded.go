package searchhttp

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// encoded keeps the responses of repeated searches and suggestions ready
// to send (body, entity tag, compressed copies), so that a repeated query
// is not encoded again. Search results are kept by the result the search
// service returned: it caches them per query until the index changes and
// then returns new ones, so a response is never older than its result.
// Suggestions are kept by the index's generation and the text.
type encoded struct {
	results     *otter.Cache[*search.Result, *httpx.Representation]
	suggestions *otter.Cache[string, *httpx.Representation]
}

const (
	encodedSize = 20_000 // as many as the search service keeps results
	encodedTTL  = 10 * time.Minute
)

func newEncoded() *encoded {
	return &encoded{
		results: otter.Must(&otter.Options[*search.Result, *httpx.Representation]{
			MaximumSize:      encodedSize,
			ExpiryCalculator: otter.ExpiryWriting[*search.Result, *httpx.Representation](encodedTTL),
		}),
		suggestions: otter.Must(&otter.Options[string, *httpx.Representation]{
			MaximumSize:      encodedSize,
			ExpiryCalculator: otter.ExpiryWriting[string, *httpx.Representation](encodedTTL),
		}),
	}
}

// result returns the response for res.
func (e *encoded) result(res *search.Result) (*httpx.Representation, error) {
	if rep, ok := e.results.GetIfPresent(res); ok {
		return rep, nil
	}
	rep, err := representation(res)
	if err != nil {
		return nil, err
	}
	e.results.Set(res, rep)
	return rep, nil
}

// suggestionsKey names the suggestions for text under generation gen.
func suggestionsKey(gen uint64, text string) string {
	return strconv.FormatUint(gen, 10) + "\x00" + text
}

func representation(v any) (*httpx.Representation, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return httpx.NewRepresentation(body, httpx.ETagOf("", body)), nil
}
