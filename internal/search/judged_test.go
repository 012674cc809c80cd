package search_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productseed"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// The judged relevance set: queries a shopper types, in classes, each with
// the intent that grades every product of the seeded catalog. Grades come
// from the catalog's fields alone (category, brand, the words of the
// name, the material tag), never from what the engine returns.

// intent says what a query asks for. Empty fields ask for nothing.
type intent struct {
	category  string // a category slug, or the slug of an ancestor
	brand     string
	adjective string // a word of the name: "Wireless"
	material  string // a tag: "leather"
	number    string // the model number that ends a name
	product   string // the id of the product whose exact name was typed
}

// grade is 3 for a product that is all the query asks for, 2 for one that
// is part of it, 1 for the right kind of product only, 0 otherwise. For an
// exact name, the product named is 3 and products like it (same kind, and
// brand or style) follow.
func (in intent) grade(p *product.Product) int {
	if in.category != "" && p.Category != in.category && !strings.HasPrefix(p.Category, in.category+"-") {
		return 0
	}
	if in.product != "" && p.ID == in.product {
		return 3
	}
	asked, met := 0, 0
	check := func(want string, ok bool) {
		if want != "" {
			asked++
			if ok {
				met++
			}
		}
	}
	check(in.brand, strings.EqualFold(p.Brand, in.brand))
	check(in.adjective, slices.Contains(strings.Fields(p.Name), in.adjective))
	check(in.material, slices.Contains(p.Tags, in.material))
	if in.product == "" {
		check(in.number, strings.HasSuffix(p.Name, " "+in.number))
	}
	g := 0
	switch {
	case asked == 0 || met == asked:
		g = 3
	case met > 0:
		g = 2
	case in.category != "":
		g = 1
	}
	if in.product != "" && g > 1 {
		g-- // only the product named is all the query asks for
	}
	return g
}

// judgedQuery is one query of the set.
type judgedQuery struct {
	class  string
	text   string
	sort   search.Sort
	intent intent
}

// Query classes, in the order the report lists them.
var judgedClasses = []string{
	"exact type", "brand", "typo", "prefix", "category word",
	"word dropping", "split and joined words", "typo budget, sorted", "typo before a final s",
	"prefix with a typo", "irregular plural", "synonym", "exact name",
}

const (
	headphones   = "electronics-audio-headphones"
	earbuds      = "electronics-audio-earbuds"
	speakers     = "electronics-audio-speakers"
	soundbars    = "electronics-audio-soundbars"
	laptops      = "electronics-computers-laptops"
	monitors     = "electronics-computers-monitors"
	keyboards    = "electronics-computers-keyboards"
	mice         = "electronics-computers-mice"
	smartphones  = "electronics-phones-smartphones"
	phoneCases   = "electronics-phones-cases"
	sneakers     = "fashion-men-sneakers"
	scarves      = "fashion-accessories-scarves"
	coffeeMakers = "home-kitchen-coffee-makers"
	knives       = "home-kitchen-knives"
	blenders     = "home-kitchen-blenders"
	chairs       = "home-furniture-chairs"
	shelves      = "home-furniture-shelves"
	sofas        = "home-furniture-sofas"
	lamps        = "home-decor-lamps"
	vases        = "home-decor-vases"
	dumbbells    = "sports-fitness-dumbbells"
	yogaMats     = "sports-fitness-yoga-mats"
	tents        = "sports-outdoor-tents"
	backpacks    = "sports-outdoor-backpacks"
	sleepingBags = "sports-outdoor-sleeping-bags"
	moisturizers = "beauty-skincare-moisturizers"
	hairDryers   = "beauty-hair-hair-dryers"
)

