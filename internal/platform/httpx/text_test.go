package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestQueryAndPathMustBeText: a query parameter or path segment that is not
// UTF-8 text, or holds control characters, is a 400 naming it; text of any
// script passes.
func TestQueryAndPathMustBeText(t *testing.T) {
	rt := NewRouter()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	rt.Handle("GET /items/{key}", ok)
	rt.Handle("GET /files/{rest...}", ok)
	rt.Handle("GET /items", ok)
	h := TextQuery(rt)
	for target, field := range map[string]string{
		"/items?brand=%00":            "brand",
		"/items?brand=%FF%FE":         "brand",
		"/items?a=ok&brand=x%0Ay":     "brand",
		"/items?q=%7F":                "q",
		"/items?q=%E2%82":             "q", // a truncated UTF-8 sequence
		"/items?%00=x":                "query",
		"/items/%00":                  "key",
		"/items/lamp%C0%AF":           "key", // an overlong "/"
		"/files/a/b%FF":               "rest",
		"/items/%E2%82%AC?brand=%01x": "brand",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		var p Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: %d %s, want a 400 naming %q", target, rec.Code, rec.Body, field)
		}
	}
	for _, target := range []string{"/items?brand=B%C3%BCro&q=%E2%82%AC+5", "/items/%E2%82%AC", "/files/a/b/c", "/items?bad=%zz"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != http.StatusNoContent {
			t.Errorf("%s: %d %s, want it served", target, rec.Code, rec.Body)
		}
	}
}
