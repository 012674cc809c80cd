package auth

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Limits on credentials.
const (
	maxEmailLen    = 254 // RFC 5321 path limit
	minPasswordLen = 8   // characters
	maxPasswordLen = 128 // characters
)

// Register creates a customer account.
func (s *Service) Register(ctx context.Context, email, password string) (*User, error) {
	return s.CreateUser(ctx, email, password, authn.RoleCustomer)
}

// CreateUser creates an account with any role (the CLI makes admins with
// it). The e-mail is stored lower-cased. Every way of setting a password
// comes through here, so every one refuses an easily guessed password.
func (s *Service) CreateUser(ctx context.Context, email, password, role string) (*User, error) {
	email = normalizeEmail(email)
	var v errs.Validation
	switch {
	case email == "":
		v.Add("email", "is required")
	case len(email) > maxEmailLen:
		v.Add("email", "must be at most %d characters", maxEmailLen)
	case !validEmail(email):
		v.Add("email", "must be an e-mail address such as name@example.com")
	}
	if n := utf8.RuneCountInString(password); n < minPasswordLen || n > maxPasswordLen {
		v.Add("password", "must be %d to %d characters long", minPasswordLen, maxPasswordLen)
	} else if why := passwordWeakness(password, email); why != "" {
		v.Add("password", "%s", why)
	}
	v.Check(role == authn.RoleAdmin || role == authn.RoleCustomer, "role",
		"must be %s or %s", authn.RoleAdmin, authn.RoleCustomer)
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &User{
		ID:           uuid.Must(uuid.NewV7()).String(),
		Email:        email,
		Role:         role,
		CreatedAt:    s.cfg.Now().UTC().Truncate(time.Microsecond), // what the store keeps
		PasswordHash: hash,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// User returns the user with the given id (ErrUserNotFound when none).
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	return s.store.UserByID(ctx, id)
}

func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// validEmail accepts a bare address (no display name, no comments) whose
// domain has at least one dot.
func validEmail(email string) bool {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	return len(local) <= 64 && strings.Contains(domain, ".") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// hashPassword and verifyPassword run argon2 in one of the service's
// hashing slots, waiting for a free one at most until ctx ends.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	if err := s.acquireHashSlot(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSlots }()
	return hashPassword(password, s.cfg.Argon2)
}

func (s *Service) verifyPassword(ctx context.Context, password, hash string) (bool, error) {
	if err := s.acquireHashSlot(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashSlots }()
	return verifyPassword(password, hash)
}

func (s *Service) acquireHashSlot(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errs.Wrap(errs.KindUnavailable, ctx.Err(), "the server is busy; retry shortly")
	}
}
