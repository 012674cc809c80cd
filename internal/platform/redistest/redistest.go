// Package redistest gives tests a client of the local Redis (127.0.0.1:6379
// on development and CI machines), or a Redis of the test's own (Start)
// that it can stop and start again. A missing Redis fails the test; it is
// never skipped.
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr returns VITRINE_TEST_REDIS_ADDR or the local default.
func Addr() string {
	if a := os.Getenv("VITRINE_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Client returns a client of the local Redis, closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(), ContextTimeoutEnabled: true, MaxRetries: 0})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		t.Fatalf("Redis is required for this test at %s (set VITRINE_TEST_REDIS_ADDR): %v", Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
