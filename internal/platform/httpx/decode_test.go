package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
