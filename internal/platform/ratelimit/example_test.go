package ratelimit_test

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
)

func ExampleParseLimit() {
	for _, s := range []string{"100/s", "100/s:200", "5/m:5", "50/10s", "off"} {
		l, err := ratelimit.ParseLimit(s)
		fmt.Printf("%-10s rate=%d period=%s burst=%d err=%v\n", s, l.Rate, l.Period, l.Burst, err)
	}
	// Output:
	// 100/s      rate=100 period=1s burst=100 err=<nil>
	// 100/s:200  rate=100 period=1s burst=200 err=<nil>
	// 5/m:5      rate=5 period=1m0s burst=5 err=<nil>
	// 50/10s     rate=50 period=10s burst=50 err=<nil>
	// off        rate=0 period=0s burst=0 err=<nil>
}

func ExampleByAddress() {
	var api http.Handler = http.NewServeMux()
	logger := slog.Default()

	// Embedded shape: limits in process memory.
	var limiter ratelimit.Limiter = ratelimit.NewMemory(0)

	// Split shape: limits shared through Redis, local ones while it is down.
	if redisURL := ""; redisURL != "" {
		opts, _ := redis.ParseURL(redisURL)
		limiter = ratelimit.NewRedis(redis.NewClient(opts), ratelimit.RedisConfig{Logger: logger})
	}

	cfg := ratelimit.DefaultConfig()
	loadBalancers, _ := httpx.ParseTrustedProxies("10.0.0.0/8")

	// Edge finds the client's address (believing X-Forwarded-For from the
	// load balancers only). Addresses are limited before any costly work,
	// users once authentication (authn.Authenticate) tells who the caller is.
	_ = httpx.Chain(api, httpx.Recover, httpx.Edge(loadBalancers),
		ratelimit.ByAddress(limiter, cfg, logger) /* , authn.Authenticate(verifier) */, ratelimit.ByUser(limiter, cfg, logger))
}
