package productdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// unreferenced is true of an images row that no product holds.
const unreferenced = `NOT EXISTS (SELECT 1 FROM product_images r WHERE r.hash = images.hash)`

// SaveImage records an uploaded picture as pending, or takes back one
// that was released, before its files are written.
func (s *Store) SaveImage(ctx context.Context, f product.ImageFile) error {
	_, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO images (hash, content_type, width, height, bytes, touched_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET released_at = NULL, touched_at = excluded.touched_at`),
		f.Hash, f.ContentType, f.Width, f.Height, f.Bytes, s.now().UnixMicro())
	return err
}

// ReleaseImage marks a picture that no product holds as free to delete.
func (s *Store) ReleaseImage(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, s.db.Q(`UPDATE images SET released_at = ?
		WHERE hash = ? AND released_at IS NULL AND `+unreferenced), s.now().UnixMicro(), hash)
	return err
}

// ImagesToDelete returns released pictures, and pictures whose upload
// was left unfinished before staleBefore (none when it is zero).
func (s *Store) ImagesToDelete(ctx context.Context, staleBefore time.Time, limit int) ([]string, error) {
	query := `SELECT hash FROM images WHERE released_at IS NOT NULL`
	args := []any{}
	if !staleBefore.IsZero() {
		query += ` UNION SELECT hash FROM images WHERE released_at IS NULL AND touched_at < ? AND ` + unreferenced
		args = append(args, staleBefore.UnixMicro())
	}
	return s.hashes(ctx, s.db, query+` LIMIT ?`, append(args, limit)...)
}

// DeleteImage deletes the row of a picture that is still free to delete
// (released, or left unfinished before staleBefore, and held by no
// product), calling removeFiles before the deletion commits: files that
// cannot be removed keep their row, for the next sweep. An upload of the
// same picture meanwhile waits for the row, then records it anew.
func (s *Store) DeleteImage(ctx context.Context, hash string, staleBefore time.Time, removeFiles func(context.Context) error) (bool, error) {
	stale := int64(-1)
	if !staleBefore.IsZero() {
		stale = staleBefore.UnixMicro()
	}
	deleted := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM images
			WHERE hash = ? AND (released_at IS NOT NULL OR touched_at < ?) AND `+unreferenced), hash, stale)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		deleted = true
		return removeFiles(ctx)
	})
	if err != nil {
		return false, err
	}
	return deleted, nil
}

// holdImages makes product id hold exactly the uploaded pictures among
// images, and releases those it let go of that no other product holds.
func (s *Store) holdImages(ctx context.Context, tx *sql.Tx, id string, images []product.Image) error {
	var want []string
	for _, img := range images {
		if img.Hash != "" && !slices.Contains(want, img.Hash) {
			want = append(want, img.Hash)
		}
	}
	held, err := s.hashes(ctx, tx, `SELECT hash FROM product_images WHERE product_id = ?`, id)
	if err != nil {
		return err
	}
	if len(held) == 0 && len(want) == 0 {
		return nil
	}
	if err := s.checkImagesExist(ctx, tx, images, want); err != nil {
		return err
	}
	for _, h := range want {
		if slices.Contains(held, h) {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO product_images (product_id, hash) VALUES (?, ?)`), id, h); err != nil {
			if sqldb.IsForeignKeyViolation(err) {
				return imageFieldError(errs.KindConflict, images, h, "the picture was deleted meanwhile; upload it again")
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, s.db.Q(`UPDATE images SET released_at = NULL WHERE hash = ?`), h); err != nil {
			return err
		}
	}
	now := s.now().UnixMicro()
	for _, h := range held {
		if slices.Contains(want, h) {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.db.Q(`DELETE FROM product_images WHERE product_id = ? AND hash = ?`), id, h); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.db.Q(`UPDATE images SET released_at = ? WHERE hash = ? AND `+unreferenced), now, h); err != nil {
			return err
		}
	}
	return nil
}

// holdNewImages is holdImages for products just inserted, which hold no
// picture yet, all at once: one look-up and one release for the batch,
// and one prepared insert, instead of four statements a product (a
// seeded catalog of 100,000 products names pictures 200,000 times).
func (s *Store) holdNewImages(ctx context.Context, tx *sql.Tx, ps []*product.Product) error {
	var want []string
	seen := map[string]bool{}
	for _, p := range ps {
		for _, img := range p.Images {
			if img.Hash != "" && !seen[img.Hash] {
				seen[img.Hash] = true
				want = append(want, img.Hash)
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	known, err := s.knownImages(ctx, tx, want)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := missingImages(p.Images, known); err != nil {
			return err
		}
	}
	insert, err := tx.PrepareContext(ctx, s.db.Q(`INSERT INTO product_images (product_id, hash) VALUES (?, ?)`))
	if err != nil {
		return err
	}
	defer insert.Close()
	for _, p := range ps {
		for i, img := range p.Images {
			if img.Hash == "" || slices.ContainsFunc(p.Images[:i], func(o product.Image) bool { return o.Hash == img.Hash }) {
				continue
			}
			if _, err := insert.ExecContext(ctx, p.ID, img.Hash); err != nil {
				if sqldb.IsForeignKeyViolation(err) {
					return imageFieldError(errs.KindConflict, p.Images, img.Hash, "the picture was deleted meanwhile; upload it again")
				}
				return err
			}
		}
	}
	for chunk := range slices.Chunk(want, maxInList) {
		if _, err := tx.ExecContext(ctx, s.db.Q(`UPDATE images SET released_at = NULL
			WHERE released_at IS NOT NULL AND hash IN (`+sqldb.Placeholders(len(chunk))+`)`), anys(chunk)...); err != nil {
			return err
		}
	}
	return nil
}

// maxInList bounds the values of one IN list, well within what SQLite
// and PostgreSQL take.
const maxInList = 500

// checkImagesExist reports, by field, pictures a product names that were
// never uploaded.
func (s *Store) checkImagesExist(ctx context.Context, tx *sql.Tx, images []product.Image, want []string) error {
	if len(want) == 0 {
		return nil
	}
	known, err := s.knownImages(ctx, tx, want)
	if err != nil {
		return err
	}
	return missingImages(images, known)
}

// knownImages returns those of hashes that name a picture.
func (s *Store) knownImages(ctx context.Context, tx *sql.Tx, hashes []string) (map[string]bool, error) {
	known := make(map[string]bool, len(hashes))
	for chunk := range slices.Chunk(hashes, maxInList) {
		found, err := s.hashes(ctx, tx, `SELECT hash FROM images WHERE hash IN (`+sqldb.Placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for _, h := range found {
			known[h] = true
		}
	}
	return known, nil
}

// missingImages reports, by field, the uploaded pictures among images
// that are not known.
func missingImages(images []product.Image, known map[string]bool) error {
	var v errs.Validation
	for i, img := range images {
		if img.Hash != "" && !known[img.Hash] {
			v.Add(fmt.Sprintf("images[%d].hash", i), "no uploaded picture has this hash")
		}
	}
	return v.Err()
}

func anys(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func imageFieldError(kind errs.Kind, images []product.Image, hash, detail string) error {
	e := &errs.Error{Kind: kind, Msg: detail}
	for i, img := range images {
		if img.Hash == hash {
			e.Fields = append(e.Fields, errs.FieldError{Field: fmt.Sprintf("images[%d].hash", i), Detail: detail})
		}
	}
	return e
}

// hashes runs a query of one column of picture hashes.
func (s *Store) hashes(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.db.Q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
