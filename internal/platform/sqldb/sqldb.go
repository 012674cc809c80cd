// Package sqldb opens the relational store of a service, on SQLite (the
// embedded shape, pure Go, no cgo) or PostgreSQL (pgx), and papers over the
// few differences between them so each service writes its SQL once.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// Dialect names the database engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says where a service keeps its data: a PostgreSQL URL and schema,
// or else an SQLite file.
type Config struct {
	PostgresURL string // when set, PostgreSQL is used
	Schema      string // the service's own PostgreSQL schema, e.g. "product"
	SQLitePath  string // the service's own SQLite file
	MaxConns    int    // pool size; 0 picks a default

	// ReplicaURLs are PostgreSQL read replicas of the primary, for the
	// reads whose context says they may take one (ReplicaReads).
	ReplicaURLs []string
	// ReplicaMaxLag takes a replica out of the read pool while it is
	// further behind; 0 means DefaultReplicaMaxLag.
	ReplicaMaxLag time.Duration
	Logger        *slog.Logger          // replicas joining and leaving the pool
	Registerer    prometheus.Registerer // replicas' health and lag; nil: not exported
	// Tracer, when set, traces the PostgreSQL calls made inside a trace
	// (both pools); nil (tracing off) installs nothing. The embedded
	// SQLite files are not traced.
	Tracer trace.TracerProvider
}

// DB is a database/sql handle that knows its dialect.
//
// On PostgreSQL with several hosts in the URL (a primary and its standbys,
// as Patroni runs them), reads and writes take separate pools, and both
// accept only the read-write server: a read sees every write acknowledged
// before it, and a connection that reached a standby, because the primary
// was slow to accept it under load, never takes a write. While no server
// takes writes (the primary lost, a failover under way), a read the
// primary cannot serve runs on a third pool that takes any host that
// answers, its own zone's first when the URL lists it first, so reads
// keep working, a little behind perhaps, until a standby is promoted.
//
// With replicas (Config.ReplicaURLs), QueryContext and QueryRowContext
// send a read whose context allows it (ReplicaReads) to a replica that is
// healthy and has replayed every write this process knows of (NoteWrites),
// and any other read to the primary. See replicaSet.
type DB struct {
	*sql.DB // reads on the primary
	Dialect Dialect
	primary *sql.DB // writes; the same pool as reads when there is one host
	anyHost *sql.DB // reads while the primary cannot serve them; nil with one host
	// awayUntil (unix nanoseconds): until then reads go straight to
	// anyHost, the primary having just failed one; a frozen primary
	// costs the first read that finds it, not every read.
	awayUntil atomic.Int64
	replicas  *replicaSet // nil without replicas
	rebound   sync.Map    // query with ? -> query with $n
}

// NoteWrites tells the DB that writes were committed on the primary, by
// this process or another (a catalog event says so): from now on, reads
// go only to replicas that have replayed the primary's current position,
// and to the primary while none has. It costs one query on the primary,
// and nothing without replicas. An error leaves the watermark as it was.
func (db *DB) NoteWrites(ctx context.Context) error {
	if db.replicas == nil {
		return nil
	}
	return db.replicas.noteWrites(ctx)
}

// ExecContext runs a statement on the read-write pool.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.writer().ExecContext(ctx, query, args...)
}

// BeginTx starts a transaction on the read-write pool.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return db.writer().BeginTx(ctx, opts)
}

// Close closes the pools and stops checking the replicas.
func (db *DB) Close() error {
	var err error
	if db.replicas != nil {
		err = db.replicas.close()
	}
	err = errors.Join(err, db.DB.Close())
	if db.anyHost != nil {
		err = errors.Join(err, db.anyHost.Close())
	}
	if db.primary != nil && db.primary != db.DB {
		err = errors.Join(err, db.primary.Close())
	}
	return err
}

func (db *DB) writer() *sql.DB {
	if db.primary != nil {
		return db.primary
	}
	return db.DB
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Open connects and checks the connection.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.PostgresURL == "" && len(cfg.ReplicaURLs) > 0 {
		return nil, errors.New("sqldb: replicas are for PostgreSQL: give the primary's URL too")
	}
	if cfg.PostgresURL != "" {
		return openPostgres(ctx, cfg)
	}
	return openSQLite(ctx, cfg)
}

func openSQLite(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.SQLitePath == "" {
		return nil, errors.New("sqldb: no SQLite path and no PostgreSQL URL")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o750); err != nil {
		return nil, fmt.Errorf("sqldb: create data directory: %w", err)
	}
	// WAL lets readers run beside the writer; immediate transactions take the
	// write lock up front so two writers queue on busy_timeout instead of
	// failing on a lock upgrade.
	dsn := "file:" + cfg.SQLitePath +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", cfg.SQLitePath, err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 8
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: open %s: %w", cfg.SQLitePath, err)
	}
	// Refresh the planner's statistics where they are missing or stale;
	// without them SQLite picks poor indexes on large tables.
	if _, err := db.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: optimize %s: %w", cfg.SQLitePath, err)
	}
	return &DB{DB: db, Dialect: SQLite}, nil
}

