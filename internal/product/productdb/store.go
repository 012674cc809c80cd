// Package productdb implements product.Store on SQL: SQLite in the embedded
// shape, PostgreSQL when split. The SQL is written once; sqldb adapts the
// placeholders and error codes.
package productdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

//go:embed migrations
var migrations embed.FS

// Store is a product.Store on a SQL database.
type Store struct {
	db         *sqldb.DB
	afterWrite func()
}

var _ product.Store = (*Store)(nil)

// Open connects to the database described by cfg (schema "product" on
// PostgreSQL) and applies the migrations.
func Open(ctx context.Context, cfg sqldb.Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "product"
	}
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "migrations", "product"); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// AfterWrite sets a function called after each committed write; the outbox
// relay uses it to publish at once instead of at its next poll.
func (s *Store) AfterWrite(f func()) { s.afterWrite = f }

// write runs fn in a transaction and signals a committed write.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.db.Tx(ctx, fn)
	if err == nil && s.afterWrite != nil {
		s.afterWrite()
	}
	return err
}

// Analyze refreshes the query planner's statistics (after bulk loading).
func (s *Store) Analyze(ctx context.Context) error { return s.db.Analyze(ctx) }

// DB exposes the handle, for the outbox relay.
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// CursorSecret returns the key that signs listing cursors. The first
// instance to ask creates it; a concurrent first start loses the insert and
// reads the winner's, so every instance on one database signs alike.
func (s *Store) CursorSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, product.CursorSecretLen)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), "cursor", fresh, time.Now().UnixMicro()); err != nil {
		return nil, fmt.Errorf("cursor secret: %w", err)
	}
	var secret []byte
	if err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT value FROM secrets WHERE name = ?`), "cursor").Scan(&secret); err != nil {
		return nil, fmt.Errorf("cursor secret: %w", err)
	}
	return secret, nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

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
	return &p, nil
}

func productArgs(p *product.Product) ([]any, error) {
	doc, err := json.Marshal(body{Description: p.Description, Tags: p.Tags, Attributes: p.Attributes, Images: p.Images, Variants: p.Variants})
	if err != nil {
		return nil, err
	}
	return []any{p.ID, p.Slug, p.Name, p.Brand, nullable(p.Category), p.Status, p.Price.Min, p.Price.Max,
		p.Price.Currency, p.InStock, p.SalesCount, p.ViewCount, p.Version, p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro(), string(doc)}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateProduct inserts p, its SKUs, its event and the idempotency record in
// one transaction.
func (s *Store) CreateProduct(ctx context.Context, p *product.Product, idem *product.IdempotencyRecord) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if idem != nil {
			_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO idempotency_keys (key, request_hash, status, body, product_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`), idem.Key, idem.RequestHash, idem.Status, idem.Body, idem.ProductID, idem.CreatedAt.UnixMicro())
			if sqldb.IsUniqueViolation(err) {
				return product.ErrIdempotencyKeyTaken
			}
			if err != nil {
				return err
			}
		}
		if err := s.checkSKUs(ctx, tx, p); err != nil {
			return err
		}
		ins, err := s.prepareInserts(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		return ins.product(ctx, p)
	})
}

