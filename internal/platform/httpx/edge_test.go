package httpx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.5:1", nil, "203.0.113.5"},
		{"203.0.113.5:1", []string{"1.2.3.4"}, "203.0.113.5"},                            // untrusted peer
		{"10.1.2.3:1", nil, "10.1.2.3"},                                                  // trusted, no header
		{"10.1.2.3:1", []string{"198.51.100.1"}, "198.51.100.1"},                         // one load balancer
		{"10.1.2.3:1", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},                // client-written hop on the left
		{"10.1.2.3:1", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},               // two trusted hops
		{"10.1.2.3:1", []string{"1.1.1.1", "198.51.100.1, 192.168.1.7"}, "198.51.100.1"}, // several header lines
		{"10.1.2.3:1", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2"},                       // all trusted: the farthest
		{"10.1.2.3:1", []string{"nonsense, 198.51.100.1"}, "198.51.100.1"},               // garbage left of the client
		{"10.1.2.3:1", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},                   // garbage from our side: stop
		{"10.1.2.3:1", []string{"198.51.100.1:4711"}, "198.51.100.1"},                    // hop with a port
		{"10.1.2.3:1", []string{"[2001:db8::1]:443"}, "2001:db8::1"},                     // v6 hop with a port
		{"[fd00::1]:1", []string{"2001:db8::2"}, "2001:db8::2"},                          // v6 proxy
		{"[::ffff:10.1.2.3]:1", []string{"198.51.100.3"}, "198.51.100.3"},                // v4-mapped proxy
		{"[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},                                   // v4-mapped client
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		got, ok := ClientIP(r, trusted)
		if !ok || got.String() != tc.want {
			t.Errorf("ClientIP(remote %s, XFF %q) = %s, %v; want %s", tc.remote, tc.xff, got, ok, tc.want)
		}
	}
}

// An inner layer that adds to the context (as authentication does) works
// on a copy of the request; the route the router matched must still reach
// the outer layers that log and count the request.
func TestRouteReachesOuterLayers(t *testing.T) {
	rt := NewRouter()
	rt.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	type key struct{}
	addToContext := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, "caller")))
		})
	}
	var route, id string
	var client netip.Addr
	observe := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			route, id = Route(r), RequestID(r.Context())
			client, _ = ClientAddr(r.Context())
		})
	}
	h := Chain(rt, Edge(nil), observe, addToContext)

	r := httptest.NewRequest(http.MethodGet, "/api/things/42", nil)
	r.RemoteAddr = "198.51.100.7:5555"
	r.Header.Set("X-Request-ID", "req-1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if route != "GET /api/things/{id}" || id != "req-1" || client.String() != "198.51.100.7" {
		t.Fatalf("outer layer saw route %q, id %q, client %s", route, id, client)
	}
	if got := w.Header().Get("X-Request-ID"); got != "req-1" {
		t.Fatalf("X-Request-ID = %q", got)
	}

	r = httptest.NewRequest(http.MethodGet, "/nowhere", nil)
	r.Header.Set("X-Request-ID", "bad id\x01")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if route != "" || w.Code != http.StatusNotFound {
		t.Fatalf("unmatched path: route %q, status %d", route, w.Code)
	}
	if got := w.Header().Get("X-Request-ID"); got == "bad id\x01" || len(got) != 16 {
		t.Fatalf("an unprintable request id was echoed: %q", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8,192.168.1.7 ,, 2001:db8::/32, ::1, 172.16.5.4/12")
	if err != nil {
		t.Fatal(err)
	}
	want := "[10.0.0.0/8 192.168.1.7/32 2001:db8::/32 ::1/128 172.16.0.0/12]"
	if s := fmtPrefixes(got); s != want {
		t.Fatalf("ParseTrustedProxies = %s, want %s", s, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/8/8"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
