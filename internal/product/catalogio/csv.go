package catalogio

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/product"
)

// Columns of a catalog CSV, one row per variant (docs/import-export.md).
// The rows of one product follow each other under the same slug; its
// product cells are read from its first row.
var Columns = []string{"slug", "name", "description", "brand", "category", "status", "tags",
	"attributes", "images", "sku", "options", "price", "currency", "stock"}

// required are the columns a file must have; the others may be left out.
var required = []string{"slug", "name", "sku", "price", "currency"}

type csvReader struct {
	r       *csv.Reader
	col     map[string]int
	pending []string          // the first row of the next product, read ahead
	line    int               // of pending
	bad     *product.BulkItem // an unreadable row, read ahead
	err     error             // of the header
}

func newCSVReader(r io.Reader) *csvReader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a row may leave out trailing empty cells
	d := &csvReader{r: cr, col: map[string]int{}}
	header, err := cr.Read()
	if err != nil {
		d.err = fmt.Errorf("the header row: %w", err)
		return d
	}
	for i, name := range header {
		d.col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
	}
	for _, name := range required {
		if _, ok := d.col[name]; !ok {
			d.err = fmt.Errorf("the header row has no %q column (columns: %s)", name, strings.Join(Columns, ","))
			break
		}
	}
	return d
}

func (d *csvReader) cell(row []string, name string) string {
	if i, ok := d.col[name]; ok && i < len(row) {
		return row[i]
	}
	return ""
}

// read returns the next row and its line. A malformed row is the line's
// problem (bad), not the file's (err).
func (d *csvReader) read() (row []string, line int, bad, err error) {
	row, err = d.r.Read()
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return nil, parseErr.StartLine, lineProblem("", "is not valid CSV: %v", parseErr.Err), nil
	}
	if err != nil {
		return nil, 0, nil, err
	}
	line, _ = d.r.FieldPos(0)
	return row, line, nil, nil
}

func (d *csvReader) next() (product.BulkItem, error) {
	if d.err != nil {
		return product.BulkItem{}, d.err
	}
	if d.bad != nil {
		item := *d.bad
		d.bad = nil
		return item, nil
	}
	if d.pending == nil {
		row, line, bad, err := d.read()
		if err != nil {
			return product.BulkItem{}, err
		}
		if bad != nil {
			return product.BulkItem{Line: line, Err: bad}, nil
		}
		d.pending, d.line = row, line
	}
	first, line := d.pending, d.line
	d.pending = nil
	item := product.BulkItem{Line: line}
	item.Input, item.Err = d.productOf(first)
	slug := d.cell(first, "slug")
	for {
		row, rowLine, bad, err := d.read()
		switch {
		case errors.Is(err, io.EOF):
			return item, nil
		case err != nil:
			return product.BulkItem{}, err
		case bad != nil:
			// The row cannot be read, so whose variant it was is unknown:
			// it is reported on its own line.
			d.bad = &product.BulkItem{Line: rowLine, Err: bad}
			return item, nil
		}
		if d.cell(row, "slug") != slug || slug == "" {
			d.pending, d.line = row, rowLine
			return item, nil
		}
		v, err := d.variantOf(row, len(item.Input.Variants))
		if item.Err == nil && err != nil {
			item.Err = err
		}
		item.Input.Variants = append(item.Input.Variants, v)
	}
}

// productOf reads the product cells of a product's first row and its
// first variant.
func (d *csvReader) productOf(row []string) (product.Input, error) {
	in := product.Input{
		Slug: d.cell(row, "slug"), Name: d.cell(row, "name"), Description: d.cell(row, "description"),
		Brand: d.cell(row, "brand"), Category: d.cell(row, "category"), Status: d.cell(row, "status"),
	}
	var err error
	if in.Tags, err = tagsOf(d.cell(row, "tags")); err != nil {
		return in, err
	}
	if err = jsonCell(d.cell(row, "attributes"), "attributes", &in.Attributes); err != nil {
		return in, err
	}
	if in.Images, err = imagesOf(d.cell(row, "images")); err != nil {
		return in, err
	}
	v, err := d.variantOf(row, 0)
	in.Variants = []product.Variant{v}
	return in, err
}