// CreateProducts inserts a batch of products with their SKUs and events in
// one transaction, reusing prepared statements (bulk loading).
func (s *Store) CreateProducts(ctx context.Context, ps []*product.Product) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		ins, err := s.prepareInserts(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		for _, p := range ps {
			if err := ins.product(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// inserts holds the prepared statements that add a product.
type inserts struct {
	products, skus, outbox *sql.Stmt
}

func (s *Store) prepareInserts(ctx context.Context, tx *sql.Tx) (*inserts, error) {
	var (
		ins inserts
		err error
	)
	if ins.products, err = tx.PrepareContext(ctx, s.db.Q(`INSERT INTO products (`+productColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)); err != nil {
		return nil, err
	}
	if ins.skus, err = tx.PrepareContext(ctx, s.db.Q(`INSERT INTO product_skus (sku, product_id) VALUES (?, ?)`)); err != nil {
		ins.close()
		return nil, err
	}
	if ins.outbox, err = tx.PrepareContext(ctx, s.db.Q(`INSERT INTO outbox (id, subject, payload, created_at) VALUES (?, ?, ?, ?)`)); err != nil {
		ins.close()
		return nil, err
	}
	return &ins, nil
}

func (ins *inserts) close() {
	for _, st := range []*sql.Stmt{ins.products, ins.skus, ins.outbox} {
		if st != nil {
			st.Close()
		}
	}
}

// product inserts p, its SKUs and its upsert event.
func (ins *inserts) product(ctx context.Context, p *product.Product) error {
	args, err := productArgs(p)
	if err != nil {
		return err
	}
	if _, err := ins.products.ExecContext(ctx, args...); err != nil {
		return writeError(err, p)
	}
	for _, v := range p.Variants {
		if _, err := ins.skus.ExecContext(ctx, v.SKU, p.ID); err != nil {
			return writeError(err, p)
		}
	}
	subject, payload, err := productEvent(events.OpUpsert, p)
	if err != nil {
		return err
	}
	_, err = ins.outbox.ExecContext(ctx, uuid.Must(uuid.NewV7()).String(), subject, payload, time.Now().UnixMicro())
	return err
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

func (s *Store) insertSKUs(ctx context.Context, tx *sql.Tx, p *product.Product) error {
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

func (s *Store) emitProduct(ctx context.Context, tx *sql.Tx, op string, p *product.Product) error {
	subject, payload, err := productEvent(op, p)
	if err != nil {
		return err
	}
	return s.emitRaw(ctx, tx, subject, payload)
}

// productEvent encodes the catalog event of a product write.
func productEvent(op string, p *product.Product) (subject string, payload []byte, err error) {
	ev := events.ProductChanged{Op: op, ID: p.ID, Version: p.Version, At: time.Now().UTC()}
	if op == events.OpUpsert {
		if ev.Product, err = json.Marshal(p); err != nil {
			return "", nil, err
		}
	}
	payload, err = json.Marshal(ev)
	return events.ProductSubjectPrefix + p.ID, payload, err
}

func (s *Store) emit(ctx context.Context, tx *sql.Tx, subject string, ev any) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return s.emitRaw(ctx, tx, subject, payload)
}

func (s *Store) emitRaw(ctx context.Context, tx *sql.Tx, subject string, payload []byte) error {
	_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO outbox (id, subject, payload, created_at) VALUES (?, ?, ?, ?)`),
		uuid.Must(uuid.NewV7()).String(), subject, payload, time.Now().UnixMicro())
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
	args, err := productArgs(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkSKUs(ctx, tx, p); err != nil {
			return err
		}
		// Counters (sales, views) are not the client's: keep the stored ones.
		res, err := tx.ExecContext(ctx, s.db.Q(`UPDATE products SET slug = ?, name = ?, brand = ?, category = ?, status = ?,
			price_min = ?, price_max = ?, currency = ?, in_stock = ?, version = ?, updated_at = ?, body = ?
			WHERE id = ? AND version = ?`),
			args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[12], args[14], args[15],
			p.ID, expectVersion)
		if err != nil {
			return writeError(err, p)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return product.ErrVersionMismatch
		}
		if err := s.insertSKUs(ctx, tx, p); err != nil {
			return err
		}
		return s.emitProduct(ctx, tx, events.OpUpsert, p)
	})
}

// DeleteProduct removes a product if its version is still expectVersion.
func (s *Store) DeleteProduct(ctx context.Context, id string, expectVersion int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM product_skus WHERE product_id = ?`), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM products WHERE id = ? AND version = ?`), id, expectVersion)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return product.ErrVersionMismatch
		}
		return s.emitProduct(ctx, tx, events.OpDelete, &product.Product{ID: id, Version: expectVersion + 1})
	})
}

// sortSpec is the keyset of one listing order.
type sortSpec struct {
	column string
	desc   bool
}

var sorts = map[string]sortSpec{
	product.SortNewest:    {"created_at", true},
	product.SortPrice:     {"price_min", false},
	product.SortPriceDesc: {"price_min", true},
	product.SortName:      {"name", false},
	product.SortSalesDesc: {"sales_count", true},
}

// ListProducts returns up to q.Limit+1 matching products after q.After.
func (s *Store) ListProducts(ctx context.Context, q product.ListQuery) ([]*product.Product, error) {
	spec, ok := sorts[q.Sort]
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
	if spec.desc {
		dir, op = "DESC", "<"
	}
	if q.After != nil {
		where = append(where, fmt.Sprintf("(%s, id) %s (?, ?)", spec.column, op))
		if q.Sort == product.SortName {
			args = append(args, q.After.Key, q.After.ID)
		} else {
			args = append(args, q.After.IntKey(), q.After.ID)
		}
	}
	args = append(args, q.Limit+1)
	query := fmt.Sprintf(`SELECT %s FROM products WHERE %s ORDER BY %s %s, id %s LIMIT ?`,
		productColumns, strings.Join(where, " AND "), spec.column, dir, dir)
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

// Categories returns every category.
func (s *Store) Categories(ctx context.Context) ([]product.Category, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT slug, name, parent FROM categories ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []product.Category
	for rows.Next() {
		var (
			c      product.Category
			parent sql.NullString
		)
		if err := rows.Scan(&c.Slug, &c.Name, &parent); err != nil {
			return nil, err
		}
		c.Parent = parent.String
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateCategory inserts a category.
func (s *Store) CreateCategory(ctx context.Context, c product.Category) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO categories (slug, name, parent, created_at) VALUES (?, ?, ?, ?)`),
			c.Slug, c.Name, nullable(c.Parent), time.Now().UnixMicro())
		switch {
		case sqldb.IsUniqueViolation(err):
			return &errs.Error{Kind: errs.KindConflict, Msg: "the category already exists",
				Fields: []errs.FieldError{{Field: "slug", Detail: fmt.Sprintf("%q is already used", c.Slug)}}}
		case sqldb.IsForeignKeyViolation(err):
			return &errs.Error{Kind: errs.KindConflict, Msg: "the parent category was removed meanwhile",
				Fields: []errs.FieldError{{Field: "parent", Detail: "no longer exists"}}}
		case err != nil:
			return err
		}
		return s.emitCategory(ctx, tx, events.OpUpsert, c)
	})
}

