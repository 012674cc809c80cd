// Package searchtest holds a small, realistic catalog for the search
// service's tests, fed through the same events the product service
// publishes.
package searchtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// Product is the product snapshot a catalog event carries
// (events.Product), with helpers to build a catalog from it.
type Product events.Product

// The parts of a product, as the events define them.
type (
	Image      = events.Image
	Money      = events.Money
	Variant    = events.Variant
	PriceRange = events.PriceRange
)

// NewProduct returns an active product with one variant per price (stock
// 5 each, or 0 when inStock is false), derived fields filled in.
func NewProduct(id, name, brand, category string, inStock bool, created time.Time, prices ...int64) Product {
	p := Product{
		ID: id, Slug: slugOf(name), Name: name, Brand: brand, Category: category,
		Tags: []string{}, Attributes: map[string]string{}, Status: "active",
		Images:  []Image{{URL: "https://img.example/" + id + ".jpg", Alt: name}},
		Version: 1, CreatedAt: created, UpdatedAt: created,
	}
	for i, amount := range prices {
		stock := int64(0)
		if inStock {
			stock = 5
		}
		p.Variants = append(p.Variants, Variant{SKU: fmt.Sprintf("%s-%d", id, i), Options: map[string]string{},
			Price: Money{Amount: amount, Currency: "EUR"}, Stock: stock})
	}
	p.Derive()
	return p
}

// Derive computes price and in_stock from the variants, as the product
// service does.
func (p *Product) Derive() { p.Price, p.InStock = events.Derive(p.Variants) }

// Event returns the upsert event of p.
func (p Product) Event() events.ProductChanged {
	snap := events.Product(p)
	return events.ProductChanged{Op: events.OpUpsert, ID: p.ID, Version: p.Version, Product: &snap, At: p.UpdatedAt}
}

func slugOf(name string) string {
	b := make([]byte, 0, len(name))
	dash := false
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b, dash = append(b, c), false
		case c >= 'A' && c <= 'Z':
			b, dash = append(b, c+'a'-'A'), false
		case !dash && len(b) > 0:
			b, dash = append(b, '-'), true
		}
	}
	if dash {
		b = b[:len(b)-1]
	}
	return string(b)
}

// Categories is the catalog's tree: electronics > audio > headphones,
// speakers; electronics > tv-video > televisions; home > furniture > seating.
var Categories = []events.CategoryChanged{
	{Op: events.OpUpsert, Slug: "electronics", Name: "Electronics"},
	{Op: events.OpUpsert, Slug: "audio", Name: "Audio", Parent: "electronics"},
	{Op: events.OpUpsert, Slug: "headphones", Name: "Headphones", Parent: "audio"},
	{Op: events.OpUpsert, Slug: "speakers", Name: "Speakers", Parent: "audio"},
	{Op: events.OpUpsert, Slug: "tv-video", Name: "TV & Video", Parent: "electronics"},
	{Op: events.OpUpsert, Slug: "televisions", Name: "Televisions", Parent: "tv-video"},
	{Op: events.OpUpsert, Slug: "home", Name: "Home"},
	{Op: events.OpUpsert, Slug: "furniture", Name: "Furniture", Parent: "home"},
	{Op: events.OpUpsert, Slug: "seating", Name: "Seating", Parent: "furniture"},
}

func day(d int) time.Time { return time.Date(2024, 1, d, 12, 0, 0, 0, time.UTC) }

// IDs of the catalog's products.
const (
	SonyHeadphones = "p-sony-wh"
	BoseHeadphones = "p-bose-qc"
	AirPods        = "p-airpods"
	JBLFlip        = "p-jbl-flip"
	JBLClip        = "p-jbl-clip"
	SonySpeaker    = "p-sony-xb"
	SamsungTV      = "p-samsung-qled"
	LGTV           = "p-lg-oled"
	Couch          = "p-couch"
	SofaBed        = "p-sofa-bed"
	DraftHeadphone = "p-sennheiser"
	Archived       = "p-walkman"
)

