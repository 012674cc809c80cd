package catalogio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/catalogio"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

type catalog struct {
	store  *productdb.Store
	svc    *product.Service
	events int // in the outbox before any import
}

func openCatalog(t *testing.T, d string) catalog {
	t.Helper()
	ctx := context.Background()
	var cfg = sqltest.Config(t, dialect(d), "product")
	store, err := productdb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := product.NewService(store, bytes.Repeat([]byte("k"), product.CursorSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []product.Category{{Slug: "shoes", Name: "Shoes"}, {Slug: "shoes-boots", Name: "Boots", Parent: "shoes"}} {
		if err := store.CreateCategory(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	c := catalog{store: store, svc: svc}
	c.events = c.outbox(t) // the categories'
	return c
}

// importFile imports text and returns the summary and problems.
func (c catalog) importFile(t *testing.T, format, text string, batch int) (catalogio.Summary, []catalogio.Problem) {
	t.Helper()
	var problems []catalogio.Problem
	sum, err := catalogio.Import(context.Background(), c.svc, strings.NewReader(text), catalogio.Options{
		Format: format, Batch: batch, Problem: func(p catalogio.Problem) { problems = append(problems, p) },
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum, problems
}

func (c catalog) export(t *testing.T, format string) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := catalogio.Export(context.Background(), c.store, &buf, format, catalogio.ExportOptions{}); err != nil {
		t.Fatalf("export: %v", err)
	}
	return buf.String()
}

func (c catalog) outbox(t *testing.T) int {
	t.Helper()
	var n int
	if err := c.store.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n - c.events
}

const goodAndBad = `{"slug":"trail-boot","name":"Trail Boot","brand":"Kestrel","category":"shoes-boots","status":"active","tags":["hiking"],"attributes":{"material":"leather"},"images":[{"url":"https://img.test/boot.jpg","alt":"a boot"}],"variants":[{"sku":"TB-41","options":{"size":"41"},"price":{"amount":12999,"currency":"EUR"},"stock":3},{"sku":"TB-42","options":{"size":"42"},"price":{"amount":12999,"currency":"EUR"},"stock":0}]}
{"slug":"no-name","variants":[{"sku":"NN-1","price":{"amount":100,"currency":"EUR"},"stock":1}]}
{this is not json
{"slug":"lost","name":"Lost","category":"hats","variants":[{"sku":"L-1","price":{"amount":100,"currency":"EUR"},"stock":1}]}
{"slug":"thief","name":"Thief","variants":[{"sku":"TB-41","price":{"amount":100,"currency":"EUR"},"stock":1}]}

{"slug":"sandal","name":"Sandal","status":"active","colour":"red","variants":[{"sku":"S-1","price":{"amount":4999,"currency":"EUR"},"stock":9}]}
{"slug":"city-sneaker","name":"City Sneaker","status":"active","variants":[{"sku":"CS-1","price":{"amount":8999,"currency":"usd"},"stock":12}]}
`

func TestImport(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d, func(t *testing.T) {
			c := openCatalog(t, d)
			sum, problems := c.importFile(t, catalogio.NDJSON, goodAndBad, 3)
			want := catalogio.Summary{Lines: 7, Created: 2, Failed: 5, Bytes: int64(len(goodAndBad))}
			if sum != want {
				t.Fatalf("summary %+v, want %+v", sum, want)
			}
			wantProblems := map[int]string{2: "name", 3: "", 4: "category", 5: "variants[0].sku", 7: ""}
			for _, p := range problems {
				field, ok := wantProblems[p.Line]
				if !ok || p.Field != field || p.Message == "" {
					t.Errorf("unexpected problem %+v", p)
				}
				delete(wantProblems, p.Line)
			}
			if len(wantProblems) > 0 {
				t.Errorf("lines not reported: %v (got %+v)", wantProblems, problems)
			}
			boot, err := c.svc.Product(context.Background(), "trail-boot", false)
			if err != nil || len(boot.Variants) != 2 || boot.Price.Min != 12999 || !boot.InStock || boot.Category != "shoes-boots" {
				t.Fatalf("trail-boot = %+v, %v", boot, err)
			}
			if sneaker, err := c.svc.Product(context.Background(), "city-sneaker", false); err != nil || sneaker.Price.Currency != "USD" {
				t.Fatalf("city-sneaker = %+v, %v (the single create's normalization applies)", sneaker, err)
			}
			if n := c.outbox(t); n != 2 {
				t.Fatalf("outbox holds %d events, want one per product written (2)", n)
			}

			// Run twice: nothing changes, no event goes out.
			again, _ := c.importFile(t, catalogio.NDJSON, goodAndBad, 3)
			if again.Unchanged != 2 || again.Created+again.Updated != 0 || again.Failed != 5 {
				t.Fatalf("second run %+v, want 2 unchanged and nothing written", again)
			}
			if n := c.outbox(t); n != 2 {
				t.Fatalf("outbox holds %d events after an idempotent run, want 2", n)
			}

			// A changed line updates the product found by its slug.
			changed := strings.Replace(strings.SplitN(goodAndBad, "\n", 2)[0], `"stock":0`, `"stock":5`, 1)
			upd, problems := c.importFile(t, catalogio.NDJSON, changed, 0)
			if upd.Updated != 1 || len(problems) != 0 {
				t.Fatalf("update %+v %+v", upd, problems)
			}
			boot2, _ := c.svc.Product(context.Background(), "trail-boot", false)
			if boot2.ID != boot.ID || boot2.Version != boot.Version+1 || boot2.Variants[1].Stock != 5 || !boot2.CreatedAt.Equal(boot.CreatedAt) {
				t.Fatalf("after update %+v (before %+v)", boot2, boot)
			}
		})
	}
}

// TestExportImportIsTheIdentity: an export imported into the same catalog
// changes nothing; imported into an empty one it gives the same products,
// whose export reads the same but for ids and times.
func TestExportImportIsTheIdentity(t *testing.T) {
	for _, d := range dialects() {
		for _, format := range []string{catalogio.NDJSON, catalogio.CSV} {
			t.Run(d+"/"+format, func(t *testing.T) {
				src := openCatalog(t, d)
				src.importFile(t, catalogio.NDJSON, goodAndBad+tricky, 2)
				exported := src.export(t, format)
				sum, problems := src.importFile(t, format, exported, 2)
				if sum.Unchanged != 3 || sum.Lines != 3 || len(problems) != 0 {
					t.Fatalf("re-import into the same catalog: %+v %+v\n%s", sum, problems, exported)
				}
				if again := src.export(t, format); again != exported {
					t.Fatalf("export changed after re-import:\n%s\nthen\n%s", exported, again)
				}

				dst := openCatalog(t, d)
				if sum, problems := dst.importFile(t, format, exported, 2); sum.Created != 3 || len(problems) != 0 {
					t.Fatalf("import into an empty catalog: %+v %+v", sum, problems)
				}
				if a, b := writable(t, src.export(t, catalogio.NDJSON)), writable(t, dst.export(t, catalogio.NDJSON)); !reflect.DeepEqual(a, b) {
					t.Fatalf("catalogs differ:\n%v\n%v", a, b)
				}
			})
		}
	}
}

// tricky holds what CSV cells must quote or encode.
const tricky = `{"slug":"odd-one","name":"Odd, \"quoted\" one","description":"two\nlines","status":"draft","tags":["a,b"," c"],"attributes":{"k=v":"x;y"},"variants":[{"sku":"ODD.1","options":{"fit":"wide, long"},"price":{"amount":0,"currency":"JPY"},"stock":0},{"sku":"ODD.2","options":{"fit":"narrow"},"price":{"amount":1,"currency":"JPY"},"stock":1}]}
`

// writable returns the writable part of each exported product, by slug.
func writable(t *testing.T, ndjson string) map[string]product.Input {
	t.Helper()
	out := map[string]product.Input{}
	for _, line := range strings.Split(strings.TrimSpace(ndjson), "\n") {
		var p product.Product
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		out[p.Slug] = product.InputOf(&p)
	}
	return out
}

func TestCSVRowsPerVariant(t *testing.T) {
	c := openCatalog(t, "sqlite")
	text := "slug,name,sku,options,price,currency,stock,tags,images\n" +
		`boot,Boot,B-1,"{""size"":""41""}",1000,EUR,1,"winter, leather",https://img.test/a.jpg https://img.test/b.jpg` + "\n" +
		`boot,,B-2,"{""size"":""42""}",1100,EUR,0,,` + "\n" +
		`bad "quote,X,1,,1,EUR,1,,` + "\n" +
		`cap,Cap,C-1,,abc,EUR,1,,` + "\n" +
		`scarf,Scarf,S-1,,500,EUR,2,,` + "\n"
	sum, problems := c.importFile(t, catalogio.CSV, text, 0)
	if sum.Created != 2 || sum.Failed != 2 || len(problems) != 2 {
		t.Fatalf("summary %+v problems %+v", sum, problems)
	}
	if problems[0].Line != 4 || problems[1].Line != 5 || problems[1].Field != "variants[0].price.amount" {
		t.Fatalf("problems %+v", problems)
	}
	boot, err := c.svc.Product(context.Background(), "boot", true)
	if err != nil || len(boot.Variants) != 2 || boot.Variants[1].Price.Amount != 1100 || len(boot.Images) != 2 ||
		!reflect.DeepEqual(boot.Tags, []string{"winter", "leather"}) {
		t.Fatalf("boot = %+v, %v", boot, err)
	}
	if _, err := catalogio.Import(context.Background(), c.svc, strings.NewReader("name,price\nx,1\n"), catalogio.Options{Format: catalogio.CSV}); err == nil ||
		!strings.Contains(err.Error(), `"slug"`) {
		t.Fatalf("a file without a slug column: %v", err)
	}
}

func TestTooLongLineIsReportedAndSkipped(t *testing.T) {
	c := openCatalog(t, "sqlite")
	long := fmt.Sprintf(`{"slug":"x","name":"%s"}`, strings.Repeat("x", catalogio.MaxLineBytes))
	text := long + "\n" + `{"slug":"ok","name":"OK","variants":[{"sku":"OK-1","price":{"amount":1,"currency":"EUR"},"stock":1}]}` + "\n"
	sum, problems := c.importFile(t, catalogio.NDJSON, text, 0)
	if sum.Created != 1 || sum.Failed != 1 || len(problems) != 1 || problems[0].Line != 1 {
		t.Fatalf("summary %+v problems %+v", sum, problems)
	}
}
