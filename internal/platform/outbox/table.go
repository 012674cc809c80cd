package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// Event is what a store puts in its outbox: a payload and where it goes.
// The types of package events implement it.
type Event interface {
	Subject() string
	Encode() ([]byte, error)
}

// The outbox table, created by Migrate in the service's database. The
// statements are idempotent: databases made before the outbox owned its
// table already have it. The owner's migrations then add a nullable
// traceparent column (the W3C trace context of the write, or NULL when it
// was not traced): see the product's 0004_outbox_traceparent.sql.
var tableSQL = map[sqldb.Dialect]string{
	sqldb.SQLite: `CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE, -- sent as Nats-Msg-Id, so a re-sent event is dropped by the stream
    subject    TEXT NOT NULL,
    payload    BLOB NOT NULL,
    created_at INTEGER NOT NULL
)`,
	sqldb.Postgres: `CREATE TABLE IF NOT EXISTS outbox (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE, -- sent as Nats-Msg-Id, so a re-sent event is dropped by the stream
    subject    TEXT NOT NULL,
    payload    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
)`,
}

// Migrate creates the outbox table of db when it has none.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if _, err := db.ExecContext(ctx, tableSQL[db.Dialect]); err != nil {
		return fmt.Errorf("outbox: create table: %w", err)
	}
	return nil
}

const insertSQL = `INSERT INTO outbox (id, subject, payload, created_at, traceparent) VALUES (?, ?, ?, ?, ?)`

// Writer adds events to the outbox inside a store's transaction, with one
// prepared statement for all of them.
type Writer struct {
	stmt *sql.Stmt
}

// Prepare returns a Writer for tx; Close it before the transaction ends.
func Prepare(ctx context.Context, db *sqldb.DB, tx *sql.Tx) (*Writer, error) {
	stmt, err := tx.PrepareContext(ctx, db.Q(insertSQL))
	if err != nil {
		return nil, err
	}
	return &Writer{stmt: stmt}, nil
}

// Add writes ev, committed with the transaction; at is when it happened.
// Its id (a UUIDv7) becomes the message id on the stream. When ctx is
// traced, its trace context is kept beside the event, for the relay to
// publish the event in the same trace.
func (w *Writer) Add(ctx context.Context, ev Event, at time.Time) error {
	row, err := Row(ctx, ev, at)
	if err != nil {
		return err
	}
	_, err = w.stmt.ExecContext(ctx, row...)
	return err
}

// Columns are the outbox's columns a Row fills, in its order (for COPY).
var Columns = []string{"id", "subject", "payload", "created_at", "traceparent"}

// Row returns the values of ev's outbox row, in Columns' order, for a
// store that writes many events at once (COPY on PostgreSQL).
func Row(ctx context.Context, ev Event, at time.Time) ([]any, error) {
	payload, err := ev.Encode()
	if err != nil {
		return nil, fmt.Errorf("outbox: encode %s: %w", ev.Subject(), err)
	}
	var traceparent sql.NullString
	if tp := tracing.Traceparent(ctx); tp != "" {
		traceparent = sql.NullString{String: tp, Valid: true}
	}
	return []any{uuid.Must(uuid.NewV7()).String(), ev.Subject(), payload, at.UnixMicro(), traceparent}, nil
}

// Close releases the statement.
func (w *Writer) Close() error { return w.stmt.Close() }

// Add writes one event in tx: Prepare, Add and Close.
func Add(ctx context.Context, db *sqldb.DB, tx *sql.Tx, ev Event, at time.Time) error {
	w, err := Prepare(ctx, db, tx)
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Add(ctx, ev, at)
}
