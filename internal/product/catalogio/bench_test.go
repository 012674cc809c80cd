package catalogio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/catalogio"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/productseed"
)

// BenchmarkImport imports 20,000 seeded products into an empty catalog,
// on each store, and reports products a second:
//
//	go test ./internal/product/catalogio -run '^$' -bench Import -benchtime 1x
func BenchmarkImport(b *testing.B) {
	const n = 20_000
	g := productseed.NewGenerator(1)
	var file bytes.Buffer
	for i := range n {
		line, err := json.Marshal(g.Product(i))
		if err != nil {
			b.Fatal(err)
		}
		file.Write(append(line, '\n'))
	}
	for _, d := range dialects() {
		b.Run(d, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ctx := context.Background()
				store, err := productdb.Open(ctx, sqltest.Config(b, dialect(d), "product"))
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range productseed.Categories() {
					if err := store.CreateCategory(ctx, c); err != nil {
						b.Fatal(err)
					}
				}
				svc, err := product.NewService(store, bytes.Repeat([]byte("k"), product.CursorSecretLen))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				sum, err := catalogio.Import(ctx, svc, bytes.NewReader(file.Bytes()), catalogio.Options{Format: catalogio.NDJSON})
				b.StopTimer()
				if err != nil || sum.Created != n {
					b.Fatal(fmt.Sprint(sum, err))
				}
				store.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "products/s")
		})
	}
}
