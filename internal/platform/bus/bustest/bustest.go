// Package bustest gives tests a real event stream: an embedded nats-server
// in a temporary directory, or the local NATS server (127.0.0.1:4222) with a
// unique prefix so runs do not see each other. A missing local server fails
// the test.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
)

// DefaultURL is the NATS server of development and CI machines.
const DefaultURL = "nats://127.0.0.1:4222"

// URL returns VITRINE_TEST_NATS_URL or the local default.
func URL() string {
	if u := os.Getenv("VITRINE_TEST_NATS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Prefix returns a fresh deployment prefix whose streams are deleted when
// the test ends.
func Prefix(t testing.TB) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "t" + hex.EncodeToString(b[:])
	t.Cleanup(func() { DeleteStreams(t, prefix) })
	return prefix
}

// Open returns a bus with the application's streams on an embedded
// server, or on the local server when external is true.
func Open(t testing.TB, external bool) *bus.Bus {
	t.Helper()
	return OpenConfig(t, external, bus.Config{})
}

// OpenConfig is Open with cfg's logger, metrics registry and dead-letter
// prefix (the application's when empty).
func OpenConfig(t testing.TB, external bool, cfg bus.Config) *bus.Bus {
	t.Helper()
	cfg.DataDir, cfg.Name, cfg.Streams = t.TempDir(), t.Name(), events.Streams()
	if cfg.DeadLetterPrefix == "" {
		cfg.DeadLetterPrefix = events.DeadLetterPrefix
	}
	if external {
		cfg.URL, cfg.Prefix = URL(), Prefix(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("event stream (NATS at %s is required for external tests): %v", cfg.URL, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// DeleteStreams removes the streams of a prefix from the local server.
func DeleteStreams(t testing.TB, prefix string) {
	nc, err := nats.Connect(URL(), nats.Timeout(2*time.Second))
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return
	}
	for _, s := range events.Streams() {
		_ = js.DeleteStream(prefix + "_" + s.Name)
	}
}
