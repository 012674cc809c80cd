// Package search is the search service: full-text search over the active
// products of the catalog, in a Bleve index of its own on local disk, fed by
// the catalog event stream. It matches and ranks as Meilisearch does by
// default (plan.go, alternatives.go, rank.go): word dropping, typos by
// word length, prefixes with typos on the last word, split and joined
// words, plurals, synonyms, and the ranking rules before the sort. It
// offers highlighting, filters, sorts, exact totals, disjunctive facets
// and suggestions, and it reports each query to analytics without
// delaying it.
//
// The index is a read model: losing it loses nothing. A missing, corrupt or
// outdated index is recreated empty, LastApplied reports 0, and the caller
// replays the catalog stream from its start.
package search

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/prometheus/client_golang/prometheus"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// Recorder receives the events of search queries in batches: whatever
// queued while it was busy with the previous batch, at most
// events.MaxSearchBatch. It is called from a single goroutine of the
// service, never from the request, so a slow recorder delays nobody; when
// it falls behind, events are dropped and counted.
type Recorder interface {
	RecordSearches([]events.SearchPerformed)
}

// Options configure a Service. The zero value is usable.
type Options struct {
	// SynonymsFile is a synonyms file ("tv, television" or "sofa => couch"
	// per line); empty means none.
	SynonymsFile string
	// Recorder receives a SearchPerformed event for each search with a
	// non-empty q, in batches; nil records nothing.
	Recorder Recorder
	// RecordBuffer is how many search events may wait for the recorder
	// before new ones are dropped (default 1024).
	RecordBuffer int
	// StreamLast returns the last sequence of the catalog stream, so that
	// Status can show the index lag; nil leaves it out.
	StreamLast func(ctx context.Context) (uint64, error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service searches the catalog index and applies catalog events to it. It is
// safe for concurrent use.
type Service struct {
	index    bleve.Index
	path     string            // of the index
	text     analysis.Analyzer // textAnalyzer
	word     analysis.Analyzer // wordAnalyzer
	synonyms *synonyms
	log      *slog.Logger
	opts     Options

	writeMu       sync.Mutex // serialises the read-check-write of Apply*
	lastApplied   atomic.Uint64
	lastAppliedAt atomic.Int64 // unix nanoseconds, 0 when never
	categories    atomic.Pointer[categoryTree]
	results       *resultCache
	state         *stateStore

	records   chan events.SearchPerformed
	dropped   atomic.Uint64
	stop      chan struct{}
	recorded  chan struct{} // closed when the recorder goroutine has ended
	closeOnce sync.Once
	closeErr  error
}

// Keys of the index's internal storage.
var (
	keySchema      = []byte("schema")
	keyLastApplied = []byte("last_applied") // seq (8 bytes) + unix nanos (8 bytes)
	keyCategories  = []byte("categories")   // JSON map slug -> categoryRecord
)

const (
	stateFileName    = "state.db"
	versionKeyPrefix = "v/" // + product id -> version state, tombstones included
	statsKeyPrefix   = "s/" // + product id -> sales, views
)

// indexDirName is the directory under Open's dir that holds the index; Open
// only ever deletes that.
const indexDirName = "catalog.bleve"

// lockTimeout bounds the wait for an index that another process holds open.
const lockTimeout = "3s"

// Open opens the search index under dir, creating it when missing and
// recreating it empty when it is corrupt or of an older schema.
func Open(dir string, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RecordBuffer <= 0 {
		opts.RecordBuffer = 1024
	}
	m, err := newIndexMapping()
	if err != nil {
		return nil, fmt.Errorf("search: index mapping: %w", err)
	}
	s := &Service{
		text: m.AnalyzerNamed(textAnalyzer),
		word: m.AnalyzerNamed(wordAnalyzer),
		log:  opts.Logger.With("service", "search"),
		opts: opts,
		stop: make(chan struct{}), recorded: make(chan struct{}),
	}
	if s.synonyms, err = loadSynonyms(opts.SynonymsFile, s.phrase); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var fresh bool
	s.path = filepath.Join(dir, indexDirName)
	if s.index, fresh, err = openIndex(s.path, m, s.log); err != nil {
		return nil, err
	}
	if s.state, err = openState(filepath.Join(dir, stateFileName), fresh); err != nil {
		_ = s.index.Close()
		return nil, err
	}
	if err := s.loadState(); err != nil {
		_ = s.index.Close()
		_ = s.state.close()
		return nil, err
	}
	s.results = newResultCache()
	if opts.Recorder != nil {
		s.records = make(chan events.SearchPerformed, opts.RecordBuffer)
		go s.recordLoop()
	} else {
		close(s.recorded)
	}
	return s, nil
}

// openIndex opens the index at path, creating it (fresh=true) when it is
// missing or unusable.
func openIndex(path string, m mapping.IndexMapping, log *slog.Logger) (idx bleve.Index, fresh bool, err error) {
	idx, err = openOrCreateIndex(path, m, log, &fresh)
	return idx, fresh, err
}

func openOrCreateIndex(path string, m mapping.IndexMapping, log *slog.Logger, fresh *bool) (bleve.Index, error) {
	config := map[string]any{"bolt_timeout": lockTimeout}
	create := func() (bleve.Index, error) {
		*fresh = true
		idx, err := bleve.NewUsing(path, m, scorch.Name, scorch.Name, config)
		if err != nil {
			return nil, fmt.Errorf("search: create index %s: %w", path, err)
		}
		if err := idx.SetInternal(keySchema, []byte(schemaVersion)); err != nil {
			_ = idx.Close()
			return nil, fmt.Errorf("search: create index %s: %w", path, err)
		}
		return idx, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return create()
	}
	idx, err := bleve.OpenUsing(path, config)
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("search: index %s is held open by another process", path)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("search: open index: %w", err)
	case err != nil:
		log.Warn("search index unreadable; recreating it empty for a replay", "path", path, "err", err)
	default:
		schema, err := idx.GetInternal(keySchema)
		if err == nil && string(schema) == schemaVersion {
			return idx, nil
		}
		_ = idx.Close()
		log.Warn("search index has another schema; recreating it empty for a replay", "path", path,
			"schema", string(schema), "want", schemaVersion, "err", err)
	}
	if err := os.RemoveAll(path); err != nil {
		return nil, fmt.Errorf("search: remove unusable index: %w", err)
	}
	return create()
}

// loadState reads what the index remembers besides documents.
func (s *Service) loadState() error {
	raw, err := s.index.GetInternal(keyLastApplied)
	if err != nil {
		return fmt.Errorf("search: read last applied sequence: %w", err)
	}
	if len(raw) == 16 {
		s.lastApplied.Store(binary.BigEndian.Uint64(raw))
		s.lastAppliedAt.Store(int64(binary.BigEndian.Uint64(raw[8:])))
	}
	records := map[string]categoryRecord{}
	raw, err = s.index.GetInternal(keyCategories)
	if err != nil {
		return fmt.Errorf("search: read categories: %w", err)
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &records); err != nil {
			return fmt.Errorf("search: decode categories: %w", err)
		}
	}
	s.categories.Store(newCategoryTree(records))
	return nil
}

