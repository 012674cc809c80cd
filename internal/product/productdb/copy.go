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
	var (
		columns        []string
		products       = make([][]any, 0, len(ps))
		skus, pictures [][]any
		held           []string
		seen           = map[string]bool{}
	)
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
		mine := map[string]bool{}
		for _, img := range p.Images {
			if img.Hash != "" && !mine[img.Hash] {
				mine[img.Hash] = true
				pictures = append(pictures, []any{p.ID, img.Hash})
				if !seen[img.Hash] {
					seen[img.Hash] = true
					held = append(held, img.Hash)
				}
			}
		}
	}
	events, err := s.eventRows(ctx, ps)
	if err != nil {
		return err
	}
	err = s.db.PgxTx(ctx, func(tx pgx.Tx) error {
		copies := []struct {
			table   string
			columns []string
			rows    [][]any
		}{
			{"products", columns, products},
			{"product_skus", []string{"sku", "product_id"}, skus},
			{"product_images", []string{"product_id", "hash"}, pictures},
			{"outbox", outbox.Columns, events},
		}
		for _, c := range copies {
			if len(c.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.columns, pgx.CopyFromRows(c.rows)); err != nil {
				return err
			}
		}
		if len(held) == 0 {
			return nil
		}
		// Pictures a product holds again are no longer the sweeper's.
		_, err := tx.Exec(ctx, `UPDATE images SET released_at = NULL WHERE released_at IS NOT NULL AND hash = ANY($1)`, held)
		return err
	})
	if err != nil {
		return writeError(err, ps[0])
	}
	s.wrote(ctx)
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
