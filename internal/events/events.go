// Package events holds the payloads that services exchange over the event
// stream. It is the only thing publishers and consumers share: no service
// imports another.
package events

import (
	"encoding/json"
	"time"
)

// Catalog stream: one subject per product and per category, keeping only
// the latest message of each so the stream can rebuild a read model.
const (
	CatalogStream         = "CATALOG"
	CatalogSubjects       = "catalog.>"
	ProductSubjectPrefix  = "catalog.product."
	CategorySubjectPrefix = "catalog.category."
)

// Operations carried by catalog events.
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// ProductChanged says a product was created, replaced or deleted. Product
// holds its full JSON representation for upserts.
type ProductChanged struct {
	Op      string          `json:"op"`
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Product json.RawMessage `json:"product,omitempty"`
	At      time.Time       `json:"at"`
}

// CategoryChanged says a category was created, changed or deleted.
type CategoryChanged struct {
	Op     string    `json:"op"`
	Slug   string    `json:"slug"`
	Name   string    `json:"name,omitempty"`
	Parent string    `json:"parent,omitempty"`
	At     time.Time `json:"at"`
}

// Analytics stream: client events accepted by the analytics service, search
// events emitted by the search service, and product statistics published
// back by analytics.
const (
	AnalyticsStream   = "ANALYTICS"
	AnalyticsSubjects = "analytics.>"
	SearchSubject     = "analytics.search"
	StatsSubject      = "analytics.stats"
)

// SearchPerformed is emitted (asynchronously) for every search query.
type SearchPerformed struct {
	ID      string    `json:"id"` // unique; deduplicates redeliveries
	Query   string    `json:"query"`
	Results int       `json:"results"`
	At      time.Time `json:"at"`
}

// ProductStats carries running totals, not deltas, so applying the same
// message twice is harmless.
type ProductStats struct {
	Items []ProductStat `json:"items"`
	At    time.Time     `json:"at"`
}

// ProductStat is the all-time totals of one product.
type ProductStat struct {
	ProductID string `json:"product_id"`
	Sales     int64  `json:"sales"`
	Views     int64  `json:"views"`
}
