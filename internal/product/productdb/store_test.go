package productdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// TestStoreContract runs one suite against every implementation of
// product.Store: SQLite and PostgreSQL.
func TestStoreContract(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			open := func(t *testing.T) product.Store {
				s, err := productdb.Open(context.Background(), sqltest.Config(t, d, "product"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			t.Run("CreateAndGet", func(t *testing.T) { testCreateAndGet(t, open(t)) })
			t.Run("Conflicts", func(t *testing.T) { testConflicts(t, open(t)) })
			t.Run("ConditionalWrites", func(t *testing.T) { testConditionalWrites(t, open(t)) })
			t.Run("ListingPagesEveryRowOnce", func(t *testing.T) { testListing(t, open(t)) })
			t.Run("Categories", func(t *testing.T) { testCategories(t, open(t)) })
			t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open(t)) })
			t.Run("StatsAndBestsellers", func(t *testing.T) { testStats(t, open(t)) })
			t.Run("OutboxRecordsEveryWrite", func(t *testing.T) { testOutbox(t, open(t), d) })
			t.Run("Images", func(t *testing.T) { testImages(t, open(t)) })
			t.Run("BulkWrites", func(t *testing.T) { testBulkWrites(t, open(t)) })
		})
	}
}

var clock = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newProduct(n int, brand, category string, price int64) *product.Product {
	clock = clock.Add(time.Second)
	p := &product.Product{
		ID: uuid.Must(uuid.NewV7()).String(), Slug: fmt.Sprintf("p-%d", n), Name: fmt.Sprintf("Product %03d", n%50),
		Brand: brand, Category: category, Status: product.StatusActive, Tags: []string{"t"},
		Attributes: map[string]string{"k": "v"}, Images: []product.Image{{URL: "https://img.test/1.jpg", Alt: "x"}},
		Variants: []product.Variant{{SKU: fmt.Sprintf("SKU-%d", n), Options: map[string]string{}, Price: product.Money{Amount: price, Currency: "EUR"}, Stock: int64(n % 3)}},
		Version:  1, CreatedAt: clock, UpdatedAt: clock,
	}
	p.Derive()
	return p
}

func mustCreate(t *testing.T, s product.Store, p *product.Product) {
	t.Helper()
	if err := s.CreateProduct(context.Background(), p, nil); err != nil {
		t.Fatalf("create %s: %v", p.Slug, err)
	}
}

func testCreateAndGet(t *testing.T, s product.Store) {
	ctx := context.Background()
	p := newProduct(1, "Acme", "", 1999)
	mustCreate(t, s, p)
	for _, key := range []string{p.ID, p.Slug} {
		got, err := s.Product(ctx, key)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		if got.ID != p.ID || got.Name != p.Name || got.Price != p.Price || !got.CreatedAt.Equal(p.CreatedAt) ||
			len(got.Variants) != 1 || got.Variants[0].SKU != p.Variants[0].SKU || got.Attributes["k"] != "v" || got.Images[0].URL != p.Images[0].URL {
			t.Fatalf("got %+v, want %+v", got, p)
		}
	}
	if _, err := s.Product(ctx, "missing"); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("missing product: got %v, want not found", err)
	}
}

func testConflicts(t *testing.T, s product.Store) {
	ctx := context.Background()
	a := newProduct(1, "Acme", "", 100)
	mustCreate(t, s, a)
	dupSlug := newProduct(2, "Acme", "", 100)
	dupSlug.Slug = a.Slug
	if err := s.CreateProduct(ctx, dupSlug, nil); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate slug: got %v, want conflict", err)
	}
	dupSKU := newProduct(3, "Acme", "", 100)
	dupSKU.Variants[0].SKU = a.Variants[0].SKU
	if err := s.CreateProduct(ctx, dupSKU, nil); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate sku: got %v, want conflict", err)
	}
	// Nothing of the refused writes remains: the SKU and slug of 2 and 3 are free.
	if _, err := s.Product(ctx, dupSKU.ID); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("refused product was stored: %v", err)
	}
	mustCreate(t, s, newProduct(3, "Acme", "", 100))
	unknownCategory := newProduct(4, "Acme", "no-such-category", 100)
	if err := s.CreateProduct(ctx, unknownCategory, nil); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("unknown category: got %v, want conflict", err)
	}
}

