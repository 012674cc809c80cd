package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/catalogio"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// importCatalog creates or updates the products of a catalog file.
func importCatalog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import FILE", flag.ContinueOnError)
	var sf storeFlags
	format := fs.String("format", "", "ndjson or csv; empty takes it from the file's extension (.csv is csv, anything else ndjson)")
	batch := fs.Int("batch", catalogio.DefaultBatch, "lines written in one transaction")
	reportPath := fs.String("report", "", "write each bad line's problems to this file as NDJSON ({line, field, message}); empty prints them on stderr")
	sf.register(fs)
	path, args := fileArg(args)
	if err := parse(fs, args, getenv, stderr); err != nil {
		return err
	}
	if path == "" {
		return fmt.Errorf("usage: vitrine import FILE [flags] (- reads standard input)")
	}
	if *batch < 1 || *batch > 10_000 {
		return fmt.Errorf("--batch must be between 1 and 10000")
	}
	if *format == "" {
		*format = formatOf(path)
	}
	in, size, err := openInput(path)
	if err != nil {
		return err
	}
	defer in.Close()
	report, closeReport, err := problemSink(*reportPath, stderr)
	if err != nil {
		return err
	}
	defer closeReport()
	store, svc, err := openCatalog(ctx, sf)
	if err != nil {
		return err
	}
	defer store.Close()
	bar := newProgress(stderr, size, "importing")
	start := time.Now()
	sum, err := catalogio.Import(ctx, svc, in, catalogio.Options{Format: *format, Batch: *batch, Problem: report,
		Progress: func(s catalogio.Summary) { bar.show(s.Bytes, s.Lines, "lines") }})
	bar.finish()
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "imported %d lines in %s (%.0f lines/s): %d created, %d updated, %d unchanged, %d failed\n",
		sum.Lines, elapsed.Round(time.Millisecond), float64(sum.Lines)/elapsed.Seconds(), sum.Created, sum.Updated, sum.Unchanged, sum.Failed)
	if err != nil {
		return err
	}
	if err := store.Analyze(ctx); err != nil {
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d lines were not imported (see the report)", sum.Failed)
	}
	return nil
}

// exportCatalog writes the whole catalog to a file or stdout.
func exportCatalog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var sf storeFlags
	format := fs.String("format", "", "ndjson or csv; empty takes it from --output's extension (ndjson on stdout)")
	output := fs.String("output", "", "the file to write; empty writes to standard output")
	imageBase := fs.String("image-base-url", "", "write uploaded pictures as links under this URL (where this catalog serves them, e.g. https://shop.example), for a catalog elsewhere; empty keeps them as uploads of this catalog")
	sf.register(fs)
	if err := parse(fs, args, getenv, stderr); err != nil {
		return err
	}
	if *format == "" {
		*format = formatOf(*output)
	}
	store, err := productdb.Open(ctx, sf.config(nil).SQLConfig(modules.Product))
	if err != nil {
		return err
	}
	defer store.Close()
	out, done := io.Writer(stdout), func() error { return nil }
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		out, done = f, f.Close
		defer f.Close()
	}
	bar := newProgress(stderr, -1, "exporting")
	start := time.Now()
	n, err := catalogio.Export(ctx, store, out, *format, catalogio.ExportOptions{ImageBase: *imageBase,
		Progress: func(done int) { bar.show(int64(done), done, "products") }})
	bar.finish()
	if err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d products in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// openCatalog opens the product store and the service whose rules an
// import follows.
func openCatalog(ctx context.Context, sf storeFlags) (*productdb.Store, *product.Service, error) {
	store, err := productdb.Open(ctx, sf.config(nil).SQLConfig(modules.Product))
	if err != nil {
		return nil, nil, err
	}
	secret, err := store.CursorSecret(ctx)
	if err == nil {
		var svc *product.Service
		if svc, err = product.NewService(store, secret); err == nil {
			store.UseClock(svc.Now)
			return store, svc, nil
		}
	}
	store.Close()
	return nil, nil, err
}

// fileArg takes the file an import reads out of its arguments: the first
// one, or else the last one, when it is not a flag.
func fileArg(args []string) (string, []string) {
	switch {
	case len(args) == 0:
		return "", args
	case args[0] == "-" || !strings.HasPrefix(args[0], "-"):
		return args[0], args[1:]
	case len(args) > 1 && (args[len(args)-1] == "-" || !strings.HasPrefix(args[len(args)-1], "-")) &&
		(!strings.HasPrefix(args[len(args)-2], "-") || strings.Contains(args[len(args)-2], "=")):
		return args[len(args)-1], args[:len(args)-1]
	}
	return "", args
}

func formatOf(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return catalogio.CSV
	}
	return catalogio.NDJSON
}

// openInput opens a file, or stdin for "-"; size is -1 when unknown.
func openInput(path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), -1, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// problemSink is where bad lines are reported: an NDJSON file, or
// stderr as "line N: field: message".
func problemSink(path string, stderr io.Writer) (func(catalogio.Problem), func(), error) {
	if path == "" {
		return func(p catalogio.Problem) {
			if p.Field != "" {
				fmt.Fprintf(stderr, "line %d: %s: %s\n", p.Line, p.Field, p.Message)
			} else {
				fmt.Fprintf(stderr, "line %d: %s\n", p.Line, p.Message)
			}
		}, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	enc := json.NewEncoder(f)
	return func(p catalogio.Problem) { _ = enc.Encode(p) }, func() { f.Close() }, nil
}

// progress shows how far a long command is: a bar with its rate and the
// time left on a terminal, a line every few seconds otherwise (a log).
type progress struct {
	bar   *progressbar.ProgressBar // nil when not on a terminal
	w     io.Writer
	verb  string
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int64, verb string) *progress {
	p := &progress{w: w, verb: verb, start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		opts := []progressbar.Option{progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(verb),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200 * time.Millisecond),
			progressbar.OptionFullWidth(), progressbar.OptionShowElapsedTimeOnFinish()}
		if total > 0 {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString("products"))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
	return p
}

// show moves the bar to at (bytes read, or items when the size is not
// known); count and unit say what was done.
func (p *progress) show(at int64, count int, unit string) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s %d %s", p.verb, count, unit))
		_ = p.bar.Set64(at)
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		elapsed := time.Since(p.start)
		fmt.Fprintf(p.w, "%s: %d %s in %s (%.0f/s)\n", p.verb, count, unit, elapsed.Round(time.Second), float64(count)/elapsed.Seconds())
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
