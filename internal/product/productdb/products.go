package productdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/outbox"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// body is the part of a product kept as one JSON document.
type body struct {
	Description string            `json:"description"`
	Tags        []string          `json:"tags"`
	Attributes  map[string]string `json:"attributes"`
	Images      []product.Image   `json:"images"`
	Variants    []product.Variant `json:"variants"`
}

const productColumns = `id, slug, name, brand, category, status, price_min, price_max, currency,
	in_stock, sales_count, view_count, version, created_at, updated_at, body`

type scanner interface{ Scan(dest ...any) error }

func scanProduct(row scanner) (*product.Product, error) {
	var (
		p                product.Product
		category         sql.NullString
		created, updated int64
		doc              []byte
	)
	err := row.Scan(&p.ID, &p.Slug, &p.Name, &p.Brand, &category, &p.Status, &p.Price.Min, &p.Price.Max,
		&p.Price.Currency, &p.InStock, &p.SalesCount, &p.ViewCount, &p.Version, &created, &updated, &doc)
	if err != nil {
		return nil, err
	}
	var b body
	if err := json.Unmarshal(doc, &b); err != nil {
		return nil, fmt.Errorf("product %s: decode body: %w", p.ID, err)
	}
	p.Category = category.String
	p.CreatedAt = time.UnixMicro(created).UTC()
	p.UpdatedAt = time.UnixMicro(updated).UTC()
	p.Description, p.Tags, p.Attributes, p.Images, p.Variants = b.Description, b.Tags, b.Attributes, b.Images, b.Variants
	p.Thumbnail = events.Thumbnail(p.Images)
	return &p, nil
}

// row is a product's values by column name, in productColumns order.
type row struct {
	names  []string
	values []any
}

func productRow(p *product.Product) (row, error) {
	doc, err := json.Marshal(body{Description: p.Description, Tags: p.Tags, Attributes: p.Attributes, Images: p.Images, Variants: p.Variants})
	if err != nil {
		return row{}, err
	}
	var r row
	set := func(name string, v any) { r.names, r.values = append(r.names, name), append(r.values, v) }
	set("id", p.ID)
	set("slug", p.Slug)
	set("name", p.Name)
	set("brand", p.Brand)
	set("category", nullable(p.Category))
	set("status", p.Status)
	set("price_min", p.Price.Min)
	set("price_max", p.Price.Max)
	set("currency", p.Price.Currency)
	set("in_stock", p.InStock)
	set("sales_count", p.SalesCount)
	set("view_count", p.ViewCount)
	set("version", p.Version)
	set("created_at", p.CreatedAt.UnixMicro())
	set("updated_at", p.UpdatedAt.UnixMicro())
	set("body", string(doc))
	return r, nil
}

// insert returns the INSERT statement of every column and its arguments.
func (r row) insert() (string, []any) {
	return `INSERT INTO products (` + strings.Join(r.names, ", ") + `) VALUES (` + sqldb.Placeholders(len(r.names)) + `)`, r.values
}

// assignments returns "a = ?, b = ?" for every column but those skipped,
// and their values.
func (r row) assignments(skip ...string) (string, []any) {
	var (
		set  []string
		args []any
	)
	for i, name := range r.names {
		if !slices.Contains(skip, name) {
			set, args = append(set, name+" = ?"), append(args, r.values[i])
		}
	}
	return strings.Join(set, ", "), args
}

// CreateProduct inserts p, its SKUs, its event and the idempotency record in
// one transaction.
func (s *Store) CreateProduct(ctx context.Context, p *product.Product, idem *product.IdempotencyRecord) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if idem != nil {
			if err := s.insertIdempotency(ctx, tx, idem); err != nil {
				return err
			}
		}
		if err := s.checkSKUs(ctx, tx, p); err != nil {
			return err
		}
		return s.insertProducts(ctx, tx, []*product.Product{p})
	})
}

// CreateProducts inserts a batch of products with their SKUs and events in
// one transaction, reusing prepared statements (bulk loading).
// On PostgreSQL they go in by COPY.
func (s *Store) CreateProducts(ctx context.Context, ps []*product.Product) error {
	if s.db.Dialect == sqldb.Postgres {
		return s.copyProducts(ctx, ps)
	}
	return s.write(ctx, func(tx *sql.Tx) error { return s.insertProducts(ctx, tx, ps) })
}

// insertProducts inserts products, their SKUs and their upsert events.
func (s *Store) insertProducts(ctx context.Context, tx *sql.Tx, ps []*product.Product) error {
	if len(ps) == 0 {
		return nil
	}
	first, err := productRow(ps[0])
	if err != nil {
		return err
	}
	query, _ := first.insert()
	products, err := tx.PrepareContext(ctx, s.db.Q(query))
	if err != nil {
		return err
	}
	defer products.Close()
	skus, err := tx.PrepareContext(ctx, s.db.Q(`INSERT INTO product_skus (sku, product_id) VALUES (?, ?)`))
	if err != nil {
		return err
	}
	defer skus.Close()
	outboxw, err := outbox.Prepare(ctx, s.db, tx)
	if err != nil {
		return err
	}
	defer outboxw.Close()
	for _, p := range ps {
		r, err := productRow(p)
		if err != nil {
			return err
		}
		if _, err := products.ExecContext(ctx, r.values...); err != nil {
			return writeError(err, p)
		}
		for _, v := range p.Variants {
			if _, err := skus.ExecContext(ctx, v.SKU, p.ID); err != nil {
				return writeError(err, p)
			}
		}
		if err := outboxw.Add(ctx, s.productEvent(events.OpUpsert, p), s.now()); err != nil {
			return err
		}
	}
	return s.holdNewImages(ctx, tx, ps)
}

