package catalogio

import (
	"context"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/product"
)

// exportPage is how many products an export reads at a time.
const exportPage = 500

// Pager reads the catalog a page at a time in id order, every status
// included (productdb.Store; from a replica where there is one).
type Pager interface {
	ProductsAfter(ctx context.Context, afterID string, limit int) ([]*product.Product, error)
}

// Export writes every product to w in format (NDJSON or CSV), a page at a
// time, never holding the catalog in memory. progress, when not nil, gets
// the count after each page. It returns how many products it wrote.
func Export(ctx context.Context, src Pager, w io.Writer, format string, progress func(done int)) (int, error) {
	var out writer
	switch format {
	case NDJSON:
		out = newNDJSONWriter(w)
	case CSV:
		cw, err := newCSVWriter(w)
		if err != nil {
			return 0, err
		}
		out = cw
	default:
		return 0, fmt.Errorf("catalogio: unknown format %q (want %s or %s)", format, NDJSON, CSV)
	}
	done, after := 0, ""
	for {
		page, err := src.ProductsAfter(ctx, after, exportPage)
		if err != nil {
			return done, err
		}
		for _, p := range page {
			if err := out.write(p); err != nil {
				return done, err
			}
		}
		done += len(page)
		if len(page) > 0 {
			after = page[len(page)-1].ID
			if progress != nil {
				progress(done)
			}
		}
		if len(page) < exportPage {
			return done, out.flush()
		}
		// Send what is ready: a client streaming the export sees it come.
		if err := out.flush(); err != nil {
			return done, err
		}
	}
}
