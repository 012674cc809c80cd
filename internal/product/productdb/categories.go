package productdb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Categories returns every category.
func (s *Store) Categories(ctx context.Context) ([]product.Category, error) {
	return s.categories(ctx, s.db)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) categories(ctx context.Context, q querier) ([]product.Category, error) {
	rows, err := q.QueryContext(ctx, `SELECT slug, name, parent FROM categories ORDER BY slug`)
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

// lockTree checks, inside the write transaction, that c's parent exists
// and is not c or below it. Writes to the tree take turns (SQLite's
// transactions are immediate; on PostgreSQL an advisory lock), so two
// concurrent moves cannot each pass the check and together make a cycle.
func (s *Store) lockTree(ctx context.Context, tx *sql.Tx, c product.Category) error {
	if s.db.Dialect == sqldb.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, categoryTreeLock); err != nil {
			return err
		}
	}
	if c.Parent == "" {
		return nil
	}
	flat, err := s.categories(ctx, tx)
	if err != nil {
		return err
	}
	return product.CheckParent(flat, c.Slug, c.Parent)
}

// categoryTreeLock is the advisory lock key of category tree writes.
const categoryTreeLock int64 = 0x76697472696e6563 // "vitrinec"

// CreateCategory inserts a category under an existing parent.
func (s *Store) CreateCategory(ctx context.Context, c product.Category) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockTree(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO categories (slug, name, parent, created_at) VALUES (?, ?, ?, ?)`),
			c.Slug, c.Name, nullable(c.Parent), s.now().UnixMicro())
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

// UpdateCategory renames or moves a category; a move that would make a
// cycle is refused.
func (s *Store) UpdateCategory(ctx context.Context, slug string, c product.Category) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockTree(ctx, tx, product.Category{Slug: slug, Parent: c.Parent}); err != nil {
			return err
		}
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
	return s.emit(ctx, tx, events.CategoryChanged{Op: op, Slug: c.Slug, Name: c.Name, Parent: c.Parent, At: s.now().UTC()})
}
