package productdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// ListProducts returns up to q.Limit+1 matching products after q.After.
func (s *Store) ListProducts(ctx context.Context, q product.ListQuery) ([]*product.Product, error) {
	order, ok := product.SortOrderOf(q.Sort)
	if !ok {
		return nil, errs.New(errs.KindInvalid, "unknown sort %q", q.Sort)
	}
	var (
		where []string
		args  []any
	)
	in := func(column string, values []string) {
		where = append(where, column+" IN ("+sqldb.Placeholders(len(values))+")")
		for _, v := range values {
			args = append(args, v)
		}
	}
	statuses := q.Statuses
	if len(statuses) == 0 {
		statuses = []string{product.StatusActive}
	}
	in("status", statuses)
	if len(q.Categories) > 0 {
		in("category", q.Categories)
	}
	if len(q.Brands) > 0 {
		in("brand", q.Brands)
	}
	if q.MinPrice != nil {
		where = append(where, "price_min >= ?")
		args = append(args, *q.MinPrice)
	}
	if q.MaxPrice != nil {
		where = append(where, "price_min <= ?")
		args = append(args, *q.MaxPrice)
	}
	if q.InStock {
		where = append(where, "in_stock = TRUE")
	}
	dir, op := "ASC", ">"
	if order.Desc {
		dir, op = "DESC", "<"
	}
	if q.After != nil {
		where = append(where, fmt.Sprintf("(%s, id) %s (?, ?)", order.Column, op))
		if order.Text {
			args = append(args, q.After.Key, q.After.ID)
		} else {
			args = append(args, q.After.IntKey(), q.After.ID)
		}
	}
	args = append(args, q.Limit+1)
	query := fmt.Sprintf(`SELECT %s FROM products WHERE %s ORDER BY %s %s, id %s LIMIT ?`,
		productColumns, strings.Join(where, " AND "), order.Column, dir, dir)
	return s.queryProducts(ctx, query, args...)
}

func (s *Store) queryProducts(ctx context.Context, query string, args ...any) ([]*product.Product, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*product.Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Bestsellers returns active products by descending sales.
func (s *Store) Bestsellers(ctx context.Context, limit int) ([]*product.Product, error) {
	return s.queryProducts(ctx, `SELECT `+productColumns+` FROM products WHERE status = ?
		ORDER BY sales_count DESC, id DESC LIMIT ?`, product.StatusActive, limit)
}

// SetStats sets all-time sales and view counts.
func (s *Store) SetStats(ctx context.Context, stats []product.Stat) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, st := range stats {
			if _, err := tx.ExecContext(ctx, s.db.Q(`UPDATE products SET sales_count = ?, view_count = ? WHERE id = ?`),
				st.Sales, st.Views, st.ProductID); err != nil {
				return err
			}
		}
		return nil
	})
}