func openPostgres(ctx context.Context, cfg Config) (*DB, error) {
	if !schemaName.MatchString(cfg.Schema) {
		return nil, fmt.Errorf("sqldb: invalid schema name %q", cfg.Schema)
	}
	pcfg, err := pgx.ParseConfig(cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("sqldb: parse PostgreSQL URL: %w", err)
	}
	boundConnects(&pcfg.Config)
	// Create the service's schema (on the primary), then pin every pooled
	// connection to it.
	rw := pcfg.Copy()
	rw.ValidateConnect = pgconn.ValidateConnectTargetSessionAttrsReadWrite
	conn, err := pgx.ConnectConfig(ctx, rw)
	if err != nil {
		return nil, fmt.Errorf("sqldb: connect to PostgreSQL: %w", err)
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+cfg.Schema)
	conn.Close(ctx)
	if err != nil && !IsUniqueViolation(err) { // two instances racing to create it
		return nil, fmt.Errorf("sqldb: create schema %s: %w", cfg.Schema, err)
	}
	pcfg.RuntimeParams["search_path"] = cfg.Schema
	var tracer pgx.QueryTracer
	if cfg.Tracer != nil {
		// Statements are recorded with their placeholders, never their
		// arguments (passwords' hashes, tokens' hashes); spans are named
		// by the statement's first word (otelpgx's default).
		tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tracing.ChildrenOnly(cfg.Tracer)),
			otelpgx.WithDisableConnectionDetailsInAttributes())
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 20
	}
	// pool opens one pool of c: reads, writes, or a replica's.
	pool := func(c *pgx.ConnConfig) *sql.DB {
		if tracer != nil {
			c.Tracer = tracer
		}
		db := stdlib.OpenDB(*c, poolOptions(c)...)
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
		return db
	}
	var reads, writes, anyHost *sql.DB
	if len(pcfg.Fallbacks) == 0 {
		reads = pool(pcfg)
		writes = reads
	} else {
		// Several hosts: reads and writes on the read-write server,
		// whatever the URL's target_session_attrs says (it is for the
		// single-host case); reads on any host when it cannot serve.
		rw.RuntimeParams["search_path"] = cfg.Schema
		reads, writes = pool(rw.Copy()), pool(rw)
		anyCfg := pcfg.Copy()
		anyCfg.ValidateConnect = nil
		anyHost = pool(anyCfg)
		// Connections that reached a standby while the primary was away
		// make way for the primary soon.
		anyHost.SetConnMaxLifetime(30 * time.Second)
	}
	db := &DB{DB: reads, Dialect: Postgres, primary: writes, anyHost: anyHost}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: connect to PostgreSQL: %w", err)
	}
	if len(cfg.ReplicaURLs) > 0 {
		if db.replicas, err = openReplicas(cfg, writes, pool); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Q rewrites a query written with ? placeholders for the dialect ($1, $2...
// on PostgreSQL). Results are memoised.
func (db *DB) Q(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	if q, ok := db.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			writeParam(&b, n)
			continue
		}
		b.WriteRune(c)
	}
	q := b.String()
	db.rebound.Store(query, q)
	return q
}

// Analyze refreshes the planner's statistics, after a bulk load.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.ExecContext(ctx, "ANALYZE")
	return err
}

// Maintain keeps SQLite's planner statistics fresh as tables grow, running
// PRAGMA optimize every interval until ctx ends. PostgreSQL's autovacuum
// does this by itself.
func (db *DB) Maintain(ctx context.Context, interval time.Duration) {
	if db.Dialect != SQLite {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = db.ExecContext(ctx, "PRAGMA optimize")
		}
	}
}

// Tx runs fn in a transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// IsUniqueViolation reports whether err is a unique or primary key violation.
func IsUniqueViolation(err error) bool {
	_, ok := UniqueViolation(err)
	return ok
}

// UniqueViolation reports whether err is a unique violation and, if so, a
// text naming the constraint or columns involved (for example
// "products.slug" or "products_slug_key").
func UniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName + " " + pgErr.Detail, true
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return sqErr.Error(), true
		}
	}
	return "", false
}

// writeParam writes PostgreSQL's placeholder number n: the one place that
// numbers them.
func writeParam(b *strings.Builder, n int) {
	b.WriteByte('$')
	b.WriteString(strconv.Itoa(n))
}

// Params returns n comma-separated placeholders numbered from first ($n on
// PostgreSQL, ? on SQLite), for statements not passed through Q: those
// whose length follows a batch, which Q's memo would keep one copy of per
// length.
func (db *DB) Params(first, n int) string {
	if db.Dialect != Postgres {
		return Placeholders(n)
	}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		writeParam(&b, first+i)
	}
	return b.String()
}

// Placeholders returns n comma-separated ? placeholders.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// IsForeignKeyViolation reports whether err is a foreign key violation.
func IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var sqErr *sqlite.Error
	return errors.As(err, &sqErr) && sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
