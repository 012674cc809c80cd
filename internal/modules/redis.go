package modules

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/redisclient"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// RedisConfig says where the shared cache is.
type RedisConfig struct {
	// URL is Redis, for the L2 cache, the rate limits and the login
	// throttle shared by every instance; empty keeps them in-process. A
	// URL with a master_name parameter reaches the primary through Redis
	// Sentinel (see package redisclient).
	URL string
}

// RegisterFlags registers --redis-url.
func (c *RedisConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.URL, "redis-url", "", "Redis URL for the shared cache, rate limits and login throttle: redis://HOST:PORT/DB, or through Sentinel redis://SENTINEL/DB?master_name=NAME&addr=SENTINEL2&addr=SENTINEL3; empty keeps them in-process")
}

// startRedis connects to Redis when one is configured.
func (a *App) startRedis(context.Context) error {
	if a.cfg.Redis.URL == "" {
		return nil
	}
	// One server or, through Sentinel, whichever is the primary; with
	// short deadlines either way: a slow Redis must not slow requests down.
	client, err := redisclient.New(a.cfg.Redis.URL)
	if err != nil {
		return err
	}
	redis.SetLogger(redisLogger{a.logger})
	a.redis = client
	a.closers = append(a.closers, a.redis.Close)
	if a.cfg.Tracer != nil {
		// Commands are traced by name only: their arguments hold cached
		// bodies and rate-limit keys, not worth a span's size.
		if err := redisotel.InstrumentTracing(a.redis, redisotel.WithTracerProvider(tracing.ChildrenOnly(a.cfg.Tracer)),
			redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
			return fmt.Errorf("redis: tracing: %w", err)
		}
	}
	return nil
}

// redisPrefix begins every Redis key of this deployment.
func (a *App) redisPrefix() string { return "vitrine:" + a.cfg.Namespace + ":" }

// redisLogger sends the Redis client's own messages (one per failed dial,
// say) to the debug log: the cache and the rate limiter already report an
// unavailable Redis, once per interval.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, fmt.Sprintf("redis: "+format, v...))
}
