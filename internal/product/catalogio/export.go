package catalogio

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// exportPage is how many products an export reads at a time.
const exportPage = 500

// Pager reads the catalog a page at a time in id order, every status
// included (productdb.Store; from a replica where there is one).
type Pager interface {
	ProductsAfter(ctx context.Context, afterID string, limit int) ([]*product.Product, error)
}

// ExportOptions shape an export.
type ExportOptions struct {
	// ImageBase, when set, turns uploaded pictures into links under it
	// (ImageBase + "/images/<hash>/full.jpg"), for a catalog elsewhere
	// that does not hold this one's pictures. Empty keeps them as they
	// are, for this catalog or one sharing its picture store.
	ImageBase string
	// Progress, when not nil, gets the count after each page.
	Progress func(done int)
}

// Check reports options that make no export.
func (o ExportOptions) Check() error {
	if o.ImageBase == "" {
		return nil
	}
	if u, err := url.Parse(o.ImageBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &errs.Error{Kind: errs.KindInvalid, Msg: "the image base URL is not one",
			Fields: []errs.FieldError{{Field: "image_base_url", Detail: "must be an absolute http or https URL"}}}
	}
	return nil
}

// Export writes every product to w in format (NDJSON or CSV), a page at a
// time, never holding the catalog in memory. It returns how many products
// it wrote.
func Export(ctx context.Context, src Pager, w io.Writer, format string, opt ExportOptions) (int, error) {
	if err := opt.Check(); err != nil {
		return 0, err
	}
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
			if opt.ImageBase != "" {
				linkUploads(p, strings.TrimSuffix(opt.ImageBase, "/"))
			}
			if err := out.write(p); err != nil {
				return done, err
			}
		}
		done += len(page)
		if len(page) > 0 {
			after = page[len(page)-1].ID
			if opt.Progress != nil {
				opt.Progress(done)
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

// linkUploads makes p's uploaded pictures links to their full size under base.
func linkUploads(p *product.Product, base string) {
	for i, img := range p.Images {
		if img.Hash != "" {
			p.Images[i] = product.Image{URL: base + img.URL, Alt: img.Alt}
		}
	}
	p.Derive()
}