// productEvent is the catalog event of a product write.
func (s *Store) productEvent(op string, p *product.Product) events.ProductChanged {
	ev := events.ProductChanged{Op: op, ID: p.ID, Version: p.Version, At: s.now().UTC()}
	if op == events.OpUpsert {
		ev.Product = p.Snapshot()
	}
	return ev
}

// checkSKUs reports SKUs of p already used by another product, by name.
// The unique index remains the final guard against a race.
func (s *Store) checkSKUs(ctx context.Context, tx *sql.Tx, p *product.Product) error {
	args := []any{p.ID}
	for _, v := range p.Variants {
		args = append(args, v.SKU)
	}
	rows, err := tx.QueryContext(ctx, s.db.Q(`SELECT sku FROM product_skus WHERE product_id <> ? AND sku IN (`+
		sqldb.Placeholders(len(p.Variants))+`)`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var taken []string
	for rows.Next() {
		var sku string
		if err := rows.Scan(&sku); err != nil {
			return err
		}
		taken = append(taken, sku)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(taken) > 0 {
		return skuConflict(taken...)
	}
	return nil
}

func skuConflict(skus ...string) error {
	e := &errs.Error{Kind: errs.KindConflict, Msg: "a SKU is already used by another product"}
	for _, sku := range skus {
		e.Fields = append(e.Fields, errs.FieldError{Field: "variants.sku", Detail: fmt.Sprintf("SKU %q is already used", sku)})
	}
	return e
}

func (s *Store) replaceSKUs(ctx context.Context, tx *sql.Tx, p *product.Product) error {
	if _, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM product_skus WHERE product_id = ?`), p.ID); err != nil {
		return err
	}
	for _, v := range p.Variants {
		if _, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO product_skus (sku, product_id) VALUES (?, ?)`), v.SKU, p.ID); err != nil {
			return writeError(err, p)
		}
	}
	return nil
}

// writeError turns constraint violations into conflicts a client understands.
func writeError(err error, p *product.Product) error {
	if detail, ok := sqldb.UniqueViolation(err); ok {
		switch {
		case strings.Contains(detail, "sku"):
			return skuConflict("of this product")
		case strings.Contains(detail, "slug"):
			return &errs.Error{Kind: errs.KindConflict, Msg: "the slug is already used by another product",
				Fields: []errs.FieldError{{Field: "slug", Detail: fmt.Sprintf("%q is already used", p.Slug)}}}
		}
		return errs.Wrap(errs.KindConflict, err, "the product collides with an existing one")
	}
	if sqldb.IsForeignKeyViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Msg: "the category was removed meanwhile", Err: err,
			Fields: []errs.FieldError{{Field: "category", Detail: "no longer exists"}}}
	}
	return err
}

// Product returns a product by id or slug.
func (s *Store) Product(ctx context.Context, idOrSlug string) (*product.Product, error) {
	row := s.db.QueryRowContext(ctx, s.db.Q(`SELECT `+productColumns+` FROM products WHERE id = ? OR slug = ?`), idOrSlug, idOrSlug)
	p, err := scanProduct(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.New(errs.KindNotFound, "product %q not found", idOrSlug)
	}
	return p, err
}

// UpdateProduct replaces p if its version is still expectVersion.
func (s *Store) UpdateProduct(ctx context.Context, p *product.Product, expectVersion int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.updateProduct(ctx, tx, p, expectVersion) })
}

// updateProduct replaces p in tx if its version is still expectVersion.
func (s *Store) updateProduct(ctx context.Context, tx *sql.Tx, p *product.Product, expectVersion int64) error {
	r, err := productRow(p)
	if err != nil {
		return err
	}
	// The id and creation time do not change, and the counters (sales,
	// views) are not the client's: the stored ones stay.
	set, args := r.assignments("id", "created_at", "sales_count", "view_count")
	if err := s.checkSKUs(ctx, tx, p); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.db.Q(`UPDATE products SET `+set+` WHERE id = ? AND version = ?`),
		append(args, p.ID, expectVersion)...)
	if err != nil {
		return writeError(err, p)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return product.ErrVersionMismatch
	}
	if err := s.replaceSKUs(ctx, tx, p); err != nil {
		return err
	}
	if err := s.holdImages(ctx, tx, p.ID, p.Images); err != nil {
		return err
	}
	return s.emit(ctx, tx, s.productEvent(events.OpUpsert, p))
}

// DeleteProduct removes a product if its version is still expectVersion.
func (s *Store) DeleteProduct(ctx context.Context, id string, expectVersion int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM product_skus WHERE product_id = ?`), id); err != nil {
			return err
		}
		// Its pictures are released here and deleted by the image sweeper,
		// which the product's delete event wakes.
		if err := s.holdImages(ctx, tx, id, nil); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM products WHERE id = ? AND version = ?`), id, expectVersion)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return product.ErrVersionMismatch
		}
		return s.emit(ctx, tx, s.productEvent(events.OpDelete, &product.Product{ID: id, Version: expectVersion + 1}))
	})
}
