// Package errs defines the few kinds of error that services return. The HTTP
// layer maps each kind to a status in exactly one place (httpx.WriteError).
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	KindInternal         Kind = iota
	KindInvalid               // the request is malformed or fails validation
	KindNotFound              // the thing does not exist (or is not visible)
	KindConflict              // the write collides with existing state (duplicate slug, non-empty category)
	KindPrecondition          // If-Match names a stale version
	KindUnauthenticated       // no valid credentials
	KindForbidden             // valid credentials, not allowed
	KindUnprocessable         // well-formed but unusable (idempotency key reused with another body)
	KindUnavailable           // a dependency is down
	KindTooLarge              // the body exceeds its limit
	KindUnsupportedMedia      // the body is not JSON
	KindTooManyRequests       // the caller must slow down; Error.RetryAfter says for how long
)

// FieldError names one field at fault and why.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is an error with a kind, a message meant for the client, and
// optionally per-field validation errors.
type Error struct {
	Kind   Kind
	Msg    string
	Fields []FieldError
	Err    error // the cause, never shown to clients
	// RetryAfter is how long the client should wait before trying again,
	// when that is known (a throttled login).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap attaches a kind and a client-facing message to a cause.
func Wrap(kind Kind, err error, msg string) *Error {
	return &Error{Kind: kind, Msg: msg, Err: err}
}

// KindOf returns the kind of err, KindInternal when it has none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Is reports whether err is of the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Validation collects field errors; Err returns nil when there are none.
type Validation struct{ Fields []FieldError }

// Add records that field is invalid.
func (v *Validation) Add(field, format string, args ...any) {
	v.Fields = append(v.Fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Check records detail for field when ok is false.
func (v *Validation) Check(ok bool, field, format string, args ...any) {
	if !ok {
		v.Add(field, format, args...)
	}
}

// Err returns a KindInvalid error listing the fields, or nil.
func (v *Validation) Err() error {
	if len(v.Fields) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Msg: "the request has invalid fields", Fields: v.Fields}
}
