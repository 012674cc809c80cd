package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestBaselineServerServesTheFetchedBytes(t *testing.T) {
	srv := startFakeCatalog(t, &fakeCatalog{})
	paths := []string{"/api/products/product-07", "/api/categories", "/api/products/no-such-product"}
	var urls []string
	for _, p := range paths {
		urls = append(urls, srv.URL+p)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	var log bytes.Buffer
	go func() { served <- BaselineServer(ctx, ln, urls, BaselineBodyHeaders, &log) }()
	baseline := "http://" + ln.Addr().String()

	for _, p := range paths {
		want, wantBody := get(t, srv.URL+p, "")
		got, gotBody := get(t, baseline+p, "")
		if got.StatusCode != want.StatusCode || !bytes.Equal(gotBody, wantBody) {
			t.Errorf("%s: baseline answered %d %q, Vitrine %d %q", p, got.StatusCode, gotBody, want.StatusCode, wantBody)
		}
		for _, h := range []string{"Content-Type", "ETag", "Cache-Control"} {
			if got.Header.Get(h) != want.Header.Get(h) {
				t.Errorf("%s: %s %q, want %q", p, h, got.Header.Get(h), want.Header.Get(h))
			}
		}
	}

	product, _ := get(t, baseline+paths[0], "")
	if notModified, body := get(t, baseline+paths[0], product.Header.Get("ETag")); notModified.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304 and no body", notModified.StatusCode, len(body))
	}
	if missing, _ := get(t, baseline+"/api/products/product-08", ""); missing.StatusCode != http.StatusNotFound {
		t.Errorf("a path not fetched: %d, want 404", missing.StatusCode)
	}

	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("BaselineServer: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BaselineServer did not stop with its context")
	}
}

func TestBaselineServerFailsWhenAFetchFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String() + "/api/categories"
	dead.Close()
	if err := BaselineServer(t.Context(), ln, []string{deadURL}, BaselineBodyHeaders, io.Discard); err == nil {
		t.Error("no error for a URL that cannot be fetched")
	}
}

// With every header field, the bare server sends what the origin sent,
// field for field; with the body's only, none of the others.
func TestBaselineServerHeaderFields(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("ETag", `"v7"`)
		h.Set("Cache-Control", "public, max-age=60")
		h.Set("Vary", "Accept-Encoding")
		h.Set("X-Request-Id", "req-1")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		_, _ = io.WriteString(w, `{"id":"p1"}`)
	}))
	defer origin.Close()
	want, _ := get(t, origin.URL+"/api/products/p1", "")
	for _, headers := range []string{BaselineAllHeaders, BaselineBodyHeaders} {
		t.Run(headers, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(t.Context())
			served := make(chan error, 1)
			go func() {
				served <- BaselineServer(ctx, ln, []string{origin.URL + "/api/products/p1"}, headers, io.Discard)
			}()
			got, body := get(t, "http://"+ln.Addr().String()+"/api/products/p1", "")
			if string(body) != `{"id":"p1"}` {
				t.Errorf("body %q", body)
			}
			for k, v := range want.Header {
				sent := slices.Equal(got.Header[k], v)
				switch {
				case k == "Date" || k == "Content-Length":
				case headers == BaselineAllHeaders && !sent:
					t.Errorf("%s: %q, want %q", k, got.Header[k], v)
				case headers == BaselineBodyHeaders && !describesBody(k) && got.Header[k] != nil:
					t.Errorf("%s sent: %q", k, got.Header[k])
				}
			}
			stop()
			if err := <-served; err != nil {
				t.Error(err)
			}
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := BaselineServer(t.Context(), ln, []string{origin.URL}, "some", io.Discard); err == nil {
		t.Error("no error for headers \"some\"")
	}
}

func describesBody(field string) bool {
	return slices.ContainsFunc(bodyHeaders, func(b string) bool { return http.CanonicalHeaderKey(b) == field })
}

func get(t *testing.T, url, ifNoneMatch string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
