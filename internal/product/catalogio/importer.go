package catalogio

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// DefaultBatch is how many lines are written in one transaction.
const DefaultBatch = 1000

// Upserter writes a batch of lines: the product service.
type Upserter interface {
	Upsert(ctx context.Context, items []product.BulkItem) ([]product.BulkResult, error)
}

// Problem is one fault of one line of the file.
type Problem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Summary counts what an import did, line by line (a CSV product of
// several rows counts once, at its first row).
type Summary struct {
	Lines     int   `json:"lines"`
	Created   int   `json:"created"`
	Updated   int   `json:"updated"`
	Unchanged int   `json:"unchanged"`
	Failed    int   `json:"failed"`
	Bytes     int64 `json:"bytes"` // read so far
}

// Options of an import.
type Options struct {
	Format string // NDJSON or CSV
	Batch  int    // lines per transaction; 0 means DefaultBatch
	// Problem receives each line's faults as they are found.
	Problem func(Problem)
	// Progress receives the counts after each batch.
	Progress func(Summary)
}

// Import reads a catalog file from r and creates or updates its products
// by slug, a batch at a time. A bad line is reported and skipped; it
// never stops the good ones, and a product is written whole or not at
// all. The error is for what stops the import: an unreadable file, a
// store that fails, ctx ending. The summary holds what was done until then.
func Import(ctx context.Context, svc Upserter, r io.Reader, opt Options) (Summary, error) {
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
	}
	counter := &countingReader{r: r}
	var rd reader
	switch opt.Format {
	case NDJSON:
		rd = newNDJSONReader(counter)
	case CSV:
		rd = newCSVReader(counter)
	default:
		return Summary{}, fmt.Errorf("catalogio: unknown format %q (want %s or %s)", opt.Format, NDJSON, CSV)
	}
	batches := make(chan []product.BulkItem, 2)
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { readErr <- readBatches(ctx, rd, opt.Batch, batches) }()
	var sum Summary
	for batch := range batches {
		results, err := svc.Upsert(ctx, batch)
		if err != nil {
			cancel()
			// Drain what the reader sent, so that it ends.
			for range batches {
			}
			return sum, err
		}
		sum.count(results, opt.Problem)
		sum.Bytes = counter.n.Load()
		if opt.Progress != nil {
			opt.Progress(sum)
		}
	}
	sum.Bytes = counter.n.Load()
	return sum, <-readErr
}

// readBatches reads items into batches until the end of the file.
func readBatches(ctx context.Context, rd reader, size int, out chan<- []product.BulkItem) error {
	defer close(out)
	batch := make([]product.BulkItem, 0, size)
	for {
		item, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("catalogio: read: %w", err)
		}
		batch = append(batch, item)
		if len(batch) == size {
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]product.BulkItem, 0, size)
		}
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *Summary) count(results []product.BulkResult, report func(Problem)) {
	for _, res := range results {
		s.Lines++
		switch res.Outcome {
		case product.OutcomeCreated:
			s.Created++
		case product.OutcomeUpdated:
			s.Updated++
		case product.OutcomeUnchanged:
			s.Unchanged++
		default:
			s.Failed++
			if report != nil {
				for _, p := range problemsOf(res) {
					report(p)
				}
			}
		}
	}
}

// problemsOf lists a failed line's faults, one per field.
func problemsOf(res product.BulkResult) []Problem {
	var e *errs.Error
	if !errors.As(res.Err, &e) {
		return []Problem{{Line: res.Line, Message: fmt.Sprint(res.Err)}}
	}
	if len(e.Fields) == 0 {
		return []Problem{{Line: res.Line, Message: e.Msg}}
	}
	out := make([]Problem, 0, len(e.Fields))
	for _, f := range e.Fields {
		out = append(out, Problem{Line: res.Line, Field: f.Field, Message: f.Detail})
	}
	return out
}
