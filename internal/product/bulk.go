package product

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// What became of one line of a bulk import.
const (
	OutcomeCreated   = "created"
	OutcomeUpdated   = "updated"
	OutcomeUnchanged = "unchanged" // the stored product already said the same: no write, no event
	OutcomeFailed    = "failed"
)

// BulkItem is one line of a bulk import: the product it holds, or why it
// could not be read (then it is reported, not written).
type BulkItem struct {
	Line  int
	Input Input
	Err   error
}

// BulkResult is what became of a BulkItem. Err, when the outcome is
// OutcomeFailed, is an *errs.Error naming the fields at fault.
type BulkResult struct {
	Line    int
	Slug    string
	Outcome string
	Err     error
}

// staged is a line that passed validation, with the product it writes.
type staged struct {
	at  int // index in the results
	p   *Product
	old *Product // nil for a create
}

// Upsert creates or updates, by slug, the products of a batch of lines.
// Each line passes the same rules as a single create (Prepare and the
// category check); a product's variants keep their SKUs, and a SKU that
// another product holds fails the line. A line whose product already
// reads the same is left alone, so importing a file twice writes nothing
// the second time. Valid lines are written together in one transaction;
// when that fails on a conflict, they are written one by one so only the
// lines at fault fail. The error is for the store failing, not a line.
func (s *Service) Upsert(ctx context.Context, items []BulkItem) ([]BulkResult, error) {
	results := make([]BulkResult, len(items))
	cats, err := s.store.Categories(ctx)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(cats))
	for _, c := range cats {
		known[c.Slug] = true
	}
	var valid []int
	slugLine := map[string]int{}
	for i := range items {
		it := &items[i]
		results[i] = BulkResult{Line: it.Line, Slug: it.Input.Slug}
		err := it.Err
		if err == nil {
			err = Prepare(&it.Input)
		}
		if err == nil && it.Input.Category != "" && !known[it.Input.Category] {
			err = invalidField(errs.KindInvalid, "category", "no category has slug "+strconv.Quote(it.Input.Category))
		}
		if first, dup := slugLine[it.Input.Slug]; err == nil && dup {
			err = invalidField(errs.KindConflict, "slug", fmt.Sprintf("%q is already on line %d of this batch", it.Input.Slug, first))
		}
		results[i].Slug = it.Input.Slug
		if err != nil {
			results[i].Outcome, results[i].Err = OutcomeFailed, err
			continue
		}
		slugLine[it.Input.Slug] = it.Line
		valid = append(valid, i)
	}
	stages, err := s.stage(ctx, items, valid, results)
	if err != nil {
		return nil, err
	}
	return results, s.writeStaged(ctx, stages, results)
}

// stage turns valid lines into the products they write, failing those
// whose SKUs belong to another product.
func (s *Service) stage(ctx context.Context, items []BulkItem, valid []int, results []BulkResult) ([]staged, error) {
	slugs := make([]string, 0, len(valid))
	var skus []string
	for _, i := range valid {
		slugs = append(slugs, items[i].Input.Slug)
		for _, v := range items[i].Input.Variants {
			skus = append(skus, v.SKU)
		}
	}
	existing, err := s.store.ProductsBySlug(ctx, slugs)
	if err != nil {
		return nil, err
	}
	owners, err := s.store.SKUOwners(ctx, skus)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	claimed := map[string]int{} // SKU -> line claiming it in this batch
	var out []staged
	for _, i := range valid {
		in := items[i].Input
		st := staged{at: i, old: existing[in.Slug]}
		if st.old != nil {
			next := *st.old
			next.apply(in)
			if reflect.DeepEqual(InputOf(st.old), InputOf(&next)) {
				results[i].Outcome = OutcomeUnchanged
				continue
			}
			next.Version, next.UpdatedAt = st.old.Version+1, now
			st.p = &next
		} else {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, err
			}
			st.p = &Product{ID: id.String(), Version: 1, CreatedAt: now, UpdatedAt: now}
			st.p.apply(in)
		}
		if err := skusFree(st.p, owners, claimed, items[i].Line); err != nil {
			results[i].Outcome, results[i].Err = OutcomeFailed, err
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// skusFree checks no other product, stored or earlier in the batch, holds
// a SKU of p, and claims p's SKUs.
func skusFree(p *Product, owners map[string]string, claimed map[string]int, line int) error {
	var v errs.Validation
	for i, vr := range p.Variants {
		if owner, ok := owners[vr.SKU]; ok && owner != p.ID {
			v.Add(fmt.Sprintf("variants[%d].sku", i), "SKU %q is already used by another product", vr.SKU)
		} else if first, ok := claimed[vr.SKU]; ok {
			v.Add(fmt.Sprintf("variants[%d].sku", i), "SKU %q is already on line %d of this batch", vr.SKU, first)
		}
	}
	if err := v.Err(); err != nil {
		e := err.(*errs.Error)
		e.Kind, e.Msg = errs.KindConflict, "a SKU is already used by another product"
		return e
	}
	for _, vr := range p.Variants {
		claimed[vr.SKU] = line
	}
	return nil
}

// writeStaged writes the staged products in one transaction, or one by
// one when the batch meets a conflict, to find the lines at fault.
func (s *Service) writeStaged(ctx context.Context, stages []staged, results []BulkResult) error {
	if len(stages) == 0 {
		return nil
	}
	var creates, updates []*Product
	for _, st := range stages {
		if st.old == nil {
			creates = append(creates, st.p)
		} else {
			updates = append(updates, st.p)
		}
	}
	err := s.store.WriteProducts(ctx, creates, updates)
	if err == nil {
		for _, st := range stages {
			results[st.at].Outcome = outcomeOf(st)
		}
		return nil
	}
	if !lineFault(err) || len(stages) == 1 {
		if lineFault(err) {
			results[stages[0].at].Outcome, results[stages[0].at].Err = OutcomeFailed, lineError(err)
			return nil
		}
		return err
	}
	for _, st := range stages {
		if err := s.writeStaged(ctx, []staged{st}, results); err != nil {
			return err
		}
	}
	return nil
}

func outcomeOf(st staged) string {
	if st.old == nil {
		return OutcomeCreated
	}
	return OutcomeUpdated
}

// lineFault says whether err is the fault of what a line holds (a
// conflict, a race with another writer), not of the store.
func lineFault(err error) bool {
	switch errs.KindOf(err) {
	case errs.KindConflict, errs.KindInvalid, errs.KindUnprocessable:
		return true
	}
	return errors.Is(err, ErrVersionMismatch)
}

func lineError(err error) error {
	if errors.Is(err, ErrVersionMismatch) {
		return errs.New(errs.KindConflict, "the product changed during the import; import the line again")
	}
	return err
}

func invalidField(kind errs.Kind, field, detail string) error {
	return &errs.Error{Kind: kind, Msg: "the request has invalid fields",
		Fields: []errs.FieldError{{Field: field, Detail: detail}}}
}