// judgedQueries returns the set for a catalog: fixed queries, plus exact
// names (and names with a word the catalog does not know) of a few of its
// products.
func judgedQueries(catalog []*product.Product) []judgedQuery {
	q := func(class, text string, in intent) judgedQuery {
		return judgedQuery{class: class, text: text, intent: in}
	}
	kind := func(slug string) intent { return intent{category: slug} }
	out := []judgedQuery{
		q("exact type", "headphones", kind(headphones)),
		q("exact type", "laptop", kind(laptops)),
		q("exact type", "sneakers", kind(sneakers)),
		q("exact type", "blender", kind(blenders)),
		q("exact type", "tents", kind(tents)),
		q("exact type", "coffee maker", kind(coffeeMakers)),
		q("brand", "acme", intent{brand: "Acme"}),
		q("brand", "nordwind", intent{brand: "Nordwind"}),
		q("brand", "halcyon lamp", intent{brand: "Halcyon", category: lamps}),
		q("typo", "hedphones", kind(headphones)),
		q("typo", "blendr", kind(blenders)),
		q("typo", "keybord", kind(keyboards)),
		q("typo", "headfones", kind(headphones)),
		q("typo", "backpak", kind(backpacks)),
		q("typo", "lpatop", kind(laptops)),
		q("typo", "moniter", kind(monitors)),
		q("prefix", "headph", kind(headphones)),
		q("prefix", "backp", kind(backpacks)),
		q("prefix", "moistu", kind(moisturizers)),
		q("prefix", "sleeping b", kind(sleepingBags)),
		q("category word", "kitchen", kind("home-kitchen")),
		q("category word", "cycling", kind("sports-cycling")),
		q("category word", "skincare", kind("beauty-skincare")),
		q("word dropping", "acme headphones waterproof", intent{category: headphones, brand: "Acme"}),
		q("word dropping", "cheap wireless speaker", intent{category: speakers, adjective: "Wireless"}),
		q("word dropping", "ergonomic office chair", intent{category: chairs, adjective: "Ergonomic"}),
		q("word dropping", "waterproof nordwind backpack", intent{category: backpacks, brand: "Nordwind"}),
		q("split and joined words", "head phones", kind(headphones)),
		q("split and joined words", "ear buds", kind(earbuds)),
		q("split and joined words", "sound bar", kind(soundbars)),
		q("split and joined words", "coffeemaker", kind(coffeeMakers)),
		q("split and joined words", "hairdryer", kind(hairDryers)),
		q("split and joined words", "back pack", kind(backpacks)),
		q("split and joined words", "yogamat", kind(yogaMats)),
		q("split and joined words", "smart phone", kind(smartphones)),
		{class: "typo budget, sorted", text: "vase", sort: search.SortPrice, intent: kind(vases)},
		{class: "typo budget, sorted", text: "chair", sort: search.SortPrice, intent: kind(chairs)},
		{class: "typo budget, sorted", text: "case", sort: search.SortPrice, intent: kind(phoneCases)},
		{class: "typo budget, sorted", text: "lamp", sort: search.SortPriceDesc, intent: kind(lamps)},
		{class: "typo budget, sorted", text: "sofa", sort: search.SortNewest, intent: kind(sofas)},
		q("typo before a final s", "wireles hedphones", intent{category: headphones, adjective: "Wireless"}),
		q("typo before a final s", "wireles speakers", intent{category: speakers, adjective: "Wireless"}),
		q("typo before a final s", "wireles keyboards", intent{category: keyboards, adjective: "Wireless"}),
		q("prefix with a typo", "hedph", kind(headphones)),
		q("prefix with a typo", "moistr", kind(moisturizers)),
		q("prefix with a typo", "dumbel", kind(dumbbells)),
		q("prefix with a typo", "sneakr", kind(sneakers)),
		q("irregular plural", "mouse", kind(mice)),
		q("irregular plural", "mice", kind(mice)),
		q("irregular plural", "shelf", kind(shelves)),
		q("irregular plural", "scarf", kind(scarves)),
		q("irregular plural", "knife", kind(knives)),
		q("synonym", "couch", kind(sofas)),
		q("synonym", "trainers", kind(sneakers)),
		q("synonym", "notebook", kind(laptops)),
		q("synonym", "headset", kind(headphones)),
		q("synonym", "earphones", kind(earbuds)),
	}
	// products spread over the catalog, named exactly, then with a
	// colour the catalog does not know
	var named int
	for i, p := range catalog {
		if named == 4 {
			break
		}
		if p.Status != product.StatusActive || i%97 != 0 {
			continue
		}
		words := strings.Fields(p.Name)
		in := intent{product: p.ID, category: p.Category, brand: p.Brand, adjective: words[1]}
		out = append(out, q("exact name", p.Name, in))
		out = append(out, q("word dropping", strings.ToLower(p.Name)+" in black", in))
		named++
	}
	return out
}