func testConditionalWrites(t *testing.T, s product.Store) {
	ctx := context.Background()
	p := newProduct(1, "Acme", "", 100)
	mustCreate(t, s, p)
	next := *p
	next.Name, next.Version = "Renamed", 2
	next.Variants = []product.Variant{{SKU: "NEW-SKU", Options: map[string]string{}, Price: product.Money{Amount: 50, Currency: "EUR"}, Stock: 1}}
	next.Derive()
	if err := s.UpdateProduct(ctx, &next, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateProduct(ctx, &next, 1); !errors.Is(err, product.ErrVersionMismatch) {
		t.Fatalf("stale update: got %v, want version mismatch", err)
	}
	got, _ := s.Product(ctx, p.ID)
	if got.Name != "Renamed" || got.Version != 2 || got.Price.Min != 50 {
		t.Fatalf("after update: %+v", got)
	}
	// The old SKU is free again, the new one is taken.
	other := newProduct(2, "Acme", "", 1)
	other.Variants[0].SKU = p.Variants[0].SKU
	mustCreate(t, s, other)
	if err := s.DeleteProduct(ctx, p.ID, 1); !errors.Is(err, product.ErrVersionMismatch) {
		t.Fatalf("stale delete: got %v", err)
	}
	if err := s.DeleteProduct(ctx, p.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Product(ctx, p.ID); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("deleted product still found: %v", err)
	}
}

func testListing(t *testing.T, s product.Store) {
	ctx := context.Background()
	for _, c := range []string{"shoes", "boots"} {
		if err := s.CreateCategory(ctx, product.Category{Slug: c, Name: c}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for i := 0; i < 57; i++ {
		cat := []string{"shoes", "boots", ""}[i%3]
		p := newProduct(i, []string{"Acme", "Zeta"}[i%2], cat, int64(100*(i%7))) // repeated prices and names: ties
		if i%10 == 9 {
			p.Status = product.StatusDraft
		}
		mustCreate(t, s, p)
		if p.Status == product.StatusActive && p.Brand == "Acme" && cat != "" {
			want[p.ID] = true
		}
	}
	for _, sort := range []string{product.SortNewest, product.SortPrice, product.SortPriceDesc, product.SortName, product.SortSalesDesc} {
		q := product.ListQuery{Categories: []string{"shoes", "boots"}, Brands: []string{"Acme"}, Sort: sort, Limit: 4}
		seen := map[string]bool{}
		var last *product.Product
		for pages := 0; pages < 100; pages++ {
			items, err := s.ListProducts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			page := items
			if len(items) > q.Limit {
				page = items[:q.Limit]
			}
			for _, p := range page {
				if seen[p.ID] {
					t.Fatalf("%s: %s listed twice", sort, p.ID)
				}
				if last != nil && outOfOrder(sort, last, p) {
					t.Fatalf("%s: %s before %s", sort, last.Name, p.Name)
				}
				seen[p.ID], last = true, p
			}
			if len(items) <= q.Limit {
				break
			}
			q.After = product.CursorFor(page[len(page)-1], sort, "")
		}
		if len(seen) != len(want) {
			t.Fatalf("%s: listed %d products, want %d", sort, len(seen), len(want))
		}
		for id := range want {
			if !seen[id] {
				t.Fatalf("%s: %s never listed", sort, id)
			}
		}
	}
	min, max := int64(200), int64(400)
	items, err := s.ListProducts(ctx, product.ListQuery{MinPrice: &min, MaxPrice: &max, InStock: true, Sort: product.SortPrice, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) == 0 {
		t.Fatal("price filter found nothing")
	}
	for _, p := range items {
		if p.Price.Min < min || p.Price.Min > max || !p.InStock || p.Status != product.StatusActive {
			t.Fatalf("filter let through %+v", p)
		}
	}
}

func outOfOrder(sort string, a, b *product.Product) bool {
	switch sort {
	case product.SortPrice:
		return a.Price.Min > b.Price.Min
	case product.SortPriceDesc:
		return a.Price.Min < b.Price.Min
	case product.SortName:
		return a.Name > b.Name
	case product.SortSalesDesc:
		return a.SalesCount < b.SalesCount
	default:
		return a.CreatedAt.Before(b.CreatedAt)
	}
}

func testCategories(t *testing.T, s product.Store) {
	ctx := context.Background()
	for _, c := range []product.Category{{Slug: "men", Name: "Men"}, {Slug: "shoes", Name: "Shoes", Parent: "men"}} {
		if err := s.CreateCategory(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateCategory(ctx, product.Category{Slug: "men", Name: "Again"}); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate category: got %v", err)
	}
	if err := s.DeleteCategory(ctx, "men"); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("delete category with children: got %v", err)
	}
	mustCreate(t, s, newProduct(1, "Acme", "shoes", 100))
	if err := s.DeleteCategory(ctx, "shoes"); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("delete category with products: got %v", err)
	}
	if err := s.UpdateCategory(ctx, "shoes", product.Category{Slug: "shoes", Name: "Footwear"}); err != nil {
		t.Fatal(err)
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cats) != 2 || cats[1].Name != "Footwear" || cats[1].Parent != "" {
		t.Fatalf("categories: %+v", cats)
	}
	if err := s.DeleteCategory(ctx, "missing"); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("delete missing category: got %v", err)
	}
	if err := s.DeleteCategory(ctx, "men"); err != nil {
		t.Fatal(err)
	}
}

func testIdempotency(t *testing.T, s product.Store) {
	ctx := context.Background()
	rec := &product.IdempotencyRecord{Key: "u1:k1", RequestHash: "h", Status: 201, Body: []byte(`{"id":"x"}`), CreatedAt: clock}
	p := newProduct(1, "Acme", "", 100)
	rec.ProductID = p.ID
	if err := s.CreateProduct(ctx, p, rec); err != nil {
		t.Fatal(err)
	}
	again := newProduct(2, "Acme", "", 100)
	if err := s.CreateProduct(ctx, again, rec); !errors.Is(err, product.ErrIdempotencyKeyTaken) {
		t.Fatalf("reused key: got %v", err)
	}
	if _, err := s.Product(ctx, again.ID); !errs.Is(err, errs.KindNotFound) {
		t.Fatal("a replay created a product")
	}
	got, err := s.IdempotencyRecord(ctx, "u1:k1")
	if err != nil || string(got.Body) != string(rec.Body) || got.ProductID != p.ID || got.Status != 201 {
		t.Fatalf("record: %+v, %v", got, err)
	}
}

func testStats(t *testing.T, s product.Store) {
	ctx := context.Background()
	a, b := newProduct(1, "Acme", "", 1), newProduct(2, "Acme", "", 1)
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	if err := s.SetStats(ctx, []product.Stat{{ProductID: b.ID, Sales: 5, Views: 9}, {ProductID: "unknown", Sales: 1}}); err != nil {
		t.Fatal(err)
	}
	best, err := s.Bestsellers(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(best) != 2 || best[0].ID != b.ID || best[0].SalesCount != 5 || best[0].ViewCount != 9 {
		t.Fatalf("bestsellers: %+v", best)
	}
}

func testOutbox(t *testing.T, s product.Store, d sqldb.Dialect) {
	ctx := context.Background()
	if err := s.CreateCategory(ctx, product.Category{Slug: "c", Name: "C"}); err != nil {
		t.Fatal(err)
	}
	p := newProduct(1, "Acme", "c", 1)
	mustCreate(t, s, p)
	bad := newProduct(2, "Acme", "c", 1)
	bad.Slug = p.Slug
	_ = s.CreateProduct(ctx, bad, nil) // refused: must leave no event
	next := *p
	next.Version = 2
	if err := s.UpdateProduct(ctx, &next, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProduct(ctx, p.ID, 2); err != nil {
		t.Fatal(err)
	}
	db := s.(*productdb.Store).DB()
	rows, err := db.QueryContext(ctx, "SELECT subject FROM outbox ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var subjects []string
	for rows.Next() {
		var subj string
		if err := rows.Scan(&subj); err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, subj)
	}
	want := []string{"catalog.category.c", "catalog.product." + p.ID, "catalog.product." + p.ID, "catalog.product." + p.ID}
	if fmt.Sprint(subjects) != fmt.Sprint(want) {
		t.Fatalf("%s outbox: %v, want %v", d, subjects, want)
	}
}

// TestCursorSecretIsSharedByEveryInstance: instances asking at once on one
// fresh database agree on the secret that signs cursors, and keep it.
func TestCursorSecretIsSharedByEveryInstance(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			cfg := sqltest.Config(t, d, "product")
			open := func() *productdb.Store {
				s, err := productdb.Open(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			type result struct {
				secret []byte
				err    error
			}
			results := make(chan result, 4)
			for range cap(results) {
				s := open()
				go func() {
					secret, err := s.CursorSecret(context.Background())
					results <- result{secret, err}
				}()
			}
			var first []byte
			for range cap(results) {
				r := <-results
				if r.err != nil {
					t.Fatal(r.err)
				}
				if len(r.secret) != product.CursorSecretLen || first != nil && string(r.secret) != string(first) {
					t.Fatalf("instances disagree: %x and %x", first, r.secret)
				}
				first = r.secret
			}
			if again, err := open().CursorSecret(context.Background()); err != nil || string(again) != string(first) {
				t.Fatalf("a later instance: %x, %v; want %x", again, err, first)
			}
		})
	}
}
