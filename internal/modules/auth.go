package modules

import (
	"context"
	"flag"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/auth/authhttp"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
)

// AuthConfig tunes the auth service.
type AuthConfig struct {
	// LoginThrottle slows down password guessing on one account, from
	// however many addresses.
	LoginThrottle ratelimit.ThrottlePolicy
}

// RegisterFlags registers the --login-throttle-* flags.
func (c *AuthConfig) RegisterFlags(f *flag.FlagSet) {
	p := &c.LoginThrottle
	*p = ratelimit.DefaultThrottlePolicy()
	f.IntVar(&p.After, "login-throttle-after", p.After, "failed logins in a row on one account, from any address, before it must wait")
	f.DurationVar(&p.Wait, "login-throttle-wait", p.Wait, "first wait of a throttled account; each further failure doubles it")
	f.DurationVar(&p.MaxWait, "login-throttle-max", p.MaxWait, "longest wait of a throttled account")
}

// Validate checks the login throttle's policy.
func (c AuthConfig) Validate() error {
	if err := c.LoginThrottle.Validate(); err != nil {
		return fmt.Errorf("--login-throttle-*: %w", err)
	}
	return nil
}

// startAuth opens the auth store and starts the service. Failed logins are
// counted per account in Redis when there is one, so that instances share
// the count and addresses cannot take turns on one account.
func (a *App) startAuth(ctx context.Context) error {
	store, err := authdb.Open(ctx, a.cfg.SQLConfig(Auth))
	if err != nil {
		return fmt.Errorf("auth store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	tokens := a.cfg.Tokens
	a.auth, err = auth.NewService(store, auth.Config{Issuer: tokens.Issuer, Audience: tokens.Audience,
		AccessTTL: tokens.AccessTTL, LoginThrottle: a.loginThrottle(), Logger: a.logger})
	if err != nil {
		return fmt.Errorf("auth service: %w", err)
	}
	a.checks["auth_db"] = a.auth.Ping
	a.background = append(a.background, a.auth.Run)
	authhttp.Routes(a.Router, a.auth)
	a.metrics.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vitrine_auth_login_failures_total", Help: "Logins refused for a wrong e-mail or password.",
		}, func() float64 { failed, _ := a.auth.LoginCounts(); return float64(failed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vitrine_auth_login_throttled_total", Help: "Logins refused unchecked by the login throttle: their account had too many failures in a row.",
		}, func() float64 { _, throttled := a.auth.LoginCounts(); return float64(throttled) }),
	)
	return nil
}

// loginThrottle counts failed logins in memory, or in Redis when there is
// one (Config.Validate has checked its policy).
func (a *App) loginThrottle() ratelimit.Throttle {
	policy := a.cfg.Auth.LoginThrottle
	var throttle ratelimit.Throttle = ratelimit.NewMemoryThrottle(policy, 0)
	if a.redis != nil {
		throttle = ratelimit.NewRedisThrottle(a.redis, policy, ratelimit.RedisThrottleConfig{
			Prefix: a.redisPrefix(), Fallback: throttle, Breakers: a.breakers, Logger: a.logger})
	}
	return throttle
}
