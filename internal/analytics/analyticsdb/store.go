// Package analyticsdb implements analytics.Store on SQL: SQLite in the
// embedded shape, PostgreSQL (schema "analytics") when split. Each batch of
// events is one transaction: the dedupe insert, then the rollups and totals
// of the events it let through.
//
// Files follow what they hold: ingest.go (events and searches in, the
// product list), shoppers.go (per-shopper bounds), rollups.go (the
// per-minute and per-hour counters), reports.go (what reports read, the
// statistics published back, pruning).
package analyticsdb

import (
	"context"
	"embed"
	"slices"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is an analytics.Store on a SQL database.
type Store struct {
	db *sqldb.DB
}

var _ analytics.Store = (*Store)(nil)

// Open connects to the database described by cfg (schema "analytics" on
// PostgreSQL unless cfg names another) and applies the migrations.
func Open(ctx context.Context, cfg sqldb.Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "analytics"
	}
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "migrations", "analytics"); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// maxRows bounds the rows of one multi-row statement: 7 columns of 500 rows
// stay far below the parameter limits of SQLite (32766) and PostgreSQL (65535).
const maxRows = 500

// Seconds in the buckets of the rollup tables.
const (
	minute = int64(time.Minute / time.Second)
	hour   = int64(time.Hour / time.Second)
)

func floor(unix, width int64) int64 { return unix - unix%width }

func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
