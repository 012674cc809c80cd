package httpx

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// jsonBody returns a JSON body of about n bytes.
func jsonBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":` + strconv.Itoa(i) + `,"name":"product number ` + strconv.Itoa(i) + `"}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func compressed(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	mw, err := Compress()
	if err != nil {
		t.Fatal(err)
	}
	return mw(h)
}

func get(h http.Handler, method string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/x", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decoded(t *testing.T, w *httptest.ResponseRecorder) []byte {
	t.Helper()
	switch w.Header().Get("Content-Encoding") {
	case "":
		return w.Body.Bytes()
	case "gzip":
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case "zstd":
		zr, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		out, err := zr.DecodeAll(w.Body.Bytes(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("unexpected Content-Encoding %q", w.Header().Get("Content-Encoding"))
	return nil
}

// A representation's compressed bodies are served only to clients that
// accept them, with the entity tag, Vary and Content-Length that the
// compression of a dynamic response gives, and decode to the body.
func TestRepresentationCompressedVariants(t *testing.T) {
	body := jsonBody(6000)
	const etag = `"7.abc"`
	rep := NewRepresentation(body, etag)
	cacheControl := HeaderValue("public, max-age=60")
	precomputed := compressed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AddVary(w.Header(), "Authorization")
		rep.Write(w, r, cacheControl)
	}))
	dynamic := compressed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Authorization")
		WriteRepresentation(w, r, http.StatusOK, body, etag, "public, max-age=60")
	}))

	for _, tc := range []struct {
		name, acceptEncoding, method string
		wantEncoding, wantETag       string
	}{
		{"no Accept-Encoding", "", http.MethodGet, "", `"7.abc"`},
		{"gzip", "gzip", http.MethodGet, "gzip", `"7.abc-gzip"`},
		{"gzip with q", "deflate, gzip;q=0.8", http.MethodGet, "gzip", `"7.abc-gzip"`},
		{"zstd preferred on a tie", "gzip, deflate, br, zstd", http.MethodGet, "zstd", `"7.abc-zstd"`},
		{"gzip preferred by q", "gzip;q=1, zstd;q=0.5", http.MethodGet, "gzip", `"7.abc-gzip"`},
		{"gzip refused", "gzip;q=0, identity", http.MethodGet, "", `"7.abc"`},
		{"unknown only", "br", http.MethodGet, "", `"7.abc"`},
		{"HEAD is never compressed", "gzip", http.MethodHead, "", `"7.abc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.acceptEncoding != "" {
				hdr = []string{"Accept-Encoding", tc.acceptEncoding}
			}
			for round := range 2 { // made on the first request, reused on the second
				w := get(precomputed, tc.method, hdr...)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				if got := w.Header().Get("Content-Encoding"); got != tc.wantEncoding {
					t.Fatalf("round %d: Content-Encoding = %q, want %q", round, got, tc.wantEncoding)
				}
				if got := w.Header().Get("ETag"); got != tc.wantETag {
					t.Errorf("ETag = %q, want %q", got, tc.wantETag)
				}
				if got := w.Header().Values("Vary"); !slices.Equal(got, []string{"Accept-Encoding", "Authorization"}) {
					t.Errorf("Vary = %q", got)
				}
				if got := w.Header().Get("Cache-Control"); got != "public, max-age=60" {
					t.Errorf("Cache-Control = %q", got)
				}
				if got := w.Header().Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type = %q", got)
				}
				if tc.method == http.MethodHead {
					continue
				}
				if got := w.Header().Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
					t.Errorf("Content-Length = %q for %d bytes", got, w.Body.Len())
				}
				if !bytes.Equal(decoded(t, w), body) {
					t.Fatal("the body does not decode to the representation")
				}
			}
			// The same answer as compressing the dynamic response.
			d := get(dynamic, tc.method, hdr...)
			p := get(precomputed, tc.method, hdr...)
			for _, k := range []string{"Content-Encoding", "ETag", "Content-Type", "Cache-Control"} {
				if d.Header().Get(k) != p.Header().Get(k) {
					t.Errorf("%s: dynamic %q, precomputed %q", k, d.Header().Get(k), p.Header().Get(k))
				}
			}
			if !slices.Equal(d.Header().Values("Vary"), p.Header().Values("Vary")) {
				t.Errorf("Vary: dynamic %q, precomputed %q", d.Header().Values("Vary"), p.Header().Values("Vary"))
			}
		})
	}
}

// A client holding either encoding's tag gets 304 with the plain tag, as
// with a dynamic response; a small body is never compressed.
func TestRepresentationNotModifiedAndSmall(t *testing.T) {
	rep := NewRepresentation(jsonBody(6000), `"abc"`)
	h := compressed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rep.Write(w, r, nil) }))
	for _, held := range []string{`"abc"`, `"abc-gzip"`, `W/"abc-zstd"`} {
		w := get(h, http.MethodGet, "Accept-Encoding", "gzip", "If-None-Match", held)
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304", held, w.Code, w.Body.Len())
		}
		if got := w.Header().Get("ETag"); got != `"abc"` {
			t.Errorf("ETag on 304 = %q", got)
		}
	}
	if w := get(h, http.MethodGet, "Accept-Encoding", "gzip", "If-None-Match", `"other"`); w.Code != http.StatusOK {
		t.Errorf("another tag: %d, want 200", w.Code)
	}

	small := NewRepresentation([]byte(`{"ok":true}`), `"s"`)
	hs := compressed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { small.Write(w, r, nil) }))
	w := get(hs, http.MethodGet, "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "" || w.Body.String() != `{"ok":true}` || w.Header().Get("ETag") != `"s"` {
		t.Errorf("small body: encoding %q, body %q, ETag %q", w.Header().Get("Content-Encoding"), w.Body, w.Header().Get("ETag"))
	}
	if got := w.Header().Get("Vary"); got != "Accept-Encoding" {
		t.Errorf("Vary = %q", got)
	}
}

// Without the compression layer a representation is sent as it is, even
// to a client that accepts gzip.
func TestRepresentationWithoutCompress(t *testing.T) {
	body := jsonBody(6000)
	rep := NewRepresentation(body, `"abc"`)
	w := get(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rep.Write(w, r, nil) }), http.MethodGet, "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "" || !bytes.Equal(w.Body.Bytes(), body) {
		t.Fatalf("encoding %q, %d bytes", w.Header().Get("Content-Encoding"), w.Body.Len())
	}
}

// Shared header lists are never written into: a response that adds to
// one gets a copy.
func TestSharedHeaderListsAreCopiedOnAdd(t *testing.T) {
	h := http.Header{}
	AddVary(h, "Authorization")
	h.Add("Vary", "Origin")
	if !slices.Equal(headerVaryAuth, []string{"Authorization"}) {
		t.Fatalf("the shared list changed: %q", headerVaryAuth)
	}
	if got := h.Values("Vary"); !slices.Equal(got, []string{"Authorization", "Origin"}) {
		t.Fatalf("Vary = %q", got)
	}
	h2 := http.Header{}
	h2["Vary"] = headerVaryAE
	AddVary(h2, "Authorization")
	if got := strings.Join(h2.Values("Vary"), ","); got != "Accept-Encoding,Authorization" {
		t.Fatalf("Vary = %q", got)
	}
}

func TestRequestIDsAreUniqueAndHex(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newRequestID()
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" || seen[id] {
			t.Fatalf("request id %q: want 16 hex digits, never repeated", id)
		}
		seen[id] = true
	}
}
