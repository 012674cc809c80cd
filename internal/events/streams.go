package events

import (
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/bus"
)

// Stream names.
const (
	// CatalogStream keeps the latest message per subject (one subject per
	// product and per category), like a compacted log, so that a new read
	// model rebuilds by replaying it.
	CatalogStream = "CATALOG"
	// AnalyticsStream holds search events and product statistics for 8 days.
	AnalyticsStream = "ANALYTICS"
	// DeadLetterStream holds the messages a consumer could not decode,
	// under DeadLetterPrefix + their original subject.
	DeadLetterStream = "DEADLETTER"
)

// Subjects.
const (
	CatalogSubjects       = "catalog.>"
	ProductSubjectPrefix  = "catalog.product."
	CategorySubjectPrefix = "catalog.category."
	AnalyticsSubjects     = "analytics.>"
	SearchSubject         = "analytics.search"   // one SearchPerformed per message (earlier versions)
	SearchesSubject       = "analytics.searches" // Searches: batches of them
	StatsSubject          = "analytics.stats"
	DeadLetterPrefix      = "dlq."
)

// Streams returns the streams of the application, for bus.Config.
func Streams() []bus.Stream {
	return []bus.Stream{
		{Name: CatalogStream, Subjects: []string{CatalogSubjects}, LatestPerSubject: true},
		{Name: AnalyticsStream, Subjects: []string{AnalyticsSubjects}, MaxAge: 8 * 24 * time.Hour},
		{Name: DeadLetterStream, Subjects: []string{DeadLetterPrefix + ">"}, MaxAge: 30 * 24 * time.Hour},
	}
}
