package productdb

import (
	"context"
	"database/sql"
	"slices"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// ProductsBySlug returns the stored products among slugs, by slug.
func (s *Store) ProductsBySlug(ctx context.Context, slugs []string) (map[string]*product.Product, error) {
	out := make(map[string]*product.Product, len(slugs))
	for chunk := range slices.Chunk(slugs, maxInList) {
		ps, err := s.queryProducts(ctx, `SELECT `+productColumns+` FROM products WHERE slug IN (`+
			sqldb.Placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[p.Slug] = p
		}
	}
	return out, nil
}

// SKUOwners returns the product holding each taken SKU among skus.
func (s *Store) SKUOwners(ctx context.Context, skus []string) (map[string]string, error) {
	out := map[string]string{}
	for chunk := range slices.Chunk(skus, maxInList) {
		rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT sku, product_id FROM product_skus WHERE sku IN (`+
			sqldb.Placeholders(len(chunk))+`)`), anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sku, id string
			if err := rows.Scan(&sku, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[sku] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteProducts inserts creates and replaces updates with their events in
// one transaction. On PostgreSQL a batch of new products goes in by COPY;
// everything else by prepared statements, as does a single product, so
// that a batch failed by one product's conflict is written one by one
// and the culprit told by name.
func (s *Store) WriteProducts(ctx context.Context, creates, updates []*product.Product) error {
	if len(updates) == 0 && len(creates) > 1 && s.db.Dialect == sqldb.Postgres {
		return s.copyProducts(ctx, creates)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.insertProducts(ctx, tx, creates); err != nil {
			return err
		}
		for _, p := range updates {
			if err := s.updateProduct(ctx, tx, p, p.Version-1); err != nil {
				return err
			}
		}
		return nil
	})
}

// eventRows are the outbox rows of the upsert events of ps.
func (s *Store) eventRows(ctx context.Context, ps []*product.Product) ([][]any, error) {
	out := make([][]any, 0, len(ps))
	for _, p := range ps {
		row, err := outboxRow(ctx, s.productEvent(events.OpUpsert, p), s.now())
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}

// ProductsAfter returns up to limit products of every status with ids
// after afterID, in id order: the pages of an export, which walks the
// primary key. It reads from a replica where there is one, to keep the
// primary for shoppers and writers.
func (s *Store) ProductsAfter(ctx context.Context, afterID string, limit int) ([]*product.Product, error) {
	return s.queryProducts(sqldb.ReplicaReads(ctx), `SELECT `+productColumns+` FROM products WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
}
