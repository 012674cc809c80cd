package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies, in order, the migrations in dir/<dialect>/NNNN_name.sql
// of fsys that the database has not seen yet. Each runs in its own
// transaction; on PostgreSQL an advisory lock keeps several instances
// starting at once from racing.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, dir, service string) error {
	files, err := fs.Glob(fsys, path.Join(dir, string(db.Dialect), "*.sql"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil && !IsUniqueViolation(err) {
		return fmt.Errorf("migrate %s: %w", service, err)
	}
	for _, f := range files {
		base := path.Base(f)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migrate %s: file %s is not named NNNN_name.sql", service, base)
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == Postgres {
				h := fnv.New64a()
				h.Write([]byte("vitrine-migrate-" + service))
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
					return err
				}
			}
			var seen int
			if err := tx.QueryRowContext(ctx, db.Q("SELECT count(*) FROM schema_migrations WHERE version = ?"), version).Scan(&seen); err != nil {
				return err
			}
			if seen > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", base, err)
			}
			_, err := tx.ExecContext(ctx, db.Q("INSERT INTO schema_migrations (version, name) VALUES (?, ?)"), version, base)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", service, err)
		}
	}
	return nil
}
