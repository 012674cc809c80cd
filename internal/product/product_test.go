package product

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Studio Headphones":    "studio-headphones",
		"  Über--Cool  Lamp! ": "ber-cool-lamp",
		"4K Monitor 27\"":      "4k-monitor-27",
		"---":                  "",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	in := Input{Name: strings.Repeat("x", MaxNameLen+1), Status: "sold", Images: []Image{{URL: "ftp://x"}},
		Variants: []Variant{
			{SKU: "A", Options: map[string]string{"size": "M"}, Price: Money{Amount: -1, Currency: "EUR"}, Stock: -2},
			{SKU: "A", Options: map[string]string{"size": "M"}, Price: Money{Amount: 1, Currency: "usd"}},
		}}
	err := Prepare(&in)
	var e *errs.Error
	if err == nil || errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("got %v", err)
	}
	e = err.(*errs.Error)
	got := map[string]bool{}
	for _, f := range e.Fields {
		got[f.Field] = true
	}
	for _, f := range []string{"name", "status", "images[0].url", "variants[0].price.amount", "variants[0].stock",
		"variants[1].sku", "variants[1].price.currency", "variants[1].options"} {
		if !got[f] {
			t.Errorf("no error for %s; got %v", f, e.Fields)
		}
	}
}

func TestDeriveAndDefaults(t *testing.T) {
	in := Input{Name: "Desk Lamp", Variants: []Variant{
		{SKU: "L-S", Options: map[string]string{"size": "S"}, Price: Money{Amount: 3000, Currency: "eur"}},
		{SKU: "L-L", Options: map[string]string{"size": "L"}, Price: Money{Amount: 4500, Currency: "EUR"}, Stock: 3},
	}}
	if err := Prepare(&in); err != nil {
		t.Fatal(err)
	}
	var p Product
	p.apply(in)
	if p.Slug != "desk-lamp" || p.Status != StatusDraft || p.Price != (PriceRange{Min: 3000, Max: 4500, Currency: "EUR"}) || !p.InStock {
		t.Fatalf("%+v", p)
	}
}

var (
	cursorSecret = []byte(strings.Repeat("k", CursorSecretLen))
	otherSecret  = []byte(strings.Repeat("o", CursorSecretLen))
)

func TestCursorRoundTripAndRefusals(t *testing.T) {
	p := &Product{ID: uuid.Must(uuid.NewV7()).String(), Name: "Lamp", Price: PriceRange{Min: 1500}}
	q := ListQuery{Category: "home", Brands: []string{"Acme"}}
	c := CursorFor(p, SortPrice, q.Scope())
	got, err := DecodeCursor(c.Encode(cursorSecret), SortPrice, q.Scope(), cursorSecret)
	if err != nil || got.IntKey() != 1500 || got.ID != p.ID {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other := ListQuery{Category: "home"}
	enc := c.Encode(cursorSecret)
	// The cursor moved back to the start and signed with the old keyless
	// checksum, and with another service's secret.
	moved := *c
	moved.Key = "0"
	body, _ := json.Marshal(moved)
	sum := sha256.Sum256(body)
	checksummed := base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(sum[:9])
	for name, tc := range map[string]struct{ cursor, sort, scope string }{
		"other sort":      {enc, SortName, q.Scope()},
		"other filters":   {enc, SortPrice, other.Scope()},
		"tampered":        {strings.Replace(enc, enc[3:5], "zz", 1), SortPrice, q.Scope()},
		"truncated":       {enc[:len(enc)-3], SortPrice, q.Scope()},
		"not a cursor":    {"hello", SortPrice, q.Scope()},
		"too long":        {strings.Repeat("a", 2000), SortPrice, q.Scope()},
		"checksummed":     {checksummed, SortPrice, q.Scope()},
		"other secret":    {moved.Encode(otherSecret), SortPrice, q.Scope()},
		"no signature":    {base64.RawURLEncoding.EncodeToString(body) + ".", SortPrice, q.Scope()},
		"short signature": {enc[:strings.IndexByte(enc, '.')+8], SortPrice, q.Scope()},
	} {
		if _, err := DecodeCursor(tc.cursor, tc.sort, tc.scope, cursorSecret); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
}

// FuzzDecodeCursor: no input makes the cursor decoder panic or accept a
// cursor for another listing, or one it did not sign.
func FuzzDecodeCursor(f *testing.F) {
	p := &Product{ID: uuid.Must(uuid.NewV7()).String(), Name: "Lamp"}
	newest, byName := CursorFor(p, SortNewest, "s"), CursorFor(p, SortName, "s")
	f.Add(newest.Encode(cursorSecret), SortNewest, "s")
	f.Add(byName.Encode(cursorSecret), SortName, "s")
	f.Add(byName.Encode(otherSecret), SortName, "s")
	f.Add("e30.AAAA", SortPrice, "")
	f.Add("", SortNewest, "")
	f.Fuzz(func(t *testing.T, s, sort, scope string) {
		c, err := DecodeCursor(s, sort, scope, cursorSecret)
		if err != nil {
			if errs.KindOf(err) != errs.KindInvalid {
				t.Fatalf("error of kind %v", errs.KindOf(err))
			}
			return
		}
		if c.Sort != sort || c.Scope != scope {
			t.Fatalf("accepted a cursor of another listing: %+v", c)
		}
		if *c != *newest && *c != *byName {
			// Only those two were signed with cursorSecret.
			t.Fatalf("accepted %q, a cursor that was never issued: %+v", s, c)
		}
	})
}

func TestTreeAndDescendants(t *testing.T) {
	flat := []Category{{Slug: "men", Name: "Men"}, {Slug: "shoes", Name: "Shoes", Parent: "men"}, {Slug: "boots", Name: "Boots", Parent: "shoes"}, {Slug: "home", Name: "Home"}}
	tree := Tree(flat)
	if len(tree) != 2 || tree[0].Slug != "home" || tree[1].Children[0].Children[0].Slug != "boots" {
		t.Fatalf("tree: %+v", tree)
	}
	if got := Descendants(flat, "men"); strings.Join(got, ",") != "men,shoes,boots" {
		t.Fatalf("descendants: %v", got)
	}
	if Descendants(flat, "nowhere") != nil {
		t.Fatal("unknown category has descendants")
	}
}
