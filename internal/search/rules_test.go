package search_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/search"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// The shop of these tests: a few products chosen so that each of
// Meilisearch's matching and ranking rules has something to show.
const (
	studioHeadphones  = "studio-wireless-headphones"
	monitorHeadphones = "studio-monitor-headphones"
	sportEarbuds      = "sport-earbuds"
	wirelessMouse     = "silent-wireless-mouse"
	travelMice        = "travel-mice"
	oakChair          = "oak-dining-chair"
	officeChair       = "ergonomic-office-chair"
	hairDryer         = "ionic-hair-dryer"
	shampoo           = "repair-shampoo"
	wallShelves       = "walnut-wall-shelves"
	woolScarves       = "wool-scarves"
	soundbar          = "cinema-soundbar"
	coffeeMaker       = "drip-coffee-maker"
	linenSofa         = "linen-sofa"
	leatherCouch      = "leather-couch"
	glassVase         = "glass-vase"
	phoneCase         = "phone-case"
)

func openShop(t *testing.T) *search.Service {
	t.Helper()
	dir := t.TempDir()
	synonyms := filepath.Join(dir, "synonyms.txt")
	if err := os.WriteFile(synonyms, []byte("sofa, couch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := search.Open(filepath.Join(dir, "index"), search.Options{SynonymsFile: synonyms})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	created := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range []struct {
		id, name, category string
		price              int64
	}{
		{studioHeadphones, "Studio Wireless Headphones", "headphones", 19900},
		{monitorHeadphones, "Studio Monitor Headphones", "headphones", 14900},
		{sportEarbuds, "Sport Earbuds", "headphones", 7900},
		{wirelessMouse, "Silent Wireless Mouse", "computer-accessories", 2900},
		{travelMice, "Travel Mice, Set of Two", "computer-accessories", 3900},
		{oakChair, "Oak Dining Chair", "chairs", 12900},
		{officeChair, "Ergonomic Office Chair", "chairs", 24900},
		{hairDryer, "Ionic Hair Dryer", "hair-care", 3900},
		{shampoo, "Repair Shampoo for Dry Hair", "hair-care", 900},
		{wallShelves, "Walnut Wall Shelves", "storage", 8900},
		{woolScarves, "Wool Scarves Gift Box", "accessories", 4900},
		{soundbar, "Cinema Soundbar 300", "speakers", 29900},
		{coffeeMaker, "Drip Coffee Maker", "kitchen", 5900},
		{linenSofa, "Linen Sofa", "seating", 89900},
		{leatherCouch, "Leather Couch", "seating", 129900},
		{glassVase, "Glass Vase", "decor", 2500},
		{phoneCase, "Phone Case", "phone-accessories", 1500},
	} {
		product := st.NewProduct(p.id, p.name, "Vitrine", p.category, true, created.Add(time.Duration(i)*time.Hour), p.price)
		if err := svc.ApplyProduct(context.Background(), product.Event(), uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// search returns the ids of the first page of q.
func searchIDs(t *testing.T, svc *search.Service, q search.Query) []string {
	t.Helper()
	return ids(run(t, svc, q))
}

func TestWordDropping(t *testing.T) {
	svc := openShop(t)
	// a word the catalog does not know does not empty the page
	got := searchIDs(t, svc, search.Query{Text: "studio wireless headphones waterproof"})
	if len(got) == 0 || got[0] != studioHeadphones {
		t.Fatalf("with an unknown last word: %v, want the studio wireless headphones first", got)
	}
	// nor does it anywhere else in the query
	got = searchIDs(t, svc, search.Query{Text: "waterproof studio headphones"})
	if len(got) < 2 || !sameSet(got[:2], []string{studioHeadphones, monitorHeadphones}) {
		t.Fatalf("with an unknown first word: %v, want both studio headphones first", got)
	}
	// results that match more of the words rank higher
	got = searchIDs(t, svc, search.Query{Text: "wireless headphones"})
	// (the earbuds are in the headphones category)
	if len(got) != 4 || got[0] != studioHeadphones || !sameSet(got[1:], []string{monitorHeadphones, sportEarbuds, wirelessMouse}) {
		t.Fatalf("wireless headphones: %v, want the wireless headphones, then what matches one word", got)
	}
	// when as many words match, dropping the last ones is preferred
	got = searchIDs(t, svc, search.Query{Text: "silent chair"})
	if !slices.Equal(got[:1], []string{wirelessMouse}) {
		t.Fatalf("silent chair: %v, want the product with the first word before those with the last", got)
	}
}

func TestExactNameComesFirstThenSimilarProducts(t *testing.T) {
	svc := openShop(t)
	got := searchIDs(t, svc, search.Query{Text: "Studio Wireless Headphones"})
	if len(got) < 3 || got[0] != studioHeadphones || got[1] != monitorHeadphones {
		t.Fatalf("got %v, want the product named, then the other studio headphones, then more", got)
	}
}

func TestSplitAndJoinedWords(t *testing.T) {
	svc := openShop(t)
	for text, want := range map[string][]string{
		"head phones": {studioHeadphones, monitorHeadphones},
		"ear buds":    {sportEarbuds},
		"sound bar":   {soundbar},
		"coffeemaker": {coffeeMaker},
		"hairdryer":   {hairDryer},
	} {
		if got := searchIDs(t, svc, search.Query{Text: text}); len(got) < len(want) || !sameSet(got[:len(want)], want) {
			t.Errorf("%q: %v, want %v first", text, got, want)
		}
	}
}

func TestTypoBudgetByWordLength(t *testing.T) {
	svc := openShop(t)
	// four letters: no typo, so a vase is not a case
	wantIDs(t, run(t, svc, search.Query{Text: "vase"}), glassVase)
	wantIDs(t, run(t, svc, search.Query{Text: "case"}), phoneCase)
	// five letters: one typo, a swap of two letters included
	wantIDs(t, run(t, svc, search.Query{Text: "chiar"}), oakChair, officeChair)
	// nine: two
	wantIDs(t, run(t, svc, search.Query{Text: "headfones"}), studioHeadphones, monitorHeadphones, sportEarbuds) // category headphones
}

func TestExactMatchesComeBeforeTypoMatchesWhateverTheSort(t *testing.T) {
	svc := openShop(t)
	// "chair" is one typo from "hair": the hair products are cheaper, but
	// come only after the chairs
	for _, sort := range []search.Sort{search.SortPrice, search.SortNewest, search.SortRelevance} {
		got := searchIDs(t, svc, search.Query{Text: "chair", Sort: sort})
		if len(got) < 2 || !sameSet(got[:2], []string{oakChair, officeChair}) {
			t.Errorf("sort=%s: %v, want the chairs first", sort, got)
		}
	}
	res := run(t, svc, search.Query{Text: "chair", Sort: search.SortPrice})
	if res.Items[0].Price.Min > res.Items[1].Price.Min {
		t.Fatalf("sort=price: the chairs are not by price: %v", ids(res))
	}
}

func TestTypoBeforeAFinalS(t *testing.T) {
	svc := openShop(t)
	got := searchIDs(t, svc, search.Query{Text: "wireles hedphones"})
	if len(got) == 0 || got[0] != studioHeadphones {
		t.Fatalf("got %v, want the wireless headphones first", got)
	}
}

func TestPrefixWithTypos(t *testing.T) {
	svc := openShop(t)
	wantIDs(t, run(t, svc, search.Query{Text: "hedph"}), studioHeadphones, monitorHeadphones, sportEarbuds) // category headphones
	sg, err := svc.Suggest(context.Background(), "studio hedph")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sg {
		names = append(names, s.Name)
	}
	if !sameSet(names, []string{"Studio Wireless Headphones", "Studio Monitor Headphones"}) {
		t.Fatalf("suggestions for studio hedph: %v", names)
	}
	if want := "<mark>Studio</mark> Monitor <mark>Headphones</mark>"; sg[0].Highlight != want && sg[1].Highlight != want {
		t.Fatalf("highlights %q, %q; want one to be %q", sg[0].Highlight, sg[1].Highlight, want)
	}
}

func TestIrregularPlurals(t *testing.T) {
	svc := openShop(t)
	wantIDs(t, run(t, svc, search.Query{Text: "mouse"}), wirelessMouse, travelMice)
	wantIDs(t, run(t, svc, search.Query{Text: "mice"}), wirelessMouse, travelMice)
	wantIDs(t, run(t, svc, search.Query{Text: "shelf"}), wallShelves)
	wantIDs(t, run(t, svc, search.Query{Text: "scarf"}), woolScarves)
}

func TestSynonymsWorkBothWays(t *testing.T) {
	svc := openShop(t)
	for _, text := range []string{"sofa", "couch"} {
		got := searchIDs(t, svc, search.Query{Text: text})
		if !sameSet(got, []string{linenSofa, leatherCouch}) {
			t.Errorf("%s: %v, want the sofa and the couch", text, got)
		}
	}
	// the word typed ranks before its synonym
	if got := searchIDs(t, svc, search.Query{Text: "couch"}); got[0] != leatherCouch {
		t.Errorf("couch: %v, want the couch first", got)
	}
}

func TestPagesOfARankedSearchFollowEachOther(t *testing.T) {
	svc := openShop(t)
	for _, sort := range []search.Sort{search.SortRelevance, search.SortPrice, search.SortNewest} {
		q := search.Query{Text: "studio wireless chair", Sort: sort, PerPage: 100}
		all := run(t, svc, q)
		var paged []string
		for page := 1; page <= (all.Total+2)/3; page++ {
			q.Page, q.PerPage = page, 3
			res := run(t, svc, q)
			if res.Total != all.Total {
				t.Fatalf("sort=%s page %d: total %d, want %d", sort, page, res.Total, all.Total)
			}
			paged = append(paged, ids(res)...)
		}
		if !slices.Equal(paged, ids(all)) {
			t.Errorf("sort=%s: pages of 3 give %v, one page %v", sort, paged, ids(all))
		}
	}
}

func TestSuggestionsStopAtTheBestButKeepThem(t *testing.T) {
	svc := openShop(t)
	// "s" starts more than MaxSuggestions names
	sg, err := svc.Suggest(context.Background(), "s")
	if err != nil || len(sg) != search.MaxSuggestions {
		t.Fatalf("s: %d suggestions (%v), want %d", len(sg), err, search.MaxSuggestions)
	}
	// the word typed whole comes before words it is the start of
	sg, err = svc.Suggest(context.Background(), "studio headphones s")
	if err != nil || len(sg) < 2 || sg[0].ID != studioHeadphones && sg[0].ID != monitorHeadphones {
		t.Fatalf("studio headphones s: %+v (%v)", sg, err)
	}
}
