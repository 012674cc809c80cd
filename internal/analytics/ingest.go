package analytics

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// ClientEvent is one item of a batch, as a client sends it.
type ClientEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	ProductID string `json:"product_id"`
	// Quantity is the number of units added to the cart or bought; 1 when
	// absent. A view has none (or 1).
	Quantity *int64 `json:"quantity,omitempty"`
	// At is when the event happened (RFC 3339); now when empty.
	At string `json:"at,omitempty"`
}

// ItemError says why one item of a batch was rejected. An item with several
// faults has one ItemError per field.
type ItemError struct {
	Index  int    `json:"index"`
	ID     string `json:"id"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// IngestResult is the fate of each item of a batch. Accepted + Duplicates +
// Rejected is the number of items. Uncounted are the accepted events that
// moved no counter: a shopper's repeat within the window, or past the
// hourly cap (see Source).
type IngestResult struct {
	Accepted   int         `json:"accepted"`
	Uncounted  int         `json:"uncounted"`
	Duplicates int         `json:"duplicates"`
	Rejected   int         `json:"rejected"`
	Errors     []ItemError `json:"errors"`
}

// Source is who sends a batch. Rankings follow purchases and views, so
// only a trusted source (a service credential with the
// analytics:purchases scope: the checkout) may report purchases, and its
// events count as sent. Every other sender is a shopper: a signed-in user
// or an anonymous client, told apart by Shopper ("user:<id>" or the client
// address's httpx.ClientKey). A shopper's views and carts count once per
// product and type per Config.ShopperWindow, and at most Config.ShopperCap
// an hour, so that one client cannot move rankings alone.
type Source struct {
	Trusted bool
	Shopper string
}

// ForbiddenItems returns the positions in batch of the events src may not
// send: purchases, unless src is trusted.
func ForbiddenItems(batch []ClientEvent, src Source) []int {
	if src.Trusted {
		return nil
	}
	var out []int
	for i, ev := range batch {
		if ev.Type == TypePurchase {
			out = append(out, i)
		}
	}
	return out
}

// ErrForbiddenItems refuses a batch holding items its sender may not send,
// naming each by its position: events[i].type. Nothing of the batch counts.
func ErrForbiddenItems(positions []int) error {
	e := &errs.Error{Kind: errs.KindForbidden,
		Msg: "purchases are reported by a trusted service with a credential holding the analytics:purchases scope; nothing of this batch was recorded"}
	for _, i := range positions {
		e.Fields = append(e.Fields, errs.FieldError{Field: fmt.Sprintf("events[%d].type", i),
			Detail: "a purchase needs a service credential with the analytics:purchases scope"})
	}
	return e
}

// Reject counts one more rejected item with its faults.
func (r *IngestResult) Reject(index int, id string, faults ...errs.FieldError) {
	r.Rejected++
	for _, f := range faults {
		r.Errors = append(r.Errors, ItemError{Index: index, ID: id, Field: f.Field, Detail: f.Detail})
	}
}

// ErrBatchTooLarge is returned for a batch of more than MaxBatch events.
var ErrBatchTooLarge = &errs.Error{Kind: errs.KindTooLarge, Msg: fmt.Sprintf("a batch holds at most %d events", MaxBatch),
	Fields: []errs.FieldError{{Field: "events", Detail: fmt.Sprintf("at most %d events; split the batch", MaxBatch)}}}

// Ingest checks and records a batch of client events from src. Each item
// stands on its own: a bad one is rejected with its faults (an unknown
// product among them) and never holds back the good ones; an id seen
// before counts as a duplicate, so a replayed batch counts once. Items src
// may not send at all (ForbiddenItems) refuse the whole batch.
func (s *Service) Ingest(ctx context.Context, batch []ClientEvent, src Source) (*IngestResult, error) {
	if len(batch) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	if bad := ForbiddenItems(batch, src); len(bad) > 0 {
		return nil, ErrForbiddenItems(bad)
	}
	res := &IngestResult{Errors: []ItemError{}}
	now := s.now()
	valid := make([]Event, 0, len(batch))
	index := make([]int, 0, len(batch)) // position in batch of each valid event
	for i, in := range batch {
		ev, faults := checkEvent(in, now, s.cfg.MaxSkew)
		if len(faults) > 0 {
			res.Reject(i, in.ID, faults...)
			continue
		}
		valid = append(valid, ev)
		index = append(index, i)
	}
	if len(valid) == 0 {
		return res, nil
	}
	var outcomes []Outcome
	var err error
	if src.Trusted {
		outcomes, err = s.store.RecordEvents(ctx, valid)
	} else {
		outcomes, err = s.store.RecordShopperEvents(ctx, s.gate(src.Shopper, now), valid)
	}
	if err != nil {
		return nil, err
	}
	for k, o := range outcomes {
		switch o {
		case Accepted:
			res.Accepted++
		case Repeated, OverCap:
			res.Accepted++
			res.Uncounted++
		case Duplicate:
			res.Duplicates++
		default:
			res.Reject(index[k], valid[k].ID, errs.FieldError{Field: "product_id", Detail: "unknown product"})
		}
	}
	res.SortErrors()
	return res, nil
}

// gate is the shopper's bounds at now. The shopper is kept as a hash:
// enough to tell shoppers apart for an hour, without storing addresses.
func (s *Service) gate(shopper string, now time.Time) ShopperGate {
	sum := sha256.Sum256([]byte("vitrine analytics shopper\x00" + shopper))
	return ShopperGate{Shopper: sum[:16], Window: now.Truncate(s.cfg.ShopperWindow),
		Hour: now.Truncate(time.Hour), Cap: s.cfg.ShopperCap}
}

// SortErrors orders the errors by item, keeping each item's fields in order.
func (r *IngestResult) SortErrors() {
	slices.SortStableFunc(r.Errors, func(a, b ItemError) int { return cmp.Compare(a.Index, b.Index) })
}

// checkEvent validates one client event against the clock. An event from
// at most maxSkew in the future counts now.
func checkEvent(in ClientEvent, now time.Time, maxSkew time.Duration) (Event, []errs.FieldError) {
	var v errs.Validation
	switch {
	case in.ID == "":
		v.Add("id", "is required")
	case !ValidID(in.ID):
		v.Add("id", "must be 1 to %d printable ASCII characters without spaces", MaxIDLen)
	}
	switch in.Type {
	case TypeView, TypeAddToCart, TypePurchase:
	case "":
		v.Add("type", "is required")
	default:
		v.Add("type", "must be one of view, add_to_cart, purchase")
	}
	switch {
	case in.ProductID == "":
		v.Add("product_id", "is required")
	case !ValidID(in.ProductID):
		v.Add("product_id", "must be 1 to %d printable ASCII characters without spaces", MaxIDLen)
	}
	quantity := int64(1)
	if in.Quantity != nil {
		quantity = *in.Quantity
		switch {
		case in.Type == TypeView && quantity != 1:
			v.Add("quantity", "a view has no quantity")
		case quantity < 1 || quantity > MaxQuantity:
			v.Add("quantity", "must be an integer from 1 to %d", MaxQuantity)
		}
	}
	at := now
	if in.At != "" {
		t, err := time.Parse(time.RFC3339Nano, in.At)
		switch {
		case err != nil:
			v.Add("at", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
		case t.After(now.Add(maxSkew)):
			v.Add("at", "is in the future (more than %s ahead of the server clock)", maxSkew)
		case t.Before(now.Add(-MaxAge)):
			v.Add("at", "is older than %d days", int(MaxAge/(24*time.Hour)))
		case t.Before(now):
			at = t.UTC()
		}
	}
	if len(v.Fields) > 0 {
		return Event{}, v.Fields
	}
	return Event{ID: in.ID, Type: in.Type, ProductID: in.ProductID, Quantity: quantity, At: at}, nil
}

// ValidID accepts 1 to MaxIDLen printable ASCII characters other than space:
// UUIDs, ULIDs and the like, and nothing a log or a database could choke on.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
