package auth

import (
	"context"
	"time"
)

// Store keeps users, refresh tokens and signing keys. It is implemented once,
// in authdb, on SQLite and PostgreSQL.
type Store interface {
	// CreateUser inserts u; a taken e-mail is ErrEmailTaken.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail and UserByID return ErrUserNotFound when there is none.
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)

	// CreateRefreshToken stores the first token of a new family.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// RotateRefreshToken marks the token hashed usedHash as used and, in the
	// same transaction, stores next in its family (setting next.FamilyID and
	// next.UserID). Of two concurrent rotations of one token exactly one
	// succeeds. It returns ErrRefreshTokenReused when the token had already
	// been used, and ErrRefreshTokenUnusable when it is unknown, expired at
	// next.CreatedAt, or its family is revoked.
	RotateRefreshToken(ctx context.Context, usedHash []byte, next *RefreshToken) error
	// RevokeRefreshFamily revokes every token of the family of the token
	// hashed hash; an unknown hash is not an error.
	RevokeRefreshFamily(ctx context.Context, hash []byte, at time.Time) error
	// DeleteExpiredRefreshTokens removes tokens that expired before t.
	DeleteExpiredRefreshTokens(ctx context.Context, t time.Time) (int64, error)

	// CreateSigningKey stores k unless a key for k.PeriodStart exists
	// already, in which case it does nothing and reports false: instances
	// racing at a period boundary create one key between them.
	CreateSigningKey(ctx context.Context, k *SigningKey) (bool, error)
	// SigningKeys returns the keys created at or after since, newest first.
	SigningKeys(ctx context.Context, since time.Time) ([]SigningKey, error)

	// CreateCredential stores c.
	CreateCredential(ctx context.Context, c *Credential) error
	// Credential returns the credential with id, revoked or not;
	// ErrCredentialNotFound when there is none.
	Credential(ctx context.Context, id string) (*Credential, error)
	// Credentials returns every credential, oldest first.
	Credentials(ctx context.Context) ([]Credential, error)
	// RevokeCredential sets the revocation time of credential id unless it
	// is set already (the first revocation is the one on record);
	// ErrCredentialNotFound when there is no such credential.
	RevokeCredential(ctx context.Context, id string, at time.Time) error

	Ping(ctx context.Context) error
	Close() error
}

// RefreshToken is a stored refresh token. The token itself is 32 random
// bytes held only by the client; the store knows its SHA-256.
type RefreshToken struct {
	Hash      []byte
	FamilyID  string // the chain of rotations started by one login
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SigningKey is an Ed25519 key pair shared by every auth instance on the
// database. The private seed is stored as is: whoever reads the auth
// database can mint tokens, so guard it like the password hashes.
type SigningKey struct {
	KID         string // RFC 7638 thumbprint of the public JWK
	PeriodStart int64  // unix second at which the key's rotation period starts; unique
	Seed        []byte // ed25519.SeedSize bytes
	Public      []byte // ed25519.PublicKeySize bytes
	CreatedAt   time.Time
}
