package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Credential is a service credential: what a trusted server (a checkout
// reporting purchases) presents instead of a user's access token. It has
// scopes, not a role, so it can do what its scopes allow and nothing a
// user can. Its token is shown once, at creation; only SecretHash is kept.
type Credential struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	SecretHash []byte     `json:"-"` // SHA-256 of the 32 random bytes of the secret
}

// NewCredential is a credential just created, with its token: the only
// time the token exists outside the client that keeps it.
type NewCredential struct {
	Credential
	Token string `json:"token"`
}

// Limits and shape of credentials.
const (
	maxCredentialNameLen = 64
	credentialSecretLen  = 32 // random bytes: 256 bits
)

// ErrCredentialNotFound is returned for an id that names no credential.
var ErrCredentialNotFound = errs.New(errs.KindNotFound, "the credential does not exist")

// CreateCredential makes a credential named name with scopes, each one of
// authn.KnownScopes, and returns it with its token.
func (s *Service) CreateCredential(ctx context.Context, name string, scopes []string) (*NewCredential, error) {
	var v errs.Validation
	switch {
	case name == "":
		v.Add("name", "is required")
	case !validCredentialName(name):
		v.Add("name", "must be 1 to %d lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", maxCredentialNameLen)
	}
	if len(scopes) == 0 {
		v.Add("scopes", "is required: at least one of %s", strings.Join(authn.KnownScopes, ", "))
	}
	for i, sc := range scopes {
		switch {
		case !slices.Contains(authn.KnownScopes, sc):
			v.Add(fieldIndex("scopes", i), "must be one of %s", strings.Join(authn.KnownScopes, ", "))
		case slices.Contains(scopes[:i], sc):
			v.Add(fieldIndex("scopes", i), "is given twice")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	secret := make([]byte, credentialSecretLen)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	hash := sha256.Sum256(secret)
	c := Credential{
		ID:         uuid.Must(uuid.NewV7()).String(),
		Name:       name,
		Scopes:     slices.Clone(scopes),
		CreatedAt:  s.cfg.Now().UTC().Truncate(time.Microsecond),
		SecretHash: hash[:],
	}
	if err := s.store.CreateCredential(ctx, &c); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "auth: credential created", "credential_id", c.ID, "name", c.Name, "scopes", c.Scopes)
	return &NewCredential{Credential: c, Token: authn.CredentialPrefix + c.ID + "_" + base64.RawURLEncoding.EncodeToString(secret)}, nil
}

// Credentials lists every credential, revoked ones included, without secrets.
func (s *Service) Credentials(ctx context.Context) ([]Credential, error) {
	return s.store.Credentials(ctx)
}

// RevokeCredential revokes credential id for good. Revoking a revoked
// credential changes nothing and is not an error.
func (s *Service) RevokeCredential(ctx context.Context, id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		var v errs.Validation
		v.Add("id", "must be a credential id such as 0198c3a2-7b1e-7000-8000-000000000001")
		return v.Err()
	}
	if err := s.store.RevokeCredential(ctx, id, s.cfg.Now()); err != nil {
		return err
	}
	slog.InfoContext(ctx, "auth: credential revoked", "credential_id", id)
	return nil
}

var _ authn.CredentialVerifier = (*Service)(nil)

// VerifyCredential checks a credential token: a known, unrevoked id whose
// secret hashes to the stored hash (compared in constant time). Whatever
// is wrong, the answer is the same authn.ErrInvalidCredential.
func (s *Service) VerifyCredential(ctx context.Context, token string) (authn.Principal, error) {
	id, secret, ok := parseCredentialToken(token)
	if !ok {
		return authn.Principal{}, authn.ErrInvalidCredential
	}
	c, err := s.store.Credential(ctx, id)
	if errs.Is(err, errs.KindNotFound) {
		return authn.Principal{}, authn.ErrInvalidCredential
	}
	if err != nil {
		return authn.Principal{}, err
	}
	hash := sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(hash[:], c.SecretHash) != 1 || c.RevokedAt != nil {
		return authn.Principal{}, authn.ErrInvalidCredential
	}
	return authn.CredentialSelf{ID: c.ID, Name: c.Name, Scopes: c.Scopes}.Principal(), nil
}

// parseCredentialToken splits "vtc_<uuid>_<base64url secret>". The id is
// a UUID in its canonical form and holds no '_', so the first '_' after
// the prefix ends it; the secret's alphabet may hold '_'.
func parseCredentialToken(token string) (id string, secret []byte, ok bool) {
	rest, ok := strings.CutPrefix(token, authn.CredentialPrefix)
	if !ok {
		return "", nil, false
	}
	id, encoded, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 36 || len(encoded) != base64.RawURLEncoding.EncodedLen(credentialSecretLen) {
		return "", nil, false
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return "", nil, false
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil || len(secret) != credentialSecretLen {
		return "", nil, false
	}
	return id, secret, true
}

func validCredentialName(name string) bool {
	if len(name) > maxCredentialNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return name != ""
}

func fieldIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
