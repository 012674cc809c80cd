package httpx

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// One client may hold limit requests at once; past that it alone is
// refused, and its slots come back when its requests end.
func TestLimitPerClient(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}), Edge(nil), LimitPerClient(2))
	send := func(path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	var wg sync.WaitGroup
	for _, remote := range []string{"[2001:db8:1:2::a]:1", "[2001:db8:1:2::b]:2"} { // one /64
		wg.Go(func() { send("/hold", remote) })
		<-entered
	}
	w := send("/", "[2001:db8:1:2::c]:3")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third request of a /64 with two in flight: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := send("/", "[2001:db8:1:3::a]:1"); w.Code != http.StatusNoContent {
		t.Fatalf("another client: %d", w.Code)
	}
	close(release)
	wg.Wait()
	if w := send("/", "[2001:db8:1:2::c]:3"); w.Code != http.StatusNoContent {
		t.Fatalf("after its requests ended: %d", w.Code)
	}
}

// A body larger than MaxBodyBytes reaches the handler cut just past the
// limit, so the handler's own limit answers 413, and the connection is not
// kept for another request.
func TestBufferBodyKeepsHandlerLimits(t *testing.T) {
	var got int
	srv := httptest.NewServer(Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := ReadJSONBody(r, 0)
		got = len(body)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}), BufferBody(0, nil)))
	defer srv.Close()

	post := func(body []byte) *http.Response {
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := post([]byte(`{"a":1}`)); resp.StatusCode != http.StatusNoContent || got != 7 {
		t.Fatalf("small body: %d, handler read %d bytes", resp.StatusCode, got)
	}
	resp := post([]byte(strings.Repeat(" ", 3*MaxBodyBytes)))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("3 MiB body: %d, connection close %v; want 413 and close", resp.StatusCode, resp.Close)
	}
}

// A handler waiting on a dependency that never answers is released at
// the request's deadline, and the client hears back.
func TestDeadlineReleasesAWaitingRequest(t *testing.T) {
	h := Deadline(100 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a query on a frozen database
		WriteProblem(w, r, Problem{Status: http.StatusServiceUnavailable, Detail: r.Context().Err().Error()})
	}))
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/products", nil))
	if took := time.Since(start); took > time.Second || rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d after %s", rec.Code, took)
	}
}
