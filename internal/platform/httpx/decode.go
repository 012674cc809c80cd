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
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// MaxBodyBytes is the default limit on a request body.
const MaxBodyBytes = 1 << 20

// ReadJSONBody reads the raw body of a JSON request, enforcing the content
// type and the size limit. The limit is max bytes (MaxBodyBytes when zero).
// Strings and keys must be text the stores can keep (see checkJSONText).
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
	if err := checkJSONText(body); err != nil {
		return nil, err
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

// maxTextCheckDepth bounds the nesting checkJSONText follows; no body of
// this API nests nearly as deep, and each level costs memory.
const maxTextCheckDepth = 64

// checkJSONText refuses a body with a string or key holding a NUL (\u0000),
// bytes that are not UTF-8, or a lone UTF-16 surrogate escape, naming the
// field by its path (variants[0].sku). encoding/json would pass the NUL on
// and quietly turn the others into U+FFFD: text the client never sent. A
// body that is not JSON passes, for decoding to report.
func checkJSONText(body []byte) error {
	// Most bodies are UTF-8 with no escapes to look at.
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	type level struct {
		array  bool
		index  int    // of the element being read, in an array
		key    string // of the member being read, in an object
		hasKey bool   // the key is read, its value not yet
	}
	var stack []level
	// path names the value being read at depth levels.
	path := func(depth int) string {
		var b strings.Builder
		for _, l := range stack[:depth] {
			switch {
			case l.array:
				fmt.Fprintf(&b, "[%d]", l.index)
			case b.Len() > 0:
				b.WriteString("." + l.key)
			default:
				b.WriteString(l.key)
			}
		}
		return b.String()
	}
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].hasKey = false
			}
		}
	}
	invalid := func(field, detail string) error {
		return &errs.Error{Kind: errs.KindInvalid, Msg: "the body holds text that is not valid",
			Fields: []errs.FieldError{{Field: field, Detail: detail}}}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if len(stack) >= maxTextCheckDepth {
					return invalid(path(len(stack)), fmt.Sprintf("nests deeper than %d levels", maxTextCheckDepth))
				}
				stack = append(stack, level{array: tok == '['})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			fault := stringFault(body[start:dec.InputOffset()])
			if n := len(stack); n > 0 && !stack[n-1].array && !stack[n-1].hasKey {
				if fault != "" { // the key cannot name itself: name its object
					return invalid(path(n-1), "a key "+fault)
				}
				stack[n-1].key, stack[n-1].hasKey = tok, true
				continue
			}
			if fault != "" {
				return invalid(path(len(stack)), fault)
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// stringFault checks the JSON string literal in raw (which may start with
// separators) as sent, escapes undone, and says what is wrong with it.
func stringFault(raw []byte) string {
	q := bytes.IndexByte(raw, '"')
	if q < 0 {
		return ""
	}
	s := raw[q+1:]
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			return ""
		case c == '\\' && i+1 < len(s) && s[i+1] == 'u':
			r := hexRune(s[i+2:])
			switch {
			case r == 0:
				return "must not contain a NUL character (\\u0000)"
			case utf16.IsSurrogate(r):
				if r >= 0xdc00 || i+12 > len(s) || s[i+6] != '\\' || s[i+7] != 'u' {
					return "holds an unpaired UTF-16 surrogate escape"
				}
				if lo := hexRune(s[i+8:]); lo < 0xdc00 || lo > 0xdfff {
					return "holds an unpaired UTF-16 surrogate escape"
				}
				i += 12
				continue
			}
			i += 6
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "must be UTF-8 text"
			}
			i += n
		}
	}
	return ""
}

// hexRune reads the four hex digits of a \u escape; -1 when they are not.
func hexRune(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}
