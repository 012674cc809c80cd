package events

import (
	"errors"
	"fmt"
	"time"
)

// SearchPerformed is what one search query did. The search service
// publishes them in batches (Searches); messages of one event each, on
// SearchSubject, are what earlier versions published and are still read.
type SearchPerformed struct {
	Schema  int       `json:"schema,omitempty"`
	ID      string    `json:"id"` // unique; deduplicates redeliveries
	Query   string    `json:"query"`
	Results int       `json:"results"`
	At      time.Time `json:"at"`
	// Unknown lists, when the search found nothing, the words of its query
	// that the catalog holds in no form (exactly, with typos, as a prefix,
	// split or joined, or through a synonym): a synonym is what would
	// help. Empty when every word was known and the filters left nothing.
	Unknown []string `json:"unknown,omitempty"`
}

func (e *SearchPerformed) schemaVersion() *int { return &e.Schema }

func (e *SearchPerformed) check() error {
	if e.ID == "" {
		return errors.New("search event without an id")
	}
	return nil
}

// Subject is where the event is published.
func (SearchPerformed) Subject() string { return SearchSubject }

// Encode returns the payload of e.
func (e SearchPerformed) Encode() ([]byte, error) { return encode(&e) }

// DecodeSearchPerformed reads a search event; errors wrap ErrUndecodable.
func DecodeSearchPerformed(data []byte) (SearchPerformed, error) {
	var e SearchPerformed
	return e, decode(data, &e)
}

// Searches is a batch of search events: those a search instance gathered
// within 100 ms of the first, at most MaxSearchBatch. One replicated
// publish per search cost the cluster more than the searches themselves
// and, past 1,700 searches a second, lost events; one per batch costs
// little at any rate.
//
// Subject: SearchesSubject, on AnalyticsStream; published with ID as the
// message id, so a re-sent batch is dropped. Consumers count each search
// once by its own ID.
type Searches struct {
	Schema   int               `json:"schema,omitempty"`
	ID       string            `json:"id"`
	Searches []SearchPerformed `json:"searches"`
}

// MaxSearchBatch bounds a batch: 200 events of the longest queries (200
// characters, each word unknown to the catalog, about 2.6 KB encoded)
// stay under the stream's 1 MiB message limit.
const MaxSearchBatch = 200

func (e *Searches) schemaVersion() *int { return &e.Schema }

func (e *Searches) check() error {
	switch {
	case e.ID == "":
		return errors.New("search batch without an id")
	case len(e.Searches) == 0:
		return errors.New("empty search batch")
	case len(e.Searches) > MaxSearchBatch:
		return fmt.Errorf("search batch of %d events, more than %d", len(e.Searches), MaxSearchBatch)
	}
	return nil
}

// Subject is where the batch is published.
func (Searches) Subject() string { return SearchesSubject }

// Encode returns the payload of e.
func (e Searches) Encode() ([]byte, error) { return encode(&e) }

// DecodeSearches reads a batch of search events; errors wrap
// ErrUndecodable. An event of the batch without an id is left for the
// consumer to skip: the others still count.
func DecodeSearches(data []byte) (Searches, error) {
	var e Searches
	return e, decode(data, &e)
}

// ProductStats carries running totals, not deltas, so applying the same
// message twice is harmless.
//
// Subject: StatsSubject, on AnalyticsStream.
type ProductStats struct {
	Schema int           `json:"schema,omitempty"`
	Items  []ProductStat `json:"items"`
	At     time.Time     `json:"at"`
}

// ProductStat is the all-time totals of one product.
type ProductStat struct {
	ProductID string `json:"product_id"`
	Sales     int64  `json:"sales"`
	Views     int64  `json:"views"`
}

func (e *ProductStats) schemaVersion() *int { return &e.Schema }

func (e *ProductStats) check() error { return nil }

// Subject is where the event is published.
func (ProductStats) Subject() string { return StatsSubject }

// Encode returns the payload of e.
func (e ProductStats) Encode() ([]byte, error) { return encode(&e) }

// DecodeProductStats reads a statistics event; errors wrap ErrUndecodable.
func DecodeProductStats(data []byte) (ProductStats, error) {
	var e ProductStats
	return e, decode(data, &e)
}
