package modules

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchevents"
	"github.com/vitrine-dev/vitrine/internal/search/searchhttp"
)

// SearchConfig tunes the search service.
type SearchConfig struct {
	Synonyms string // synonyms file; empty: none
}

// RegisterFlags registers --synonyms.
func (c *SearchConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Synonyms, "synonyms", "", "search synonyms file: lines like \"tv, television\" or \"sofa => couch\"")
}

// startSearch opens this instance's own index and keeps it fed from the
// catalog stream.
func (a *App) startSearch(context.Context) error {
	svc, err := search.Open(filepath.Join(a.cfg.Store.DataDir, "search"), search.Options{
		SynonymsFile: a.cfg.Search.Synonyms,
		Recorder:     searchevents.Recorder{Bus: a.bus, Logger: a.logger},
		StreamLast:   func(ctx context.Context) (uint64, error) { return a.bus.LastSeq(ctx, events.CatalogStream) },
		Logger:       a.logger,
	})
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	a.closers = append(a.closers, svc.Close)
	// The status reads the stream's position: without the stream the index
	// still answers (eventually consistent), so the instance stays ready.
	a.softChecks["search_index"] = func(ctx context.Context) error { _, err := svc.Status(ctx); return err }
	a.metrics.Registry.MustRegister(svc.LagGauge())
	searchhttp.Routes(a.Router, svc)
	a.consume(searchevents.Consumers(svc))
	return nil
}
