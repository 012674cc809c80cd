package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

const refreshTokenBytes = 32

// Login checks an e-mail and password and starts a session: a new refresh
// token family and an access token. Every failure is ErrBadCredentials, and
// an unknown e-mail costs the same argon2 run as a wrong password.
//
// Attempts are throttled per e-mail address, whether or not an account has
// it (so a refusal tells nothing about the account), before any password is
// checked; a success clears the count.
func (s *Service) Login(ctx context.Context, email, password string) (*Tokens, error) {
	email = normalizeEmail(email)
	var v errs.Validation
	v.Check(email != "", "email", "is required")
	v.Check(password != "", "password", "is required")
	v.Check(len(password) <= 4*maxPasswordLen, "password", "is too long")
	if err := v.Err(); err != nil {
		return nil, err
	}
	account := accountKey(email)
	if wait := s.cfg.LoginThrottle.Attempt(ctx, "login:"+account); wait > 0 {
		s.loginsThrottled.Add(1)
		s.logLogin(ctx, slog.LevelWarn, "login throttled", account, slog.Duration("retry_after", wait))
		return nil, &errs.Error{Kind: errs.KindTooManyRequests, RetryAfter: wait,
			Msg: "too many failed logins for this e-mail address; retry in " + httpx.RetryAfter(wait) + " s"}
	}
	u, err := s.store.UserByEmail(ctx, email)
	hash := s.dummyHash
	switch {
	case err == nil:
		hash = u.PasswordHash
	case !errors.Is(err, ErrUserNotFound):
		return nil, err
	}
	ok, err := s.verifyPassword(ctx, password, hash)
	if err != nil {
		return nil, err
	}
	if u == nil || !ok {
		s.loginFailures.Add(1)
		s.logLogin(ctx, slog.LevelInfo, "login failed", account)
		return nil, ErrBadCredentials
	}
	s.cfg.LoginThrottle.Reset(ctx, "login:"+account)
	now := s.cfg.Now()
	refresh, secret, err := s.newRefreshToken(now)
	if err != nil {
		return nil, err
	}
	refresh.FamilyID = uuid.Must(uuid.NewV7()).String()
	refresh.UserID = u.ID
	if err := s.store.CreateRefreshToken(ctx, refresh); err != nil {
		return nil, err
	}
	return s.tokens(u, secret, now)
}

// Refresh exchanges a refresh token for a new pair; the old one is spent.
// Presenting a spent token again means it leaked (the user and a thief both
// hold it), so the whole family is revoked: the newest token of the chain,
// whoever holds it, stops working too, and the user must log in again.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	var v errs.Validation
	v.Check(refreshToken != "", "refresh_token", "is required")
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, ok := hashRefreshToken(refreshToken)
	if !ok {
		return nil, ErrInvalidRefreshToken
	}
	now := s.cfg.Now()
	next, secret, err := s.newRefreshToken(now)
	if err != nil {
		return nil, err
	}
	err = s.store.RotateRefreshToken(ctx, hash, next)
	switch {
	case errors.Is(err, ErrRefreshTokenReused):
		if err := s.store.RevokeRefreshFamily(ctx, hash, now); err != nil {
			return nil, err
		}
		return nil, ErrInvalidRefreshToken
	case errors.Is(err, ErrRefreshTokenUnusable):
		return nil, ErrInvalidRefreshToken
	case err != nil:
		return nil, err
	}
	u, err := s.store.UserByID(ctx, next.UserID)
	if errors.Is(err, ErrUserNotFound) {
		return nil, ErrInvalidRefreshToken
	} else if err != nil {
		return nil, err
	}
	return s.tokens(u, secret, now)
}

// Logout revokes the family of a refresh token. Access tokens already
// issued stay valid until they expire (minutes): that is the price of
// verifying them without calling auth.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	var v errs.Validation
	v.Check(refreshToken != "", "refresh_token", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	hash, ok := hashRefreshToken(refreshToken)
	if !ok {
		return nil // nothing of ours to revoke
	}
	return s.store.RevokeRefreshFamily(ctx, hash, s.cfg.Now())
}

// tokens signs an access token for u and pairs it with a refresh token.
func (s *Service) tokens(u *User, refreshToken string, now time.Time) (*Tokens, error) {
	kid, key, err := s.keys.signer(now, s.cfg.KeyPublishAhead)
	if err != nil {
		return nil, err
	}
	claims := authn.Claims{
		Role: u.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
			ID:        uuid.NewString(),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = kid
	t.Header["typ"] = authn.AccessTokenType
	access, err := t.SignedString(key)
	if err != nil {
		return nil, err
	}
	return &Tokens{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    int(s.cfg.AccessTTL / time.Second),
		RefreshToken: refreshToken,
	}, nil
}

// newRefreshToken returns a fresh token (without family or user) and the
// secret the client gets.
func (s *Service) newRefreshToken(now time.Time) (*RefreshToken, string, error) {
	raw := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(raw)
	t := &RefreshToken{Hash: sum[:], CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	return t, base64.RawURLEncoding.EncodeToString(raw), nil
}

// hashRefreshToken returns the stored form of a client's refresh token, or
// false when it cannot be one of ours (saving a database round trip).
func hashRefreshToken(token string) ([]byte, bool) {
	if base64.RawURLEncoding.EncodedLen(refreshTokenBytes) != len(token) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// LoginCounts returns how many logins failed and how many were refused by
// the throttle since the service started, for metrics.
func (s *Service) LoginCounts() (failed, throttled uint64) {
	return s.loginFailures.Load(), s.loginsThrottled.Load()
}

// accountKey names the account of a normalised e-mail address in throttle
// keys and logs: a SHA-256 digest, so that neither Redis nor the logs hold
// addresses, while the lines about one account can still be told apart.
// It is a pseudonym, not a secret: whoever knows an address can compute it.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:16])
}

// logLogin logs a login that did not succeed, never with its password or
// e-mail address (see accountKey), with what the edge knew of the request.
// Whether the account exists is left out too: logs reach more people than
// the database does.
func (s *Service) logLogin(ctx context.Context, level slog.Level, msg, account string, attrs ...slog.Attr) {
	attrs = append(attrs, slog.String("account", account))
	if info := httpx.InfoFrom(ctx); info != nil {
		attrs = append(attrs, slog.String("client", info.Client.String()), slog.String("request_id", info.ID))
	}
	s.cfg.Logger.LogAttrs(ctx, level, msg, attrs...)
}

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