// UpdateCategory renames or moves a category.
func (s *Store) UpdateCategory(ctx context.Context, slug string, c product.Category) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Q(`UPDATE categories SET name = ?, parent = ? WHERE slug = ?`), c.Name, nullable(c.Parent), slug)
		if sqldb.IsForeignKeyViolation(err) {
			return &errs.Error{Kind: errs.KindConflict, Msg: "the parent category was removed meanwhile",
				Fields: []errs.FieldError{{Field: "parent", Detail: "no longer exists"}}}
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.KindNotFound, "category %q not found", slug)
		}
		return s.emitCategory(ctx, tx, events.OpUpsert, c)
	})
}

// DeleteCategory removes a category with no products and no children.
func (s *Store) DeleteCategory(ctx context.Context, slug string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var children, products int
		if err := tx.QueryRowContext(ctx, s.db.Q(`SELECT
			(SELECT count(*) FROM categories WHERE parent = ?),
			(SELECT count(*) FROM products WHERE category = ?)`), slug, slug).Scan(&children, &products); err != nil {
			return err
		}
		if children > 0 || products > 0 {
			return errs.New(errs.KindConflict, "category %q still has %d subcategories and %d products", slug, children, products)
		}
		res, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM categories WHERE slug = ?`), slug)
		if sqldb.IsForeignKeyViolation(err) {
			return errs.New(errs.KindConflict, "category %q is still in use", slug)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.KindNotFound, "category %q not found", slug)
		}
		return s.emitCategory(ctx, tx, events.OpDelete, product.Category{Slug: slug})
	})
}

func (s *Store) emitCategory(ctx context.Context, tx *sql.Tx, op string, c product.Category) error {
	return s.emit(ctx, tx, events.CategorySubjectPrefix+c.Slug,
		events.CategoryChanged{Op: op, Slug: c.Slug, Name: c.Name, Parent: c.Parent, At: time.Now().UTC()})
}
