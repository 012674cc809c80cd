package analyticshttp

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// ingestEvents answers 202 with the fate of each item of the batch. Only a
// body that is not a batch at all (not JSON, no events, too many) is a
// problem, and a batch with items its sender may not send (a purchase
// without a credential: 403, naming events[i].type); a bad item is
// reported in the result and spares the others.
func ingestEvents(svc *analytics.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := httpx.ReadJSONBody(r, 0)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		b, err := decodeBatch(body)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		src := source(r)
		if bad := analytics.ForbiddenItems(b.events, src); len(bad) > 0 {
			for k := range bad {
				bad[k] = b.positions[bad[k]]
			}
			httpx.WriteError(w, r, analytics.ErrForbiddenItems(bad))
			return
		}
		res, err := svc.Ingest(r.Context(), b.events, src)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		b.merge(res)
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusAccepted, res)
	})
}

// source tells who sent r: a service credential allowed to report
// purchases, or a shopper, known by user id when signed in and by client
// address otherwise.
func source(r *http.Request) analytics.Source {
	p, _ := authn.FromContext(r.Context())
	switch {
	case p.HasScope(authn.ScopeAnalyticsPurchases):
		return analytics.Source{Trusted: true}
	case p.UserID != "":
		return analytics.Source{Shopper: "user:" + p.UserID}
	case p.CredentialID != "":
		// A credential without the scope is no shopper, nor trusted.
		return analytics.Source{Shopper: "credential:" + p.CredentialID}
	}
	if addr, ok := httpx.ClientAddr(r.Context()); ok {
		return analytics.Source{Shopper: "addr:" + httpx.ClientKey(addr)}
	}
	return analytics.Source{Shopper: "addr:unknown"}
}

// batch is a decoded request body: the items that are well-formed events,
// and the faults of those that are not (an object with an unknown field, a
// quantity that is a string...), which must not sink the rest.
type batch struct {
	events    []analytics.ClientEvent
	malformed []analytics.ItemError // Index is the item's place in the request
	positions []int                 // the place in the request of each of events
}

// decodeBatch reads {"events": [...]}. The envelope is decoded strictly: a
// body that is not such an object, lacks events or holds more than
// analytics.MaxBatch of them is an error. Each item is then decoded on its
// own, strictly too.
func decodeBatch(body []byte) (*batch, error) {
	var envelope struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if err := httpx.Unmarshal(body, &envelope); err != nil {
		return nil, err
	}
	// httpx.Unmarshal lets stray closing brackets after the value through
	// (json.Decoder.More stops at them): `{"events":[]}}` must not pass.
	if !json.Valid(body) {
		return nil, &errs.Error{Kind: errs.KindInvalid, Msg: "the body holds more than one JSON value",
			Fields: []errs.FieldError{{Field: "", Detail: "unexpected data after the JSON value"}}}
	}
	if envelope.Events == nil {
		return nil, &errs.Error{Kind: errs.KindInvalid, Msg: "the body is not valid",
			Fields: []errs.FieldError{{Field: "events", Detail: "is required: an array of events"}}}
	}
	items := *envelope.Events
	if len(items) > analytics.MaxBatch {
		return nil, analytics.ErrBatchTooLarge
	}
	b := &batch{events: make([]analytics.ClientEvent, 0, len(items)), positions: make([]int, 0, len(items))}
	for i, raw := range items {
		var ev analytics.ClientEvent
		if err := httpx.Unmarshal(raw, &ev); err != nil {
			b.malformed = append(b.malformed, malformedItem(i, raw, err)...)
			continue
		}
		b.events = append(b.events, ev)
		b.positions = append(b.positions, i)
	}
	return b, nil
}

// malformedItem turns the decoding error of item i into its item errors, with
// the item's id when one can be read, so the client can tell which it was.
func malformedItem(i int, raw json.RawMessage, err error) []analytics.ItemError {
	var probe struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &probe)
	fields := []errs.FieldError{{Field: "event", Detail: "must be an object"}}
	if e := (*errs.Error)(nil); errors.As(err, &e) && len(e.Fields) > 0 {
		fields = e.Fields
	}
	out := make([]analytics.ItemError, len(fields))
	for k, f := range fields {
		if f.Field == "" {
			f.Field = "event"
		}
		out[k] = analytics.ItemError{Index: i, ID: probe.ID, Field: f.Field, Detail: f.Detail}
	}
	return out
}

// merge folds the malformed items into res, the result of ingesting
// b.events, and renumbers its errors by place in the request.
func (b *batch) merge(res *analytics.IngestResult) {
	for k := range res.Errors {
		res.Errors[k].Index = b.positions[res.Errors[k].Index]
	}
	seen := -1
	for _, m := range b.malformed {
		if m.Index != seen {
			res.Rejected++
			seen = m.Index
		}
		res.Errors = append(res.Errors, m)
	}
	res.SortErrors()
}
