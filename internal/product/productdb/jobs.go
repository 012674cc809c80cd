package productdb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// SaveImportJob stores the status of an import job (a JSON document),
// replacing the one it had.
func (s *Store) SaveImportJob(ctx context.Context, id string, doc []byte, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO import_jobs (id, doc, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`), id, string(doc), at.UnixMicro(), at.UnixMicro())
	return err
}

// ImportJob returns the status of an import job and when it was last
// saved (KindNotFound when there is none).
func (s *Store) ImportJob(ctx context.Context, id string) ([]byte, time.Time, error) {
	var (
		doc     string
		updated int64
	)
	err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT doc, updated_at FROM import_jobs WHERE id = ?`), id).Scan(&doc, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, errs.New(errs.KindNotFound, "import job %q not found", id)
	}
	return []byte(doc), time.UnixMicro(updated), err
}