// Catalog returns the products: ten active, one draft, one archived.
func Catalog() []Product {
	sony := NewProduct(SonyHeadphones, "Sony WH-1000XM5 Wireless Noise Cancelling Headphones", "Sony", "headphones", true, day(10), 34999, 36999)
	sony.Description = "Industry-leading noise cancellation with 30 hours of battery life and crystal clear calls."
	sony.Tags = []string{"wireless", "bluetooth", "noise-cancelling"}
	bose := NewProduct(BoseHeadphones, "Bose QuietComfort 45 Headphones", "Bose", "headphones", true, day(3), 27999)
	bose.Description = "Comfortable headphones that sit over your ears, with world-class quiet."
	airpods := NewProduct(AirPods, "Apple AirPods Pro", "Apple", "headphones", true, day(12), 24900)
	airpods.Description = "In-ear headphones with active noise cancellation and spatial audio."
	flip := NewProduct(JBLFlip, "JBL Flip 6 Portable Speaker", "JBL", "speakers", true, day(5), 12999)
	flip.Description = "Waterproof bluetooth speaker with bold sound."
	clip := NewProduct(JBLClip, "JBL Clip 4 Portable Speaker", "JBL", "speakers", true, day(6), 5499)
	clip.Description = "Ultra-portable speaker with an integrated carabiner."
	xb := NewProduct(SonySpeaker, "Sony SRS-XB13 Speaker", "Sony", "speakers", false, day(2), 5999)
	xb.Description = "Compact, waterproof and with extra bass."
	samsung := NewProduct(SamsungTV, "Samsung 55 inch QLED Television", "Samsung", "televisions", true, day(8), 79999)
	samsung.Description = "Quantum dot colour and a slim design for the living room."
	lg := NewProduct(LGTV, "LG OLED55 Television", "LG", "televisions", true, day(9), 129999)
	lg.Description = "Self-lit pixels and perfect black."
	couch := NewProduct(Couch, "Linen Three-Seat Couch", "Hay", "seating", true, day(1), 89900)
	couch.Description = "A deep, comfortable couch in washed linen."
	sofaBed := NewProduct(SofaBed, "Compact Sofa Bed", "Ikea", "seating", true, day(4), 39900)
	sofaBed.Description = "Folds out into a bed for two."
	draft := NewProduct(DraftHeadphone, "Sennheiser HD 560S Headphones", "Sennheiser", "headphones", true, day(11), 19900)
	draft.Status = "draft"
	walkman := NewProduct(Archived, "Sony Walkman Cassette Player", "Sony", "audio", true, day(1), 9900)
	walkman.Status = "archived"
	return []Product{sony, bose, airpods, flip, clip, xb, samsung, lg, couch, sofaBed, draft, walkman}
}

// Synonyms is a synonyms file for the catalog.
const Synonyms = `# equivalences and one-way mappings
tv, television
sofa, couch
earbuds, in-ear headphones
`

// Seed applies the categories and products to svc as stream messages 1..n
// and returns n.
func Seed(t testing.TB, svc *search.Service) uint64 {
	t.Helper()
	ctx := context.Background()
	var seq uint64
	for _, c := range Categories {
		seq++
		if err := svc.ApplyCategory(ctx, c, seq); err != nil {
			t.Fatalf("apply category %s: %v", c.Slug, err)
		}
	}
	for _, p := range Catalog() {
		seq++
		if err := svc.ApplyProduct(ctx, p.Event(), seq); err != nil {
			t.Fatalf("apply product %s: %v", p.ID, err)
		}
	}
	return seq
}

// Generated returns product i of a large catalog for benchmarks: names of
// 40 brands and a few kinds over the leaf categories, a description of
// ordinary words, one in five out of stock.
func Generated(i int) events.ProductChanged {
	nouns := []string{"Headphones", "Speaker", "Television", "Sofa", "Skillet", "Backpack", "Lamp"}
	leaves := []string{"headphones", "speakers", "televisions", "seating"}
	brand := fmt.Sprintf("Brand%02d", i%40)
	p := NewProduct(fmt.Sprintf("p-%08d", i), fmt.Sprintf("%s %s %d", brand, nouns[i%len(nouns)], i), brand,
		leaves[i%len(leaves)], i%5 > 0, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute),
		int64(500+i*37%200_000))
	p.Description = "durable everyday design with a two year warranty, tested for comfort and sound in real homes"
	return p.Event()
}

// CatalogSize returns the number of products a benchmark should index:
// VITRINE_CATALOG_SIZE, or def when it is unset.
func CatalogSize(tb testing.TB, def int) int {
	v := os.Getenv("VITRINE_CATALOG_SIZE")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("VITRINE_CATALOG_SIZE=%q: want a positive number of products", v)
	}
	return n
}
