// Package productdb implements product.Store on SQL: SQLite in the embedded
// shape, PostgreSQL when split. The SQL is written once; sqldb adapts the
// placeholders and error codes. Files follow what they hold: products.go,
// listing.go, categories.go, idempotency.go; the outbox table belongs to
// package outbox.
package productdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

//go:embed migrations
var migrations embed.FS

// Store is a product.Store on a SQL database.
type Store struct {
	db         *sqldb.DB
	afterWrite func()
	now        func() time.Time
}

var _ product.Store = (*Store)(nil)

// Open connects to the database described by cfg (schema "product" on
// PostgreSQL) and applies the migrations, the outbox's included.
func Open(ctx context.Context, cfg sqldb.Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "product"
	}
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// The outbox table first: a migration adds a column to it.
	if err := outbox.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "migrations", "product"); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, now: time.Now}, nil
}

// UseClock makes the store stamp rows and events with now, the service's
// clock, instead of time.Now.
func (s *Store) UseClock(now func() time.Time) { s.now = now }

// AfterWrite sets a function called after each committed write; the outbox
// relay uses it to publish at once instead of at its next poll.
func (s *Store) AfterWrite(f func()) { s.afterWrite = f }

// write runs fn in a transaction and signals a committed write. Reads
// that may lag then avoid the replicas that have not replayed it, from
// this instance at once, before its catalog event comes back (best
// effort: the event does it too).
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.db.Tx(ctx, fn)
	if err == nil {
		s.wrote(ctx)
	}
	return err
}

// wrote signals a committed write.
func (s *Store) wrote(ctx context.Context) {
	_ = s.db.NoteWrites(ctx)
	if s.afterWrite != nil {
		s.afterWrite()
	}
}

// emit adds a catalog event to the outbox in tx.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, ev outbox.Event) error {
	return outbox.Add(ctx, s.db, tx, ev, s.now())
}

// Analyze refreshes the query planner's statistics (after bulk loading).
func (s *Store) Analyze(ctx context.Context) error { return s.db.Analyze(ctx) }

// DB exposes the handle, for the outbox relay.
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// CursorSecret returns the key that signs listing cursors. The first
// instance to ask creates it; a concurrent first start loses the insert and
// reads the winner's, so every instance on one database signs alike.
func (s *Store) CursorSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, product.CursorSecretLen)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), "cursor", fresh, s.now().UnixMicro()); err != nil {
		return nil, fmt.Errorf("cursor secret: %w", err)
	}
	var secret []byte
	if err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT value FROM secrets WHERE name = ?`), "cursor").Scan(&secret); err != nil {
		return nil, fmt.Errorf("cursor secret: %w", err)
	}
	return secret, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
