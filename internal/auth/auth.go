// Package auth is the auth service: users, passwords, access tokens (EdDSA
// JWTs) and rotating refresh tokens. Other services never call it per
// request: they verify access tokens locally (platform/authn) against the
// public keys this service publishes.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
)

// User is an account. PasswordHash is never sent to clients.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Role         string    `json:"role"`
	CreatedAt    time.Time `json:"created_at"`
	PasswordHash string    `json:"-"` // argon2id, PHC string format
}

// Tokens is what a successful login or refresh returns (RFC 6749 §5.1).
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"` // seconds
	RefreshToken string `json:"refresh_token"`
}

// Config tunes a Service. The zero value of each field picks its default.
type Config struct {
	Issuer     string        // iss of access tokens; authn.DefaultIssuer
	Audience   string        // aud of access tokens; authn.DefaultAudience
	AccessTTL  time.Duration // lifetime of an access token; authn.DefaultAccessTTL
	RefreshTTL time.Duration // lifetime of a refresh token, renewed by each rotation; 30 days
	// KeyRotation is how often a new signing key is made; 24 h.
	KeyRotation time.Duration
	// KeyPublishAhead is how long a new key is published in the JWKS before
	// it signs anything, so that verifiers in other processes (which refetch
	// the JWKS every authn.JWKSRefreshInterval, through caches honouring its
	// max-age) know a kid before they meet it; 10 min.
	KeyPublishAhead time.Duration
	Argon2          Argon2Params // DefaultArgon2 when zero
	// LoginThrottle slows down password guessing on one account, from
	// however many addresses; an in-process ratelimit.MemoryThrottle with
	// the default policy when nil.
	LoginThrottle LoginThrottle
	// Logger receives a line per failed or throttled login; slog.Default()
	// when nil.
	Logger *slog.Logger
	Now    func() time.Time
}

// LoginThrottle counts login attempts per account (ratelimit.Throttle is
// one). Attempt returns how long the account must still wait, zero when
// the attempt may go ahead; Reset forgets the account's attempts.
type LoginThrottle interface {
	Attempt(ctx context.Context, key string) time.Duration
	Reset(ctx context.Context, key string)
}

func (c *Config) setDefaults() {
	if c.Issuer == "" {
		c.Issuer = authn.DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = authn.DefaultAudience
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = authn.DefaultAccessTTL
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.KeyRotation <= 0 {
		c.KeyRotation = 24 * time.Hour
	}
	if c.KeyPublishAhead <= 0 {
		c.KeyPublishAhead = 10 * time.Minute
	}
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2
	}
	if c.LoginThrottle == nil {
		c.LoginThrottle = ratelimit.NewMemoryThrottle(ratelimit.DefaultThrottlePolicy(), 0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Service implements the auth use cases on top of a Store.
type Service struct {
	store Store
	cfg   Config
	keys  keyring

	// hashSlots bounds concurrent argon2 runs: each holds Argon2.Memory KiB
	// and a CPU, so running more than there are CPUs only adds memory.
	hashSlots chan struct{}
	dummyHash string // verified when a login names no user, to hide that in the timing

	reloadMu   sync.Mutex // serialises key reloads triggered by unknown kids
	lastReload time.Time

	loginFailures, loginsThrottled atomic.Uint64
}

// NewService returns a service on store, making sure a signing key exists
// (creating one if this is the first instance on the database).
func NewService(store Store, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Argon2.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		store:     store,
		cfg:       cfg,
		hashSlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	dummy, err := hashPassword(randomText(16), cfg.Argon2)
	if err != nil {
		return nil, err
	}
	s.dummyHash = dummy
	// NewService has no context of its own; bound the start-up queries.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.RotateKeys(ctx); err != nil {
		return nil, fmt.Errorf("auth: signing keys: %w", err)
	}
	return s, nil
}

// Run keeps the signing keys rotated and loaded and purges expired refresh
// tokens, once a minute, until ctx ends. Every instance runs it; the store
// makes sure instances racing at a period boundary create one key.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.RotateKeys(ctx); err != nil && ctx.Err() == nil {
			slog.ErrorContext(ctx, "auth: rotate signing keys", "err", err)
		}
		if _, err := s.store.DeleteExpiredRefreshTokens(ctx, s.cfg.Now()); err != nil && ctx.Err() == nil {
			slog.ErrorContext(ctx, "auth: purge expired refresh tokens", "err", err)
		}
	}
}

// Ping reports whether the store answers (for /readyz).
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// Errors clients see. Login failures share one message, whatever went wrong.
var (
	ErrEmailTaken          = errs.New(errs.KindConflict, "an account with this e-mail already exists")
	ErrUserNotFound        = errs.New(errs.KindNotFound, "the user does not exist")
	ErrBadCredentials      = errs.New(errs.KindUnauthenticated, "the e-mail or password is incorrect")
	ErrInvalidRefreshToken = errs.New(errs.KindUnauthenticated, "the refresh token is not valid")
)

// Store-level outcomes of a refresh token rotation.
var (
	// ErrRefreshTokenReused: the token was already rotated; someone replays it.
	ErrRefreshTokenReused = errors.New("auth: refresh token already used")
	// ErrRefreshTokenUnusable: unknown, expired, or its family is revoked.
	ErrRefreshTokenUnusable = errors.New("auth: refresh token unknown, expired or revoked")
)
