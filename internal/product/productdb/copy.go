package productdb

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// copyProducts inserts new products, their SKUs and their events by COPY,
// PostgreSQL's bulk path, in one transaction: one round trip per table
// instead of one per row. A taken slug or SKU fails the whole batch as a
// conflict; the caller then writes its products one by one.
func (s *Store) copyProducts(ctx context.Context, ps []*product.Product) error {
	if len(ps) == 0 {
		return nil
	}
	var columns []string
	products := make([][]any, 0, len(ps))
	var skus [][]any
	for _, p := range ps {
		r, err := productRow(p)
		if err != nil {
			return err
		}
		columns = r.names
		products = append(products, r.values)
		for _, v := range p.Variants {
			skus = append(skus, []any{v.SKU, p.ID})
		}
	}
	events, err := s.eventRows(ctx, ps)
	if err != nil {
		return err
	}
	err = s.db.PgxTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"}, columns, pgx.CopyFromRows(products)); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"product_skus"}, []string{"sku", "product_id"}, pgx.CopyFromRows(skus)); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, outbox.Columns, pgx.CopyFromRows(events))
		return err
	})
	if err != nil {
		return writeError(err, ps[0])
	}
	return nil
}

// outboxRow is outbox.Row with its NULLs as COPY takes them.
func outboxRow(ctx context.Context, ev outbox.Event, at time.Time) ([]any, error) {
	row, err := outbox.Row(ctx, ev, at)
	if err != nil {
		return nil, err
	}
	for i, v := range row {
		if ns, ok := v.(sql.NullString); ok {
			row[i] = nil
			if ns.Valid {
				row[i] = ns.String
			}
		}
	}
	return row, nil
}
