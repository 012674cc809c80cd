package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
)

// TestBreakersInMetrics: with Redis unreachable, requests are still served,
// and the Redis breakers open and say so in /metrics. The policy comes
// from the environment here (VITRINE_BREAKER_MIN_REQUESTS), as any flag's.
func TestBreakersInMetrics(t *testing.T) {
	s := startServer(t, map[string]string{"VITRINE_BREAKER_MIN_REQUESTS": "3"},
		"--data-dir", t.TempDir(), "--redis-url", "redis://127.0.0.1:1/0", "--admin-addr", "127.0.0.1:0")
	for i := range 10 {
		// Distinct listings: each is a cache miss, which asks Redis.
		expect(t, s.get("/api/products?limit="+strconv.Itoa(i+1), ""), 200)
	}
	metrics := s.metrics()
	for _, want := range []string{
		`vitrine_breaker_state{breaker="redis-cache"} 2`,
		`vitrine_breaker_state{breaker="redis-ratelimit"} 2`,
		`vitrine_breaker_state{breaker="nats-publish"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, "vitrine_breaker_state"))
		}
	}
}

func TestBreakerFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"--breaker-failure-ratio", "1.5"},
		{"--breaker-min-requests", "0"},
		{"--breaker-timeout", "0s"},
		{"--breaker-open-for", "-1s"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...),
			func(string) string { return "" }, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("serve %s: %v, want a refusal naming %s", strings.Join(args, " "), err, args[0])
		}
	}
}
