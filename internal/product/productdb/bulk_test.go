package productdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// testBulkWrites: a batch of new products goes in whole (on PostgreSQL by
// COPY) or not at all; updates in a batch are conditional on the version
// before; the look-ups a bulk import makes find what was written.
func testBulkWrites(t *testing.T, s product.Store) {
	ctx := context.Background()
	a, b := newProduct(1, "Acme", "", 100), newProduct(2, "Acme", "", 200)
	if err := s.WriteProducts(ctx, []*product.Product{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	found, err := s.ProductsBySlug(ctx, []string{a.Slug, b.Slug, "absent"})
	if err != nil || len(found) != 2 || found[a.Slug].ID != a.ID {
		t.Fatalf("by slug: %v, %v", found, err)
	}
	owners, err := s.SKUOwners(ctx, []string{a.Variants[0].SKU, "NOPE"})
	if err != nil || len(owners) != 1 || owners[a.Variants[0].SKU] != a.ID {
		t.Fatalf("SKU owners: %v, %v", owners, err)
	}

	// A batch holding a taken SKU writes nothing.
	c, thief := newProduct(3, "Acme", "", 300), newProduct(4, "Acme", "", 400)
	thief.Variants[0].SKU = a.Variants[0].SKU
	if err := s.WriteProducts(ctx, []*product.Product{c, thief}, nil); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("a batch with a taken SKU: %v, want a conflict", err)
	}
	if _, err := s.Product(ctx, c.Slug); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("the batch was half-written: %v", err)
	}

	// Updates carry their new version; a stale one fails the batch.
	next := *found[a.Slug]
	next.Name, next.Version = "Renamed", next.Version+1
	if err := s.WriteProducts(ctx, nil, []*product.Product{&next}); err != nil {
		t.Fatal(err)
	}
	stale := next
	stale.Name = "Again"
	if err := s.WriteProducts(ctx, []*product.Product{c}, []*product.Product{&stale}); !errors.Is(err, product.ErrVersionMismatch) {
		t.Fatalf("a stale update: %v, want a version mismatch", err)
	}
	if got, _ := s.Product(ctx, a.ID); got.Name != "Renamed" {
		t.Fatalf("after the refused batch the name is %q", got.Name)
	}
	if _, err := s.Product(ctx, c.Slug); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("the refused batch created %s: %v", c.Slug, err)
	}

	// An export pages through every status in id order.
	draft := newProduct(5, "Acme", "", 500)
	draft.Status = product.StatusDraft
	mustCreate(t, s, draft)
	var ids []string
	for after := ""; ; {
		page, err := s.(*productdb.Store).ProductsAfter(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(ids) != 3 || ids[0] != a.ID || ids[1] != b.ID || ids[2] != draft.ID {
		t.Fatalf("export pages %v, want %s %s %s", ids, a.ID, b.ID, draft.ID)
	}
}
