// Package productseed generates a realistic demo catalog: a category tree,
// brands, and products with variants, attributes and pictures drawn for
// them.
package productseed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
)

type department struct {
	name     string
	sections map[string][]string // section -> kinds of product (leaf categories)
	minPrice int64               // minor units
	maxPrice int64
	options  map[string][]string // variant options
}

var departments = []department{
	{"Electronics", map[string][]string{
		"Audio":     {"Headphones", "Earbuds", "Speakers", "Soundbars"},
		"Computers": {"Laptops", "Monitors", "Keyboards", "Mice"},
		"Phones":    {"Smartphones", "Chargers", "Cases"},
	}, 999, 249900, map[string][]string{"color": {"Black", "White", "Silver", "Blue"}}},
	{"Fashion", map[string][]string{
		"Men":         {"Shirts", "Jackets", "Trousers", "Sneakers"},
		"Women":       {"Dresses", "Blouses", "Skirts", "Boots"},
		"Accessories": {"Bags", "Belts", "Scarves", "Watches"},
	}, 1499, 39900, map[string][]string{"size": {"XS", "S", "M", "L", "XL"}, "color": {"Black", "Navy", "Red", "Beige"}}},
	{"Home", map[string][]string{
		"Kitchen":   {"Cookware", "Knives", "Coffee Makers", "Blenders"},
		"Furniture": {"Chairs", "Tables", "Shelves", "Sofas"},
		"Decor":     {"Lamps", "Rugs", "Cushions", "Vases"},
	}, 999, 149900, map[string][]string{"color": {"Oak", "Walnut", "White", "Grey"}}},
	{"Sports", map[string][]string{
		"Fitness": {"Dumbbells", "Yoga Mats", "Resistance Bands"},
		"Outdoor": {"Tents", "Backpacks", "Sleeping Bags", "Hiking Boots"},
		"Cycling": {"Bikes", "Helmets", "Bike Lights"},
	}, 799, 189900, map[string][]string{"size": {"S", "M", "L"}}},
	{"Beauty", map[string][]string{
		"Skincare": {"Moisturizers", "Serums", "Cleansers"},
		"Makeup":   {"Lipsticks", "Mascaras", "Foundations"},
		"Hair":     {"Shampoos", "Hair Dryers", "Conditioners"},
	}, 499, 19900, map[string][]string{"volume": {"50ml", "100ml", "200ml"}}},
}

var (
	brands = []string{"Acme", "Nordwind", "Lumen", "Kestrel", "Orbis", "Vantage", "Solace", "Tundra", "Halcyon", "Meridian",
		"Pioneer", "Aurora", "Granite", "Zephyr", "Cobalt", "Juniper", "Atlas", "Ember", "Quartz", "Sable",
		"Willow", "Falcon", "Harbor", "Summit", "Vertex", "Nimbus", "Cascade", "Ironwood", "Lark", "Basalt"}
	adjectives = []string{"Classic", "Premium", "Compact", "Wireless", "Ultra", "Eco", "Pro", "Essential", "Deluxe", "Smart",
		"Lightweight", "Vintage", "Modern", "Portable", "Ergonomic", "Organic", "Rugged", "Slim", "Urban", "Studio"}
	materials = []string{"cotton", "leather", "aluminium", "steel", "bamboo", "wool", "recycled plastic", "glass", "oak", "linen"}
)

// Leaf is a leaf category with the department it belongs to.
type leaf struct {
	slug  string
	kind  string
	dept  *department
	style style // of its pictures
}

// Categories returns the category tree, parents before children.
func Categories() []product.Category {
	var out []product.Category
	for _, d := range departments {
		dslug := product.Slugify(d.name)
		out = append(out, product.Category{Slug: dslug, Name: d.name})
		for _, section := range sortedKeys(d.sections) {
			sslug := dslug + "-" + product.Slugify(section)
			out = append(out, product.Category{Slug: sslug, Name: section, Parent: dslug})
			for _, kind := range d.sections[section] {
				out = append(out, product.Category{Slug: sslug + "-" + product.Slugify(kind), Name: kind, Parent: sslug})
			}
		}
	}
	return out
}

func leaves() []leaf {
	var out []leaf
	for i := range departments {
		d := &departments[i]
		dslug := product.Slugify(d.name)
		for si, section := range sortedKeys(d.sections) {
			for ki, kind := range d.sections[section] {
				out = append(out, leaf{slug: dslug + "-" + product.Slugify(section) + "-" + product.Slugify(kind), kind: kind, dept: d,
					style: styleOf(d, si, ki)})
			}
		}
	}
	return out
}

// Generator makes products deterministically from a seed.
type Generator struct {
	rng    *rand.Rand
	leaves []leaf
	run    string // distinguishes slugs and SKUs of separate seed runs
	now    time.Time
}

