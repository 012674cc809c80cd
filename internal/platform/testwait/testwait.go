// Package testwait holds the one polling loop tests use to wait for
// something that happens in the background (an event consumed, a server
// back, a breaker closed), instead of sleeping a fixed time, and what
// tests that run servers of their own share: a free port, a frozen
// process.
package testwait

import (
	"testing"
	"time"
)

// Every is how often Until asks again.
const Every = 50 * time.Millisecond

// Until calls cond every Every until it returns true, and fails the test
// naming what it waited for when limit passes first.
func Until(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what)
		}
		time.Sleep(Every)
	}
}
