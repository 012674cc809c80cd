package httpx

import "testing"

func TestCORSChecksOrigins(t *testing.T) {
	for _, good := range [][]string{nil, {"*"}, {"https://shop.example", "http://localhost:3000", "https://*.brand.example"}} {
		if _, err := CORS(good); err != nil {
			t.Errorf("CORS(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"shop.example", "https://shop.example/", "https://shop.example/app", "ftp://shop.example",
		"https://user@shop.example", "https://shop.*.example", "https://shop.example?x", "*.shop.example"} {
		if _, err := CORS([]string{bad}); err == nil {
			t.Errorf("CORS accepted the origin %q", bad)
		}
	}
}
