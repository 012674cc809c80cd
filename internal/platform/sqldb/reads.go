package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Where a read runs: on a replica when its context allows it, on the
// primary, and on any host while the primary cannot serve it.

// QueryContext runs a query on a replica when ctx allows it and one is in
// the read pool, else on the primary. A replica found unreachable leaves
// the pool and the query runs on the primary: a read is safe to repeat.
// So does a query the replica cancelled because replay needed its rows.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if r := db.replicas.pick(ctx); r != nil {
		rows, err := r.pool.QueryContext(ctx, query, args...)
		if err == nil || !db.replicas.retry(r, ctx, err) {
			return rows, err
		}
	}
	if db.primaryAway() {
		return db.anyHost.QueryContext(ctx, query, args...)
	}
	rows, err := db.DB.QueryContext(ctx, query, args...)
	if err != nil && retryOnNewConnection(ctx, err) {
		db.noteAway()
		return db.fallback().QueryContext(ctx, query, args...)
	}
	return rows, err
}

// QueryRowContext is QueryContext for one row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if r := db.replicas.pick(ctx); r != nil {
		row := r.pool.QueryRowContext(ctx, query, args...)
		if err := row.Err(); err == nil || !db.replicas.retry(r, ctx, err) {
			return row
		}
	}
	if db.primaryAway() {
		return db.anyHost.QueryRowContext(ctx, query, args...)
	}
	row := db.DB.QueryRowContext(ctx, query, args...)
	if err := row.Err(); err != nil && retryOnNewConnection(ctx, err) {
		db.noteAway()
		return db.fallback().QueryRowContext(ctx, query, args...)
	}
	return row
}

// primaryAwayFor is how long reads skip a primary that failed one.
const primaryAwayFor = 3 * time.Second

func (db *DB) primaryAway() bool {
	return db.anyHost != nil && time.Now().UnixNano() < db.awayUntil.Load()
}

func (db *DB) noteAway() {
	if db.anyHost != nil {
		db.awayUntil.Store(time.Now().Add(primaryAwayFor).UnixNano())
	}
}

// fallback is where a read the primary's pool could not serve runs once
// more: on any host with several, on a new connection of the same pool
// with one.
func (db *DB) fallback() *sql.DB {
	if db.anyHost != nil {
		return db.anyHost
	}
	return db.DB
}

// PingContext says whether the DB can serve reads: the primary answers,
// or with several hosts any of them does (both asked at once, so that a
// primary that does not answer at all costs no more than its deadline).
func (db *DB) PingContext(ctx context.Context) error {
	if db.anyHost == nil {
		return db.DB.PingContext(ctx)
	}
	errc := make(chan error, 2)
	go func() { errc <- db.DB.PingContext(ctx) }()
	go func() { errc <- db.anyHost.PingContext(ctx) }()
	first := <-errc
	if first == nil {
		return nil
	}
	return errors.Join(first, <-errc)
}

// retryOnNewConnection says whether a read that failed on the primary's
// pool runs once more, on the fallback: its connection was dropped (the
// server shutting down, gone, restarted as a standby) or no server takes
// writes now. A read is safe to repeat.
func retryOnNewConnection(ctx context.Context, err error) bool {
	return ctx.Err() == nil && IsUnavailable(err)
}
