package searchsnap

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/internal/search"
)

// Schedule says when an instance takes snapshots.
type Schedule struct {
	// Interval takes one at least this often while the index changes; 0
	// takes none on a timer.
	Interval time.Duration
	// Every takes one once this many catalog messages were applied since
	// the last snapshot (a bulk import, say); 0 never.
	Every uint64
	Keep  int // snapshots kept in the store
}

// Snapshotter takes snapshots of one instance's index on a Schedule.
type Snapshotter struct {
	Store    *Store
	Index    *search.Service
	WorkDir  string // for the temporary copy; on the index's file system
	Schedule Schedule
	// Position returns the catalog stream's creation time and last
	// sequence. A snapshot is taken only once the index has caught up, so
	// a rebuild or an import in progress is not snapshotted half-way.
	Position func(ctx context.Context) (created time.Time, last uint64, err error)
	// Check is how often the schedule is looked at (default 5 s).
	Check time.Duration
}

// Run takes snapshots until ctx ends.
func (t *Snapshotter) Run(ctx context.Context) {
	if t.Schedule.Interval <= 0 && t.Schedule.Every == 0 {
		return
	}
	// Copies left by a snapshot cut short (a killed process).
	if stale, err := filepath.Glob(filepath.Join(t.WorkDir, "snapshot-*")); err == nil {
		for _, p := range stale {
			_ = os.RemoveAll(p)
		}
	}
	check := t.Check
	if check <= 0 {
		check = 5 * time.Second
	}
	// Without a snapshot yet, the interval counts from now: an instance
	// that starts takes its first one after an interval of changes, or
	// after Every events (a catalog just loaded).
	var lastSeq uint64
	lastAt := time.Now()
	if ms, err := t.Store.Manifests(ctx); err == nil && len(ms) > 0 {
		lastSeq, lastAt = ms[0].Seq, ms[0].TakenAt
	}
	tick := time.NewTicker(check)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m, taken := t.maybeTake(ctx, lastSeq, lastAt)
		if taken {
			lastSeq, lastAt = m.Seq, m.TakenAt
		}
	}
}

// due reports whether a snapshot at applied is due after one at lastSeq,
// taken at lastAt.
func (s Schedule) due(applied, lastSeq uint64, lastAt, now time.Time) bool {
	if applied <= lastSeq {
		return false
	}
	return s.Every > 0 && applied-lastSeq >= s.Every || s.Interval > 0 && now.Sub(lastAt) >= s.Interval
}

func (t *Snapshotter) maybeTake(ctx context.Context, lastSeq uint64, lastAt time.Time) (Manifest, bool) {
	applied := t.Index.LastApplied()
	if !t.Schedule.due(applied, lastSeq, lastAt, time.Now()) {
		return Manifest{}, false
	}
	created, last, err := t.Position(ctx)
	if err != nil || last > applied {
		return Manifest{}, false
	}
	// Another instance may have taken this one already.
	if ms, err := t.Store.Manifests(ctx); err == nil && len(ms) > 0 && ms[0].Seq >= applied && ms[0].StreamCreated.Equal(created.UTC()) {
		return ms[0], true
	}
	start := time.Now()
	m, err := t.Store.Take(ctx, t.Index, t.WorkDir, created)
	if err != nil {
		t.Store.log.WarnContext(ctx, "search snapshot failed", "err", err)
		return Manifest{}, false
	}
	t.Store.log.InfoContext(ctx, "search snapshot taken", "object", m.Object, "seq", m.Seq, "documents", m.Documents,
		"bytes", m.Size, "took", time.Since(start).Round(time.Millisecond))
	if err := t.Store.Prune(ctx, t.Schedule.Keep, time.Now()); err != nil {
		t.Store.log.WarnContext(ctx, "search snapshot pruning failed", "err", err)
	}
	return m, true
}