func (d *csvReader) variantOf(row []string, i int) (product.Variant, error) {
	at := fmt.Sprintf("variants[%d]", i)
	v := product.Variant{SKU: d.cell(row, "sku"), Price: product.Money{Currency: d.cell(row, "currency")}}
	if err := jsonCell(d.cell(row, "options"), at+".options", &v.Options); err != nil {
		return v, err
	}
	var err error
	if v.Price.Amount, err = intCell(d.cell(row, "price"), at+".price.amount"); err != nil {
		return v, err
	}
	v.Stock, err = intCell(d.cell(row, "stock"), at+".stock")
	return v, err
}

func intCell(s, field string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, lineProblem(field, "must be a whole number (of minor units for a price), not %q", s)
	}
	return n, nil
}

func jsonCell(s, field string, into any) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), into); err != nil {
		return lineProblem(field, "must be a JSON object of strings")
	}
	return nil
}

// tagsOf reads tags separated by commas, or a JSON array (which a tag
// holding a comma needs).
func tagsOf(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, nil
	case strings.HasPrefix(s, "["):
		var tags []string
		if err := json.Unmarshal([]byte(s), &tags); err != nil {
			return nil, lineProblem("tags", "must be tags separated by commas, or a JSON array of strings")
		}
		return tags, nil
	}
	tags := strings.Split(s, ",")
	for i := range tags {
		tags[i] = strings.TrimSpace(tags[i])
	}
	return tags, nil
}

// imagesOf reads image URLs separated by spaces, or a JSON array of
// images ({url, alt}, or {hash, alt} for uploaded pictures).
func imagesOf(s string) ([]product.Image, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, nil
	case strings.HasPrefix(s, "["):
		var images []product.Image
		if err := json.Unmarshal([]byte(s), &images); err != nil {
			return nil, lineProblem("images", "must be URLs separated by spaces, or a JSON array of images")
		}
		return images, nil
	}
	var images []product.Image
	for _, u := range strings.Fields(s) {
		images = append(images, product.Image{URL: u})
	}
	return images, nil
}

type csvWriter struct {
	w *csv.Writer
}

func newCSVWriter(w io.Writer) (*csvWriter, error) {
	cw := csv.NewWriter(w)
	return &csvWriter{w: cw}, cw.Write(Columns)
}

func (e *csvWriter) write(p *product.Product) error {
	for i, v := range p.Variants {
		row := make([]string, len(Columns))
		set := func(name, value string) { row[slices.Index(Columns, name)] = value }
		set("slug", p.Slug)
		if i == 0 {
			set("name", p.Name)
			set("description", p.Description)
			set("brand", p.Brand)
			set("category", p.Category)
			set("status", p.Status)
			set("tags", tagsCell(p.Tags))
			set("attributes", jsonOrEmpty(p.Attributes, len(p.Attributes)))
			set("images", jsonOrEmpty(p.Images, len(p.Images)))
		}
		set("sku", v.SKU)
		set("options", jsonOrEmpty(v.Options, len(v.Options)))
		set("price", strconv.FormatInt(v.Price.Amount, 10))
		set("currency", v.Price.Currency)
		set("stock", strconv.FormatInt(v.Stock, 10))
		if err := e.w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

func (e *csvWriter) flush() error {
	e.w.Flush()
	return e.w.Error()
}

func tagsCell(tags []string) string {
	for _, t := range tags {
		if strings.ContainsAny(t, ",") || t != strings.TrimSpace(t) || strings.HasPrefix(t, "[") {
			return jsonOrEmpty(tags, len(tags))
		}
	}
	return strings.Join(tags, ",")
}

func jsonOrEmpty(v any, n int) string {
	if n == 0 {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
