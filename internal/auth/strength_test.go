package auth

import (
	"strings"
	"testing"
)

// The passwords the README and docs tell people to type must pass.
func TestDocumentedPasswordsPass(t *testing.T) {
	for _, tc := range []struct{ email, password string }{
		{"admin@example.com", "change-me-please"},
		{"me@example.com", "a-long-password"},
		{"ops@vitrine.test", "ops-password"},
		{"admin@bench.test", "admin-password"},
		{"shopper@bench.test", "shopper-password"},
		{"ada@example.com", "correct horse"},
		{"ada@example.com", strings.Repeat("é", 128)},
	} {
		if why := passwordWeakness(tc.password, tc.email); why != "" {
			t.Errorf("%q for %s: %s", tc.password, tc.email, why)
		}
	}
}

func TestPasswordWeaknessNamesTheReason(t *testing.T) {
	for _, tc := range []struct{ password, email, want string }{
		{"ada@example.com", "ada@example.com", "e-mail"},
		{"Ada.Example!", "ada@example.com", "e-mail"},
		{"adaada12", "ada@example.com", "e-mail"},
		{"password", "ada@example.com", "most common"},
		{"P@ssw0rd", "ada@example.com", "most common"},
		{"asdfghjkl;", "ada@example.com", "too easy"},
		{"abcdefgh12", "ada@example.com", "too easy"},
		{"!!!!!!!!!!", "ada@example.com", "too easy"},
	} {
		if why := passwordWeakness(tc.password, tc.email); !strings.Contains(why, tc.want) {
			t.Errorf("%q for %s: %q, want it to mention %q", tc.password, tc.email, why, tc.want)
		}
	}
}

func TestPrefixCutsAtARuneBoundary(t *testing.T) {
	if got := prefix(strings.Repeat("é", 40), 63); got != strings.Repeat("é", 31) {
		t.Fatalf("prefix: %q", got)
	}
	if got := prefix("short", 64); got != "short" {
		t.Fatalf("prefix: %q", got)
	}
}
