package search

import (
	"strings"
	"testing"
)

func TestHighlight(t *testing.T) {
	svc, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	terms := map[string]bool{"television": true, "headphone": true}
	for _, tc := range []struct{ text, want string }{
		{"Samsung Télévision <QLED>", "Samsung <mark>Télévision</mark> &lt;QLED&gt;"},
		{"Wireless Headphones & more", "Wireless <mark>Headphones</mark> &amp; more"},
	} {
		if got, ok := svc.highlight(tc.text, terms); !ok || got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.text, got, tc.want)
		}
	}
	if _, ok := svc.highlight("Oak Chair", terms); ok {
		t.Error("a text without a match was highlighted")
	}
	long := strings.Repeat("comfortable chair ", 20) + "with headphones " + strings.Repeat("and more ", 30)
	got, _ := svc.highlight(long, terms)
	if !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") || !strings.Contains(got, "<mark>headphones</mark>") ||
		len(got) > fragmentSize+40 {
		t.Errorf("long text: %q, want a fragment around the match", got)
	}
}
