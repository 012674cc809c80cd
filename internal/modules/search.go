package modules

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchevents"
	"github.com/vitrine-dev/vitrine/internal/search/searchhttp"
	"github.com/vitrine-dev/vitrine/internal/search/searchsnap"
)

// SearchConfig tunes the search service.
type SearchConfig struct {
	Synonyms string // synonyms file; empty: none
	// Snapshots of the index, kept in the blob store of --blob-url.
	SnapshotInterval time.Duration
	SnapshotEvery    uint64
	SnapshotKeep     int
	SnapshotMaxAge   time.Duration
}

// RegisterFlags registers --synonyms and the --search-snapshot-* flags.
func (c *SearchConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Synonyms, "synonyms", "", "search synonyms file: lines like \"tv, television\" or \"sofa => couch\"")
	f.DurationVar(&c.SnapshotInterval, "search-snapshot-interval", time.Hour, "a search instance snapshots its index into the blob store of --blob-url (else under --data-dir/snapshots) at least this often while the catalog changes; 0: not on a timer")
	f.Uint64Var(&c.SnapshotEvery, "search-snapshot-every", 100_000, "a search instance also snapshots its index once this many catalog events were applied since the last snapshot (bulk changes); 0: never")
	f.IntVar(&c.SnapshotKeep, "search-snapshot-keep", 3, "search index snapshots kept in the blob store; older ones are deleted")
	f.DurationVar(&c.SnapshotMaxAge, "search-snapshot-max-age", 7*24*time.Hour, "a search instance that starts without an index restores the newest snapshot younger than this, else rebuilds from the catalog stream")
}

// Validate checks the snapshot settings.
func (c SearchConfig) Validate() error {
	switch {
	case c.SnapshotInterval < 0:
		return errors.New("--search-snapshot-interval must not be negative")
	case c.SnapshotKeep < 1:
		return errors.New("--search-snapshot-keep must be at least 1")
	case c.SnapshotMaxAge <= 0:
		return errors.New("--search-snapshot-max-age must be positive")
	}
	return nil
}

// snapshotPrefix is where search index snapshots live in the blob store,
// apart from pictures.
const snapshotPrefix = "search-snapshots/"

// startSearch opens this instance's own index, from the newest snapshot
// when it has none, and keeps it fed from the catalog stream.
func (a *App) startSearch(ctx context.Context) error {
	dir := filepath.Join(a.cfg.Store.DataDir, "search")
	snaps, err := a.searchSnapshots(ctx)
	if err != nil {
		return err
	}
	fresh := !search.HasIndex(dir)
	if fresh {
		a.restoreSearchIndex(ctx, snaps, dir)
	}
	svc, err := search.Open(dir, search.Options{
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
	if fresh {
		// A new instance (restored or rebuilding) must not serve an old
		// catalog: it is ready once it has applied the stream as it was
		// when the instance started.
		a.checks["search_caught_up"] = a.catchUpCheck(ctx, svc)
	}
	a.metrics.Registry.MustRegister(svc.LagGauge())
	searchhttp.Routes(a.Router, svc, a.cfg.Edge.SharedCache())
	a.consume(searchevents.Consumers(svc))
	snapshotter := &searchsnap.Snapshotter{Store: snaps, Index: svc, WorkDir: dir, Position: a.catalogPosition,
		Schedule: searchsnap.Schedule{Interval: a.cfg.Search.SnapshotInterval, Every: a.cfg.Search.SnapshotEvery,
			Keep: a.cfg.Search.SnapshotKeep}}
	a.background = append(a.background, snapshotter.Run)
	return nil
}

func (a *App) catalogPosition(ctx context.Context) (time.Time, uint64, error) {
	return a.bus.Position(ctx, events.CatalogStream)
}

// searchSnapshots opens where index snapshots are kept: the blob store of
// --blob-url, shared by every instance, or else --data-dir/snapshots,
// apart from the pictures.
func (a *App) searchSnapshots(ctx context.Context) (*searchsnap.Store, error) {
	blobURL := a.cfg.Product.BlobURL
	if blobURL == "" {
		dir, err := filepath.Abs(filepath.Join(a.cfg.Store.DataDir, "snapshots"))
		if err != nil {
			return nil, fmt.Errorf("search snapshots: %w", err)
		}
		blobURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	}
	blobs, err := blobstore.Open(ctx, blobURL)
	if err != nil {
		return nil, fmt.Errorf("--blob-url: %w", err)
	}
	a.closers = append(a.closers, blobs.Close)
	prefix := snapshotPrefix
	if a.cfg.Namespace != "" {
		prefix += a.cfg.Namespace + "/"
	}
	return searchsnap.New(blobs, prefix, a.logger), nil
}

// restoreSearchIndex puts the newest usable snapshot into dir. Without one
// (or without the stream's position to judge them by) the index starts
// empty and is rebuilt from the stream.
func (a *App) restoreSearchIndex(ctx context.Context, snaps *searchsnap.Store, dir string) {
	start := time.Now()
	created, last, err := a.catalogPosition(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "search: catalog stream position unknown; rebuilding the index from the stream", "err", err)
		return
	}
	m, ok, err := snaps.Restore(ctx, dir, searchsnap.Usable{Schema: search.Schema, StreamCreated: created, StreamLast: last,
		MaxAge: a.cfg.Search.SnapshotMaxAge, Now: time.Now()})
	switch {
	case err != nil:
		a.logger.WarnContext(ctx, "search: snapshots unavailable; rebuilding the index from the stream", "err", err)
	case !ok:
		a.logger.InfoContext(ctx, "search: no usable snapshot; rebuilding the index from the stream", "stream_last", last)
	default:
		a.logger.InfoContext(ctx, "search: index restored from a snapshot", "object", m.Object, "seq", m.Seq,
			"documents", m.Documents, "stream_last", last, "took", time.Since(start).Round(time.Millisecond))
	}
}

// catchUpCheck fails until svc has applied the catalog stream up to its
// last sequence as first read; then it always passes.
func (a *App) catchUpCheck(ctx context.Context, svc *search.Service) func(context.Context) error {
	var target atomic.Int64 // -1 while unknown
	target.Store(-1)
	if _, last, err := a.catalogPosition(ctx); err == nil {
		target.Store(int64(last))
	}
	var caughtUp atomic.Bool
	return func(ctx context.Context) error {
		if caughtUp.Load() {
			return nil
		}
		if target.Load() < 0 {
			_, last, err := a.catalogPosition(ctx)
			if err != nil {
				return fmt.Errorf("catalog stream position unknown: %w", err)
			}
			target.Store(int64(last))
		}
		applied, want := svc.LastApplied(), uint64(target.Load())
		if applied < want {
			return fmt.Errorf("catching up with the catalog stream: %d of %d applied", applied, want)
		}
		caughtUp.Store(true)
		return nil
	}
}
