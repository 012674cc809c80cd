package productseed_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/productseed"
)

// TestGeneratedProductsAreValid: every generated product passes the same
// rules as one created through the API.
func TestGeneratedProductsAreValid(t *testing.T) {
	known := map[string]bool{}
	for _, c := range productseed.Categories() {
		known[c.Slug] = true
	}
	g := productseed.NewGenerator(7)
	for i := 0; i < 2000; i++ {
		p := g.Product(i)
		in := product.InputOf(p)
		if err := product.Prepare(&in); err != nil {
			t.Fatalf("product %d (%s) is invalid: %v", i, p.Name, err)
		}
		if !known[p.Category] || len(p.Images) == 0 || len(p.Attributes) == 0 || p.Price.Min <= 0 {
			t.Fatalf("product %d is not realistic: %+v", i, p)
		}
	}
}

func TestSeedFillsACatalog(t *testing.T) {
	ctx := context.Background()
	store, err := productdb.Open(ctx, sqldb.Config{SQLitePath: filepath.Join(t.TempDir(), "product.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := productseed.Seed(ctx, store, 1500, 1, nil); err != nil {
		t.Fatal(err)
	}
	// Seeding again adds products and keeps the existing categories.
	if err := productseed.Seed(ctx, store, 500, 2, nil); err != nil {
		t.Fatal(err)
	}
	secret, err := store.CursorSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := product.NewService(store, secret)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	cursor := ""
	for {
		page, err := svc.List(ctx, product.ListQuery{Limit: 100, Statuses: []string{product.StatusActive, product.StatusDraft}}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(page.Items)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if seen != 2000 {
		t.Fatalf("listed %d products, want 2000", seen)
	}
	tree, err := svc.Categories(ctx)
	if err != nil || len(tree) != 5 {
		t.Fatalf("%d root categories (%v), want 5 departments", len(tree), err)
	}
}
