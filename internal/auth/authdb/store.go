// Package authdb implements auth.Store on SQL: SQLite in the embedded shape,
// PostgreSQL (schema "auth") when split. The SQL is written once; sqldb
// adapts the placeholders and error codes. Times are unix microseconds.
package authdb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is an auth.Store on a SQL database.
type Store struct {
	db *sqldb.DB
}

var _ auth.Store = (*Store)(nil)

// Open connects to the database described by cfg (schema "auth" on
// PostgreSQL unless cfg says otherwise) and applies the migrations.
func Open(ctx context.Context, cfg sqldb.Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "auth"
	}
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "migrations", "auth"); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	_, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO users (id, email, role, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?)`), u.ID, u.Email, u.Role, u.PasswordHash, u.CreatedAt.UnixMicro())
	if what, ok := sqldb.UniqueViolation(err); ok && strings.Contains(what, "email") {
		return auth.ErrEmailTaken
	}
	return err
}

func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	return s.user(ctx, "email", email)
}

func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	return s.user(ctx, "id", id)
}

func (s *Store) user(ctx context.Context, column, value string) (*auth.User, error) {
	var (
		u       auth.User
		created int64
	)
	err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT id, email, role, password_hash, created_at
		FROM users WHERE `+column+` = ?`), value).Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

func (s *Store) CreateRefreshToken(ctx context.Context, t *auth.RefreshToken) error {
	return s.insertRefreshToken(ctx, s.db, t) // the read-write pool
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) insertRefreshToken(ctx context.Context, db execer, t *auth.RefreshToken) error {
	_, err := db.ExecContext(ctx, s.db.Q(`INSERT INTO refresh_tokens (hash, family_id, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`), t.Hash, t.FamilyID, t.UserID, t.CreatedAt.UnixMicro(), t.ExpiresAt.UnixMicro())
	return err
}

func (s *Store) RotateRefreshToken(ctx context.Context, usedHash []byte, next *auth.RefreshToken) error {
	now := next.CreatedAt.UnixMicro()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// "used_at IS NULL" makes the update the arbiter: of two concurrent
		// rotations of one token the second matches no row (RETURNING nothing
		// is zero rows affected). A revoked sibling means a revoked family,
		// even for a row inserted by a rotation that raced the revocation.
		err := tx.QueryRowContext(ctx, s.db.Q(`UPDATE refresh_tokens SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
			  AND NOT EXISTS (SELECT 1 FROM refresh_tokens f
			                  WHERE f.family_id = refresh_tokens.family_id AND f.revoked_at IS NOT NULL)
			RETURNING family_id, user_id`), now, usedHash, now).Scan(&next.FamilyID, &next.UserID)
		if errors.Is(err, sql.ErrNoRows) {
			var used sql.NullInt64
			err := tx.QueryRowContext(ctx, s.db.Q(`SELECT used_at FROM refresh_tokens WHERE hash = ?`), usedHash).Scan(&used)
			switch {
			case err == nil && used.Valid:
				return auth.ErrRefreshTokenReused
			case err == nil || errors.Is(err, sql.ErrNoRows):
				return auth.ErrRefreshTokenUnusable
			default:
				return err
			}
		}
		if err != nil {
			return err
		}
		return s.insertRefreshToken(ctx, tx, next)
	})
}

func (s *Store) RevokeRefreshFamily(ctx context.Context, hash []byte, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.db.Q(`UPDATE refresh_tokens SET revoked_at = ?
		WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE hash = ?)`),
		at.UnixMicro(), hash)
	return err
}

func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Q(`DELETE FROM refresh_tokens WHERE expires_at < ?`), t.UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *Store) CreateSigningKey(ctx context.Context, k *auth.SigningKey) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO signing_keys (kid, period_start, seed, public_key, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (period_start) DO NOTHING`),
		k.KID, k.PeriodStart, k.Seed, k.Public, k.CreatedAt.UnixMicro())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) SigningKeys(ctx context.Context, since time.Time) ([]auth.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT kid, period_start, seed, public_key, created_at
		FROM signing_keys WHERE created_at >= ? ORDER BY created_at DESC, period_start DESC`), since.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []auth.SigningKey
	for rows.Next() {
		var (
			k       auth.SigningKey
			created int64
		)
		if err := rows.Scan(&k.KID, &k.PeriodStart, &k.Seed, &k.Public, &created); err != nil {
			return nil, err
		}
		k.CreatedAt = fromMicros(created)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func (s *Store) CreateCredential(ctx context.Context, c *auth.Credential) error {
	_, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO credentials (id, name, scopes, secret_hash, created_at)
		VALUES (?, ?, ?, ?, ?)`), c.ID, c.Name, strings.Join(c.Scopes, " "), c.SecretHash, c.CreatedAt.UnixMicro())
	return err
}

const credentialColumns = `id, name, scopes, secret_hash, created_at, revoked_at`

func scanCredential(row interface{ Scan(...any) error }) (*auth.Credential, error) {
	var (
		c       auth.Credential
		scopes  string
		created int64
		revoked sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.Name, &scopes, &c.SecretHash, &created, &revoked); err != nil {
		return nil, err
	}
	c.Scopes = strings.Fields(scopes)
	c.CreatedAt = fromMicros(created)
	if revoked.Valid {
		at := fromMicros(revoked.Int64)
		c.RevokedAt = &at
	}
	return &c, nil
}

func (s *Store) Credential(ctx context.Context, id string) (*auth.Credential, error) {
	c, err := scanCredential(s.db.QueryRowContext(ctx, s.db.Q(`SELECT `+credentialColumns+` FROM credentials WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrCredentialNotFound
	}
	return c, err
}

func (s *Store) Credentials(ctx context.Context) ([]auth.Credential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+credentialColumns+` FROM credentials ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (s *Store) RevokeCredential(ctx context.Context, id string, at time.Time) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.db.Q(`SELECT 1 FROM credentials WHERE id = ?`), id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrCredentialNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.db.Q(`UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), at.UnixMicro(), id)
		return err
	})
}
