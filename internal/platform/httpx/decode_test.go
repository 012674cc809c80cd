package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

func TestUnmarshalTakesExactlyOneValue(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	var ok body
	if err := Unmarshal([]byte(" {\"name\": \"x\"} \n"), &ok); err != nil || ok.Name != "x" {
		t.Fatalf("valid body: %v", err)
	}
	for _, bad := range []string{`{"name":"x"}}`, `{"name":"x"}]`, `{"name":"x"} {}`, `{"name":"x"} 1`, `{"name":"x","age":1}`, `{"name":1}`, `{`, ``} {
		var b body
		err := Unmarshal([]byte(bad), &b)
		if errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%q: got %v, want an invalid-input error", bad, err)
		}
	}
}

func TestCancelledRequestsAreNotServerErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("GET", "/x", nil), fmt.Errorf("load: %w", context.Canceled))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("cancelled request answered %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("GET", "/x", nil), errors.New("disk on fire"))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "disk") {
		t.Fatalf("internal error answered %d %s", rec.Code, rec.Body)
	}
}

// postJSON sends body through ReadJSONBody and Unmarshal, as handlers do,
// and returns the problem a client would see (nil when accepted).
func postJSON(t *testing.T, body string) *Problem {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v any
		if err := DecodeJSON(r, &v); err != nil {
			WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).ServeHTTP(rec, req)
	if rec.Code == http.StatusNoContent {
		return nil
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%q: answer %d %s", body, rec.Code, rec.Body)
	}
	return &p
}

func TestJSONTextTheStoresRefuseIsNamed(t *testing.T) {
	for body, field := range map[string]string{
		`{"name": "a\u0000b"}`:                                     "name",
		"{\"name\": \"a\xffb\"}":                                   "name",
		"{\"name\": \"\xed\xa0\x80\"}":                             "name", // a surrogate encoded in UTF-8
		`{"variants": [{"sku": "A"}, {"sku": "B\u0000"}]}`:         "variants[1].sku",
		`{"variants": [{"price": {"currency": "\ud800"}}]}`:        "variants[0].price.currency",
		`{"tags": ["ok", "\udc00\ud800"]}`:                         "tags[1]",
		`{"attributes": {"a\u0000": "x"}}`:                         "attributes",
		"{\"attributes\": {\"ok\": \"x\", \"k\xc3\": \"x\"}}":      "attributes",
		`{"a": {"b": 1, "c": [true, null, 2.5, "\u0000"]}}`:        "a.c[3]",
		`["x", {"y": "\\u0000 is fine, this one is not: \u0000"}]`: "[1].y",
	} {
		p := postJSON(t, body)
		if p == nil || p.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%q: got %+v, want a 400 naming %q", body, p, field)
		}
	}
	for _, body := range []string{
		`{"name": "Lampe à poser 💡"}`,
		`{"name": "Lampe \u00e0 poser \ud83d\udca1", "tags": ["\uFFFD", "\\u0000", "tab\tand\nnewline"]}`,
		`{"a": [[[[]]]], "b": {}, "c": "\\\\"}`,
	} {
		if p := postJSON(t, body); p != nil {
			t.Errorf("%q: refused: %+v", body, p)
		}
	}
	deep := strings.Repeat("[", 200) + `"\u0000"` + strings.Repeat("]", 200)
	if p := postJSON(t, deep); p == nil || p.Status != http.StatusBadRequest {
		t.Errorf("deeply nested NUL: got %+v, want 400", p)
	}
}

// FuzzCheckJSONText: a body is either refused as invalid input, or every
// string decoded from it is what the client sent: no NUL, and no U+FFFD
// that the client did not write itself.
func FuzzCheckJSONText(f *testing.F) {
	for _, seed := range []string{
		`{"name": "a\u0000b"}`, "{\"name\": \"a\xffb\"}", `{"t": ["\ud83d\udca1", "\ud83d"]}`, `{"k\u0000": 1}`,
		`{"a": "\uFFFD"}`, `"\\u0000"`, `[1, "x", {"y": null}]`, `{`, ``, "\"\xef\xbf\xbd\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkJSONText(body)
		if err != nil {
			if errs.KindOf(err) != errs.KindInvalid {
				t.Fatalf("%q: error of kind %v", body, errs.KindOf(err))
			}
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		clientWroteFFFD := bytes.Contains(body, []byte("\xef\xbf\xbd")) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
		var walk func(any)
		walk = func(v any) {
			check := func(s string) {
				if strings.ContainsRune(s, 0) || (!clientWroteFFFD && strings.ContainsRune(s, utf8.RuneError)) {
					t.Fatalf("%q: accepted, decodes to %q", body, s)
				}
			}
			switch v := v.(type) {
			case string:
				check(v)
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					check(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}
