package testwait

import (
	"net"
	"testing"
)

// FreePort returns a loopback port free a moment ago, for a server of
// the test's own to listen on.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
