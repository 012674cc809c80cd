package events

import (
	"errors"
	"time"
)

// SearchPerformed is emitted (asynchronously) for every search query.
//
// Subject: SearchSubject, on AnalyticsStream; published with ID as the
// message id, so a re-sent event is dropped.
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
