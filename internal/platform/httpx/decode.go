package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// MaxBodyBytes is the default limit on a request body.
const MaxBodyBytes = 1 << 20

// ReadJSONBody reads the raw body of a JSON request, enforcing the content
// type and the size limit. The limit is max bytes (MaxBodyBytes when zero).
func ReadJSONBody(r *http.Request, max int64, mediaTypes ...string) ([]byte, error) {
	if max <= 0 {
		max = MaxBodyBytes
	}
	if len(mediaTypes) == 0 {
		mediaTypes = []string{"application/json"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(mediaTypes, mt) {
		return nil, errs.New(errs.KindUnsupportedMedia, "the body must be sent as %s", strings.Join(mediaTypes, " or "))
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errs.New(errs.KindTooLarge, "the body exceeds %d bytes", max)
		}
		return nil, errs.Wrap(errs.KindInvalid, err, "the body could not be read")
	}
	return body, nil
}

// DecodeJSON reads a JSON request body into dst, rejecting unknown fields,
// trailing data, a wrong content type and an oversized body.
func DecodeJSON(r *http.Request, dst any) error {
	body, err := ReadJSONBody(r, 0)
	if err != nil {
		return err
	}
	return Unmarshal(body, dst)
}

// Unmarshal decodes one JSON value strictly: unknown fields and trailing data
// are errors, reported with the field at fault.
func Unmarshal(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Exactly one value: anything but white space after it is an error
	// (More alone would let stray closing brackets through).
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &errs.Error{Kind: errs.KindInvalid, Msg: "the body holds more than one JSON value",
			Fields: []errs.FieldError{{Field: "", Detail: "unexpected data after the JSON value"}}}
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	invalid := func(field, detail string) error {
		return &errs.Error{Kind: errs.KindInvalid, Msg: "the body is not valid", Err: err,
			Fields: []errs.FieldError{{Field: field, Detail: detail}}}
	}
	switch {
	case errors.As(err, &syntaxErr):
		return invalid("", fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset))
	case errors.Is(err, io.EOF):
		return invalid("", "the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "malformed JSON: unexpected end of input")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		return invalid(field, fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(name, "unknown field")
	default:
		return invalid("", err.Error())
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return goKind
	}
}
