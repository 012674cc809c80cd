package productseed_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
		if !known[p.Category] || len(p.Attributes) == 0 || p.Price.Min <= 0 {
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
	if err := productseed.Seed(ctx, store, nil, 1500, 1, nil); err != nil {
		t.Fatal(err)
	}
	// Seeding again adds products and keeps the existing categories.
	if err := productseed.Seed(ctx, store, nil, 500, 2, nil); err != nil {
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

// pictureRecorder stands for the product service's StoreImage: it records
// the picture under its hash, as the pipeline does, without making sizes.
type pictureRecorder struct {
	store  *productdb.Store
	mu     sync.Mutex
	stored int
}

func (r *pictureRecorder) StoreImage(ctx context.Context, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	r.mu.Lock()
	r.stored++
	r.mu.Unlock()
	return hash, r.store.SaveImage(ctx, product.ImageFile{Hash: hash, ContentType: "image/jpeg", Width: 480, Height: 360, Bytes: int64(len(data))})
}

// productRecorder keeps the products a seed writes.
type productRecorder struct {
	*productdb.Store
	products []*product.Product
}

func (r *productRecorder) CreateProducts(ctx context.Context, ps []*product.Product) error {
	r.products = append(r.products, ps...)
	return r.Store.CreateProducts(ctx, ps)
}

// seedWithPictures seeds n products with seed into a new store and
// returns them, and how many pictures were stored.
func seedWithPictures(t *testing.T, n int, seed uint64) ([]*product.Product, int) {
	t.Helper()
	ctx := context.Background()
	store, err := productdb.Open(ctx, sqldb.Config{SQLitePath: filepath.Join(t.TempDir(), "product.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	products := &productRecorder{Store: store}
	pictures := &pictureRecorder{store: store}
	if err := productseed.Seed(ctx, products, pictures, n, seed, nil); err != nil {
		t.Fatal(err)
	}
	return products.products, pictures.stored
}

// TestSeededPictures: every seeded product has an uploaded picture of its
// own, which the products of its category by brands of the same initial
// share (each stored once), and the same seed draws the same pictures.
func TestSeededPictures(t *testing.T) {
	const n = 60
	first, stored := seedWithPictures(t, n, 3)
	// Products are written as their pictures come: compared by number
	// (the end of the slug).
	hashes := func(ps []*product.Product) map[string]string {
		out := map[string]string{}
		for _, p := range ps {
			out[p.Slug[strings.LastIndex(p.Slug, "-"):]] = p.Images[0].Hash
		}
		return out
	}
	distinct := slices.Compact(slices.Sorted(maps.Values(hashes(first))))
	if stored != len(distinct) || stored >= n {
		t.Errorf("%d pictures stored for %d distinct ones among %d products", stored, len(distinct), n)
	}
	shared := map[string]string{}
	for _, p := range first {
		if len(p.Images) != 1 || p.Images[0].Alt != p.Name {
			t.Fatalf("%s has images %+v, want its picture", p.Name, p.Images)
		}
		img := p.Images[0]
		if img.URL != "/images/"+img.Hash+"/full.jpg" || img.Card != "/images/"+img.Hash+"/card.jpg" || p.Thumbnail != img.Thumbnail {
			t.Fatalf("%s: image %+v (listed with %q) is not an uploaded picture's", p.Name, img, p.Thumbnail)
		}
		key := p.Category + " " + p.Brand[:1]
		if h, ok := shared[key]; ok && h != img.Hash {
			t.Errorf("two products of %s, by brands starting with %s, have different pictures", p.Category, p.Brand[:1])
		}
		shared[key] = img.Hash
	}

	again, _ := seedWithPictures(t, n, 3)
	if !maps.Equal(hashes(first), hashes(again)) {
		t.Error("seeding again with the same seed drew other pictures")
	}
	other, _ := seedWithPictures(t, n, 4)
	if maps.Equal(hashes(first), hashes(other)) {
		t.Error("another seed gave the same pictures to the same products")
	}
}
