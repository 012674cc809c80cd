package productdb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// insertIdempotency records the first response to an Idempotency-Key, in
// the transaction that creates the product.
func (s *Store) insertIdempotency(ctx context.Context, tx *sql.Tx, idem *product.IdempotencyRecord) error {
	_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO idempotency_keys (key, request_hash, status, body, product_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`), idem.Key, idem.RequestHash, idem.Status, idem.Body, idem.ProductID, idem.CreatedAt.UnixMicro())
	if sqldb.IsUniqueViolation(err) {
		return product.ErrIdempotencyKeyTaken
	}
	return err
}

// IdempotencyRecord returns the stored first response for key.
func (s *Store) IdempotencyRecord(ctx context.Context, key string) (*product.IdempotencyRecord, error) {
	var (
		r       product.IdempotencyRecord
		created int64
	)
	err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT key, request_hash, status, body, product_id, created_at
		FROM idempotency_keys WHERE key = ?`), key).Scan(&r.Key, &r.RequestHash, &r.Status, &r.Body, &r.ProductID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.New(errs.KindNotFound, "no such idempotency key")
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	return &r, nil
}