// seededCatalog returns the first n products of `vitrine seed --seed 1`
// and the change stream that indexes them.
func seededCatalog(n int) ([]*product.Product, []search.Change) {
	var changes []search.Change
	for _, c := range productseed.Categories() {
		ev := events.CategoryChanged{Op: events.OpUpsert, Slug: c.Slug, Name: c.Name, Parent: c.Parent}
		changes = append(changes, search.Change{Seq: uint64(len(changes) + 1), Category: &ev})
	}
	g := productseed.NewGenerator(1)
	catalog := make([]*product.Product, n)
	for i := range catalog {
		p := g.Product(i)
		catalog[i] = p
		ev := events.ProductChanged{Op: events.OpUpsert, ID: p.ID, Version: p.Version, Product: p.Snapshot(), At: p.UpdatedAt}
		changes = append(changes, search.Change{Seq: uint64(len(changes) + 1), Product: &ev})
	}
	return catalog, changes
}

// judgement is how the engine did on one query.
type judgement struct {
	query judgedQuery
	ndcg  float64
	total int
	top   []string // names of the first results, for the verbose report
}

// judge runs every query (first page, ten results) and scores it.
func judge(tb testing.TB, svc *search.Service, catalog []*product.Product, queries []judgedQuery) []judgement {
	tb.Helper()
	byID := make(map[string]*product.Product, len(catalog))
	for _, p := range catalog {
		byID[p.ID] = p
	}
	out := make([]judgement, 0, len(queries))
	for _, jq := range queries {
		res, err := svc.Search(context.Background(), search.Query{Text: jq.text, Sort: jq.sort, PerPage: 10})
		if err != nil {
			tb.Fatalf("%q: %v", jq.text, err)
		}
		var got, ideal []int
		j := judgement{query: jq, total: res.Total}
		for _, it := range res.Items {
			got = append(got, jq.intent.grade(byID[it.ID]))
			j.top = append(j.top, it.Name)
		}
		for _, p := range catalog {
			if p.Status == product.StatusActive {
				if g := jq.intent.grade(p); g > 0 {
					ideal = append(ideal, g)
				}
			}
		}
		if !slices.Contains(ideal, 3) {
			tb.Fatalf("%q: the catalog has no product that answers it; the judged set is wrong", jq.text)
		}
		slices.Sort(ideal)
		slices.Reverse(ideal)
		j.ndcg = dcg(got) / dcg(ideal)
		out = append(out, j)
	}
	return out
}

// dcg is the discounted cumulative gain of the first ten grades.
func dcg(grades []int) float64 {
	sum := 0.0
	for i, g := range grades[:min(len(grades), 10)] {
		sum += (math.Pow(2, float64(g)) - 1) / math.Log2(float64(i+2))
	}
	return sum
}

// relevanceSummary is the mean nDCG@10 and the share of queries that found
// nothing (every judged query has good answers in the catalog).
type relevanceSummary struct {
	queries   int
	ndcg      float64
	zeroShare float64
}

func summarize(js []judgement) relevanceSummary {
	s := relevanceSummary{queries: len(js)}
	for _, j := range js {
		s.ndcg += j.ndcg
		if j.total == 0 {
			s.zeroShare++
		}
	}
	if len(js) > 0 {
		s.ndcg /= float64(len(js))
		s.zeroShare /= float64(len(js))
	}
	return s
}

// report prints nDCG@10 and the zero-result rate per class and overall;
// verbose adds each query with its first results.
func report(w io.Writer, js []judgement, verbose bool) relevanceSummary {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tqueries\tnDCG@10\tzero results\t")
	for _, class := range judgedClasses {
		var in []judgement
		for _, j := range js {
			if j.query.class == class {
				in = append(in, j)
			}
		}
		s := summarize(in)
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.0f%%\t\n", class, s.queries, s.ndcg, 100*s.zeroShare)
	}
	all := summarize(js)
	fmt.Fprintf(tw, "all\t%d\t%.3f\t%.0f%%\t\n", all.queries, all.ndcg, 100*all.zeroShare)
	_ = tw.Flush()
	if verbose {
		for _, j := range js {
			fmt.Fprintf(w, "%-24s %-48q sort=%-9s nDCG %.3f total %6d  %s\n", j.query.class, j.query.text, j.query.sort,
				j.ndcg, j.total, strings.Join(j.top[:min(len(j.top), 3)], " | "))
		}
	}
	return all
}
