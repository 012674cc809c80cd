package httpx_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// TestLogLinesNameTheRequest: a line logged with a request's context names
// its id once, whether or not the caller named it.
func TestLogLinesNameTheRequest(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(httpx.WithRequestIDs(slog.NewJSONHandler(&buf, nil))).With("service", "test")
	var id string
	h := httpx.Edge(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = httpx.RequestID(r.Context())
		logger.WarnContext(r.Context(), "one")
		logger.WarnContext(r.Context(), "two", "request_id", id)
		logger.Warn("three") // no request: no id
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if id == "" || len(lines) != 3 {
		t.Fatalf("id %q, lines %q", id, lines)
	}
	for i, want := range []int{1, 1, 0} {
		if n := strings.Count(lines[i], `"request_id":"`+id+`"`); n != want {
			t.Errorf("line %d names the request %d times, want %d: %s", i, n, want, lines[i])
		}
	}
}
