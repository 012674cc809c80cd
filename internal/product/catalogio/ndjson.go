// Package catalogio moves a whole catalog in and out: it reads products
// from NDJSON (one product a line, the API's own shape) or CSV (one row
// a variant, see docs/import-export.md), writes them in batches through
// the product service's rules, and streams the catalog back out in the
// same formats, so an export imported again changes nothing.
package catalogio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Formats of a catalog file.
const (
	NDJSON = "ndjson"
	CSV    = "csv"
)

// MaxLineBytes bounds one line of NDJSON (one row of CSV): a product at
// every limit of the product rules fits well under it.
const MaxLineBytes = 1 << 20

// reader yields the products of a file one line (CSV: one product) at a time.
type reader interface {
	// next returns the next item; io.EOF at the end. Any other error is
	// the file's, not a line's: the import stops.
	next() (product.BulkItem, error)
}

// ndjsonReader reads one product per line.
type ndjsonReader struct {
	r    *bufio.Reader
	line int
}

func newNDJSONReader(r io.Reader) *ndjsonReader {
	return &ndjsonReader{r: bufio.NewReaderSize(r, 64<<10)}
}

func (d *ndjsonReader) next() (product.BulkItem, error) {
	for {
		raw, tooLong, err := readLine(d.r)
		if err != nil && (err != io.EOF || len(raw) == 0 && !tooLong) {
			return product.BulkItem{}, err
		}
		d.line++
		item := product.BulkItem{Line: d.line}
		switch {
		case tooLong:
			item.Err = lineProblem("", "the line is longer than %d bytes", MaxLineBytes)
		case len(bytes.TrimSpace(raw)) == 0:
			continue // blank lines (a trailing newline) hold nothing
		default:
			item.Input, item.Err = decodeProduct(raw)
		}
		return item, nil
	}
}

// readLine reads up to the next newline, at most MaxLineBytes of it: a
// longer line is skipped and reported.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, tooLong, err
	}
}

// decodeProduct reads a product in the API's shape. The fields only the
// server writes (id, price, counters, version, times) are accepted, so an
// export reads back, and ignored; any other unknown field fails the line.
func decodeProduct(raw []byte) (product.Input, error) {
	var p product.Product
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return product.Input{}, jsonProblem(err)
	}
	if dec.More() {
		return product.Input{}, lineProblem("", "the line holds more than one JSON value")
	}
	return product.InputOf(&p), nil
}

func jsonProblem(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return lineProblem(typeErr.Field, "must be a JSON %s", typeErr.Type)
	}
	return lineProblem("", "is not a product in JSON: %v", err)
}

// lineProblem is a KindInvalid error about field of a line ("" for the
// whole line).
func lineProblem(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	e := &errs.Error{Kind: errs.KindInvalid, Msg: msg}
	if field != "" {
		e.Fields = []errs.FieldError{{Field: field, Detail: msg}}
	}
	return e
}

// writer writes products in a format.
type writer interface {
	write(p *product.Product) error
	flush() error
}

type ndjsonWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newNDJSONWriter(w io.Writer) *ndjsonWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &ndjsonWriter{w: bw, enc: enc}
}

func (e *ndjsonWriter) write(p *product.Product) error { return e.enc.Encode(p) }
func (e *ndjsonWriter) flush() error                   { return e.w.Flush() }
