// Package httpx holds the HTTP plumbing shared by every service: RFC 9457
// problem responses, strict JSON decoding, middleware and the router that
// answers unknown routes and methods with problems too.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Errors   []errs.FieldError `json:"errors,omitempty"`
}

// StatusOf maps an error kind to its HTTP status. It is the one place where
// that mapping lives.
func StatusOf(kind errs.Kind) int {
	switch kind {
	case errs.KindInvalid:
		return http.StatusBadRequest
	case errs.KindNotFound:
		return http.StatusNotFound
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindPrecondition:
		return http.StatusPreconditionFailed
	case errs.KindUnauthenticated:
		return http.StatusUnauthorized
	case errs.KindForbidden:
		return http.StatusForbidden
	case errs.KindUnprocessable:
		return http.StatusUnprocessableEntity
	case errs.KindUnavailable:
		return http.StatusServiceUnavailable
	case errs.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case errs.KindTooManyRequests:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// WriteError writes err as a problem. Internal errors are logged and shown to
// the client without their cause.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away or the request ran out of time: not a
		// server fault, and nobody may be left to read the answer.
		e = &errs.Error{Kind: errs.KindUnavailable, Msg: "the request was cancelled or took too long", Err: err}
		w.Header().Set("Retry-After", "1")
	default:
		var ok bool
		if e, ok = errs.Classify(err); !ok {
			e = &errs.Error{Kind: errs.KindInternal, Err: err}
		}
	}
	status := StatusOf(e.Kind)
	p := Problem{Status: status, Title: http.StatusText(status), Detail: e.Msg, Errors: e.Fields}
	if status == http.StatusInternalServerError {
		slog.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path)
		p.Detail = "an unexpected error occurred"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vitrine"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfter(e.RetryAfter))
	}
	WriteProblem(w, r, p)
}

// WriteProblem writes p with its status.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	body, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("ETag")
	h.Del("Cache-Control")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	WriteRawJSON(w, status, body)
}

// WriteRawJSON writes an already encoded JSON body.
func WriteRawJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