// Close stops recording search events and closes the index. Events still
// buffered get a short grace period to reach the recorder.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		select {
		case <-s.recorded:
		case <-time.After(2 * time.Second):
			s.log.Warn("search event recorder did not finish; closing without it")
		}
		s.closeErr = errors.Join(s.index.Close(), s.state.close())
	})
	return s.closeErr
}

// LastApplied returns the sequence of the last catalog stream message
// applied to the index; 0 means the stream must be replayed from its start.
func (s *Service) LastApplied() uint64 { return s.lastApplied.Load() }

// Status describes the index and how far it lags behind the catalog.
type Status struct {
	Documents     uint64     `json:"documents"`
	LastApplied   uint64     `json:"last_applied"`
	LastAppliedAt *time.Time `json:"last_applied_at"`
	StreamLast    *uint64    `json:"stream_last,omitempty"`
	Lag           *uint64    `json:"lag,omitempty"`
	EventsDropped uint64     `json:"search_events_dropped"`
}

// Status reports the index's size and lag. The stream position is left out
// when Options.StreamLast is nil or fails.
func (s *Service) Status(ctx context.Context) (Status, error) {
	n, err := s.index.DocCount()
	if err != nil {
		return Status{}, fmt.Errorf("search: count documents: %w", err)
	}
	st := Status{Documents: n, LastApplied: s.LastApplied(), EventsDropped: s.dropped.Load()}
	if at := s.lastAppliedAt.Load(); at != 0 {
		t := time.Unix(0, at).UTC()
		st.LastAppliedAt = &t
	}
	if s.opts.StreamLast != nil {
		last, err := s.opts.StreamLast(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "catalog stream position unavailable", "err", err)
		} else {
			lag := uint64(0)
			if last > st.LastApplied {
				lag = last - st.LastApplied
			}
			st.StreamLast, st.Lag = &last, &lag
		}
	}
	return st, nil
}

// phrase analyzes text as indexed text is analyzed, keeping a "" where a
// stop word was, so that phrase queries keep its place.
func (s *Service) phrase(text string) []string {
	var out []string
	prev := 0
	for _, t := range s.text.Analyze([]byte(text)) {
		if prev != 0 {
			for range t.Position - prev - 1 {
				out = append(out, "")
			}
		}
		out = append(out, string(t.Term))
		prev = t.Position
	}
	return out
}

// LagGauge reports, on each scrape, how many catalog events the index
// has yet to apply: the stream's last sequence less the last one applied,
// or -1 while the stream's position cannot be read.
func (s *Service) LagGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vitrine_search_index_lag",
		Help: "Catalog events on the stream that this search index has not applied yet (-1: the stream's position is unknown).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := s.Status(ctx)
		if err != nil || st.Lag == nil {
			return -1
		}
		return float64(*st.Lag)
	})
}
