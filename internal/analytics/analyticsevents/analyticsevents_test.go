package analyticsevents_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsevents"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// Searches arrive in batches; single searches, as earlier versions
// published them and the stream keeps for 8 days, still count; a batch sent
// twice, or a search in two batches, counts once.
func TestSearchesCountFromBatchesAndSingleMessages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := bustest.Open(t, false)
	store, err := analyticsdb.Open(ctx, sqltest.Config(t, sqldb.SQLite, "analytics"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := analytics.NewService(store, analytics.Config{})

	search := func(q string) events.SearchPerformed {
		return events.SearchPerformed{ID: uuid.Must(uuid.NewV7()).String(), Query: q, Results: 3, At: time.Now().UTC()}
	}
	lamp1, lamp2, sofa, old := search("lamp"), search("lamp"), search("sofa"), search("lamp")
	batch := events.Searches{ID: uuid.Must(uuid.NewV7()).String(), Searches: []events.SearchPerformed{lamp1, lamp2, sofa}}
	again := events.Searches{ID: uuid.Must(uuid.NewV7()).String(), Searches: []events.SearchPerformed{lamp1}}
	for _, p := range []struct {
		ev interface {
			Subject() string
			Encode() ([]byte, error)
		}
		id string
	}{{batch, batch.ID}, {batch, batch.ID}, {again, again.ID}, {old, old.ID}} {
		data, err := p.ev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, p.ev.Subject(), p.id, data); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range analyticsevents.Consumers(svc) {
		go c.Run(ctx, b)
	}

	counts := map[string]int64{}
	testwait.Until(t, 10*time.Second, "the searches are counted", func() bool {
		top, err := svc.TopSearches(ctx, analytics.TopSearchesQuery{Window: analytics.Window1h})
		if err != nil {
			t.Fatal(err)
		}
		clear(counts)
		for _, it := range top.Items {
			counts[it.Query] = it.Count
		}
		return counts["lamp"] == 3 && counts["sofa"] == 1
	})
	// Nothing more arrives: the duplicates stayed out.
	time.Sleep(300 * time.Millisecond)
	top, err := svc.TopSearches(ctx, analytics.TopSearchesQuery{Window: analytics.Window1h})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range top.Items {
		if want := map[string]int64{"lamp": 3, "sofa": 1}[it.Query]; it.Count != want {
			t.Errorf("%q counted %d times, want %d", it.Query, it.Count, want)
		}
	}
}