// NewGenerator returns a generator; the same seed gives the same catalog
// (apart from ids, slugs and SKUs, which are unique per run).
func NewGenerator(seed uint64) *Generator {
	return &Generator{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		leaves: leaves(),
		run:    strings.ReplaceAll(uuid.NewString()[:8], "-", ""),
		now:    time.Now().UTC().Truncate(time.Microsecond),
	}
}

// Product returns the n-th product of the run.
func (g *Generator) Product(n int) *product.Product {
	r := g.rng
	lf := g.leaves[r.IntN(len(g.leaves))]
	brand := brands[r.IntN(len(brands))]
	name := fmt.Sprintf("%s %s %s %d", brand, adjectives[r.IntN(len(adjectives))], singular(lf.kind), 100+r.IntN(900))
	base := lf.dept.minPrice + r.Int64N(lf.dept.maxPrice-lf.dept.minPrice)
	base = base/100*100 + 99 // prices end in .99
	id := uuid.Must(uuid.NewV7()).String()
	created := g.now.Add(-time.Duration(r.IntN(365*24)) * time.Hour).Add(-time.Duration(n) * time.Microsecond)
	material := materials[r.IntN(len(materials))]
	p := &product.Product{
		ID:          id,
		Slug:        fmt.Sprintf("%s-%s-%d", product.Slugify(name), g.run, n),
		Name:        name,
		Description: fmt.Sprintf("The %s by %s: %s %s made of %s, built to last and backed by a two-year warranty.", name, brand, strings.ToLower(adjectives[r.IntN(len(adjectives))]), strings.ToLower(singular(lf.kind)), material),
		Brand:       brand,
		Category:    lf.slug,
		Tags:        []string{strings.ToLower(lf.kind), strings.ToLower(lf.dept.name), material},
		Attributes:  map[string]string{"material": material, "warranty": "2 years", "origin": []string{"EU", "US", "JP", "VN"}[r.IntN(4)]},
		Status:      product.StatusActive,
		Version:     1,
		CreatedAt:   created,
		UpdatedAt:   created,
	}
	if r.IntN(20) == 0 {
		p.Status = product.StatusDraft
	}
	p.Variants = g.variants(p, lf.dept, base, n)
	p.Derive()
	return p
}

func (g *Generator) variants(p *product.Product, d *department, base int64, n int) []product.Variant {
	r := g.rng
	stock := func() int64 {
		if r.IntN(8) == 0 {
			return 0
		}
		return int64(r.IntN(200))
	}
	sku := func(i int) string { return fmt.Sprintf("%s-%d-%d", strings.ToUpper(g.run), n, i) }
	keys := sortedKeys(d.options)
	if r.IntN(3) == 0 || len(keys) == 0 {
		return []product.Variant{{SKU: sku(0), Options: map[string]string{}, Price: product.Money{Amount: base, Currency: "EUR"}, Stock: stock()}}
	}
	key := keys[r.IntN(len(keys))]
	values := d.options[key]
	count := 2 + r.IntN(len(values)-1)
	out := make([]product.Variant, 0, count)
	for i := 0; i < count; i++ {
		out = append(out, product.Variant{
			SKU: sku(i), Options: map[string]string{key: values[i]},
			Price: product.Money{Amount: base + int64(i)*500, Currency: "EUR"}, Stock: stock(),
		})
	}
	return out
}

// CategoryStore is what seeding needs of a product store.
type CategoryStore interface {
	CreateCategory(ctx context.Context, c product.Category) error
	CreateProducts(ctx context.Context, ps []*product.Product) error
	// Analyze refreshes the planner's statistics after the bulk load.
	Analyze(ctx context.Context) error
}

// Seed writes the category tree (skipping existing categories) and n
// products in batches, calling progress after each batch. With a picture
// store, every product has pictures drawn for it (see seeding); without,
// none. Products are written as their pictures are stored, not in the
// order they are made.
func Seed(ctx context.Context, s CategoryStore, pics PictureStore, n int, seed uint64, progress func(done int)) error {
	for _, c := range Categories() {
		if err := s.CreateCategory(ctx, c); err != nil && !errs.Is(err, errs.KindConflict) {
			return fmt.Errorf("seed category %s: %w", c.Slug, err)
		}
	}
	g := NewGenerator(seed)
	done := 0
	err := newSeeding(pics, g.leaves).run(ctx, g, n, func(ps []*product.Product) error {
		if err := s.CreateProducts(ctx, ps); err != nil {
			return fmt.Errorf("seed products: %w", err)
		}
		done += len(ps)
		if progress != nil {
			progress(done)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.Analyze(ctx)
}

func singular(kind string) string {
	switch {
	case strings.HasSuffix(kind, "ies"):
		return strings.TrimSuffix(kind, "ies") + "y"
	case strings.HasSuffix(kind, "sses"), strings.HasSuffix(kind, "shes"), strings.HasSuffix(kind, "ches"):
		return strings.TrimSuffix(kind, "es")
	case strings.HasSuffix(kind, "s"):
		return strings.TrimSuffix(kind, "s")
	}
	return kind
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
