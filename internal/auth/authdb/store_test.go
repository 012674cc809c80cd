package authdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// TestStoreContract runs one suite against every implementation of
// auth.Store: SQLite and PostgreSQL.
func TestStoreContract(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			// open returns a store on a fresh database and, for tests of
			// races between instances, a way to open another handle on it.
			open := func(t *testing.T) (auth.Store, func() auth.Store) {
				cfg := sqltest.Config(t, d, "auth")
				another := func() auth.Store {
					s, err := authdb.Open(context.Background(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					return s
				}
				return another(), another
			}
			t.Run("Users", func(t *testing.T) { s, _ := open(t); testUsers(t, s) })
			t.Run("RefreshRotation", func(t *testing.T) { s, _ := open(t); testRefreshRotation(t, s) })
			t.Run("RevokedFamily", func(t *testing.T) { s, _ := open(t); testRevokedFamily(t, s) })
			t.Run("ConcurrentRotationHasOneWinner", func(t *testing.T) { testConcurrentRotation(t, d, open) })
			t.Run("DeleteExpired", func(t *testing.T) { s, _ := open(t); testDeleteExpired(t, s) })
			t.Run("SigningKeys", func(t *testing.T) { s, _ := open(t); testSigningKeys(t, s) })
			t.Run("SigningKeyRaceCreatesOne", func(t *testing.T) { testSigningKeyRace(t, open) })
			t.Run("Credentials", func(t *testing.T) { s, _ := open(t); testCredentials(t, s) })
			t.Run("ReopenKeepsData", func(t *testing.T) { _, another := open(t); testReopen(t, another) })
		})
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newUser(email string) *auth.User {
	return &auth.User{ID: "u-" + email, Email: email, Role: "customer", PasswordHash: "$argon2id$fake", CreatedAt: t0}
}

func mustCreateUser(t *testing.T, s auth.Store, email string) *auth.User {
	t.Helper()
	u := newUser(email)
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func newToken(userID, family string, at time.Time) *auth.RefreshToken {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	sum := sha256.Sum256(raw)
	return &auth.RefreshToken{Hash: sum[:], FamilyID: family, UserID: userID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

func testUsers(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := mustCreateUser(t, s, "ada@example.com")
	for name, get := range map[string]func() (*auth.User, error){
		"by email": func() (*auth.User, error) { return s.UserByEmail(ctx, u.Email) },
		"by id":    func() (*auth.User, error) { return s.UserByID(ctx, u.ID) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if *got != *u {
			t.Fatalf("%s: got %+v, want %+v", name, got, u)
		}
	}
	dup := newUser("ada@example.com")
	dup.ID = "another-id"
	if err := s.CreateUser(ctx, dup); !errors.Is(err, auth.ErrEmailTaken) || !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate e-mail: got %v, want ErrEmailTaken", err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("unknown e-mail: got %v", err)
	}
	if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("unknown id: got %v", err)
	}
}

func testRefreshRotation(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := mustCreateUser(t, s, "ada@example.com")
	first := newToken(u.ID, "family-1", t0)
	if err := s.CreateRefreshToken(ctx, first); err != nil {
		t.Fatal(err)
	}

	second := newToken("", "", t0.Add(time.Minute))
	if err := s.RotateRefreshToken(ctx, first.Hash, second); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if second.FamilyID != "family-1" || second.UserID != u.ID {
		t.Fatalf("next token got family %q user %q", second.FamilyID, second.UserID)
	}

	third := newToken("", "", t0.Add(2*time.Minute))
	if err := s.RotateRefreshToken(ctx, first.Hash, third); !errors.Is(err, auth.ErrRefreshTokenReused) {
		t.Fatalf("rotating a used token: got %v, want ErrRefreshTokenReused", err)
	}
	if err := s.RotateRefreshToken(ctx, bytes.Repeat([]byte{1}, 32), third); !errors.Is(err, auth.ErrRefreshTokenUnusable) {
		t.Fatalf("rotating an unknown token: got %v, want ErrRefreshTokenUnusable", err)
	}
	late := newToken("", "", second.ExpiresAt)
	if err := s.RotateRefreshToken(ctx, second.Hash, late); !errors.Is(err, auth.ErrRefreshTokenUnusable) {
		t.Fatalf("rotating an expired token: got %v, want ErrRefreshTokenUnusable", err)
	}
	// The failed attempts stored nothing and spent nothing.
	if err := s.RotateRefreshToken(ctx, second.Hash, third); err != nil {
		t.Fatalf("rotating the live token: %v", err)
	}
	if err := s.RotateRefreshToken(ctx, late.Hash, newToken("", "", t0)); !errors.Is(err, auth.ErrRefreshTokenUnusable) {
		t.Fatalf("a token from a failed rotation was stored: %v", err)
	}
}

func testRevokedFamily(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := mustCreateUser(t, s, "ada@example.com")
	first := newToken(u.ID, "family-1", t0)
	other := newToken(u.ID, "family-2", t0)
	for _, tok := range []*auth.RefreshToken{first, other} {
		if err := s.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	second := newToken("", "", t0)
	if err := s.RotateRefreshToken(ctx, first.Hash, second); err != nil {
		t.Fatal(err)
	}
	// Revoking through the spent token reaches the newest one too.
	if err := s.RevokeRefreshFamily(ctx, first.Hash, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefreshToken(ctx, second.Hash, newToken("", "", t0)); !errors.Is(err, auth.ErrRefreshTokenUnusable) {
		t.Fatalf("rotating in a revoked family: got %v, want ErrRefreshTokenUnusable", err)
	}
	// A token that joined the family after the revocation (a rotation that
	// raced it) is refused as well.
	straggler := newToken(u.ID, "family-1", t0)
	if err := s.CreateRefreshToken(ctx, straggler); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefreshToken(ctx, straggler.Hash, newToken("", "", t0)); !errors.Is(err, auth.ErrRefreshTokenUnusable) {
		t.Fatalf("rotating a straggler of a revoked family: got %v", err)
	}
	// Other families are untouched; unknown hashes are no error.
	if err := s.RotateRefreshToken(ctx, other.Hash, newToken("", "", t0)); err != nil {
		t.Fatalf("another family was revoked: %v", err)
	}
	if err := s.RevokeRefreshFamily(ctx, bytes.Repeat([]byte{2}, 32), t0); err != nil {
		t.Fatal(err)
	}
}

func testConcurrentRotation(t *testing.T, d sqldb.Dialect, open func(*testing.T) (auth.Store, func() auth.Store)) {
	ctx := context.Background()
	s, another := open(t)
	u := mustCreateUser(t, s, "ada@example.com")
	tok := newToken(u.ID, "family-1", t0)
	if err := s.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Several instances (own pools) present the same token at once.
	stores := []auth.Store{s, another(), another()}
	const attempts = 12
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		won, reused, bad int
	)
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := stores[i%len(stores)].RotateRefreshToken(ctx, tok.Hash, newToken("", "", t0))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, auth.ErrRefreshTokenReused):
				reused++
			default:
				bad++
				t.Errorf("%s: rotation failed: %v", d, err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || reused != attempts-1 {
		t.Fatalf("%d rotations won, %d saw reuse, %d failed; want exactly 1 winner", won, reused, bad)
	}
}

func testDeleteExpired(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := mustCreateUser(t, s, "ada@example.com")
	old, live := newToken(u.ID, "f1", t0), newToken(u.ID, "f2", t0.Add(time.Hour))
	for _, tok := range []*auth.RefreshToken{old, live} {
		if err := s.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredRefreshTokens(ctx, old.ExpiresAt.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want 1", n, err)
	}
	if err := s.RotateRefreshToken(ctx, live.Hash, newToken("", "", t0.Add(time.Hour))); err != nil {
		t.Fatalf("the live token went with the expired one: %v", err)
	}
}

func newKey(periodStart int64, created time.Time) *auth.SigningKey {
	seed, pub := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(seed)
	_, _ = rand.Read(pub)
	return &auth.SigningKey{KID: fmt.Sprintf("kid-%d-%x", periodStart, seed[:4]), PeriodStart: periodStart,
		Seed: seed, Public: pub, CreatedAt: created}
}

func testSigningKeys(t *testing.T, s auth.Store) {
	ctx := context.Background()
	day := int64(24 * 3600)
	k1 := newKey(t0.Unix()/day*day, t0)
	k2 := newKey(k1.PeriodStart+day, t0.Add(24*time.Hour))
	for _, k := range []*auth.SigningKey{k1, k2} {
		if created, err := s.CreateSigningKey(ctx, k); err != nil || !created {
			t.Fatalf("create %s: %v, %v", k.KID, created, err)
		}
	}
	if created, err := s.CreateSigningKey(ctx, newKey(k1.PeriodStart, t0.Add(time.Minute))); err != nil || created {
		t.Fatalf("a second key for one period: created=%v, %v", created, err)
	}
	keys, err := s.SigningKeys(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].KID != k2.KID || keys[1].KID != k1.KID {
		t.Fatalf("got %+v, want k2 then k1", keys)
	}
	got := keys[1]
	if got.PeriodStart != k1.PeriodStart || !bytes.Equal(got.Seed, k1.Seed) || !bytes.Equal(got.Public, k1.Public) || !got.CreatedAt.Equal(k1.CreatedAt) {
		t.Fatalf("got %+v, want %+v", got, k1)
	}
	if keys, err := s.SigningKeys(ctx, t0.Add(time.Hour)); err != nil || len(keys) != 1 || keys[0].KID != k2.KID {
		t.Fatalf("keys since t0+1h: %+v, %v; want k2 only", keys, err)
	}
}

func testSigningKeyRace(t *testing.T, open func(*testing.T) (auth.Store, func() auth.Store)) {
	ctx := context.Background()
	s, another := open(t)
	stores := []auth.Store{s, another(), another(), another()}
	var (
		wg      sync.WaitGroup
		created sync.Map
	)
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.CreateSigningKey(ctx, newKey(t0.Unix(), t0))
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
			created.Store(i, ok)
		}()
	}
	wg.Wait()
	n := 0
	created.Range(func(_, ok any) bool {
		if ok.(bool) {
			n++
		}
		return true
	})
	keys, err := s.SigningKeys(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(keys) != 1 {
		t.Fatalf("%d instances created a key, %d stored; want 1", n, len(keys))
	}
}

func testReopen(t *testing.T, open func() auth.Store) {
	ctx := context.Background()
	s := open()
	mustCreateUser(t, s, "ada@example.com")
	s.Close()
	s = open() // migrations run again, as when an instance restarts
	if _, err := s.UserByEmail(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
}

func testCredentials(t *testing.T, s auth.Store) {
	ctx := context.Background()
	if list, err := s.Credentials(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("no credentials yet: %v, %v (want an empty list, not nil)", list, err)
	}
	hash := sha256.Sum256([]byte("secret"))
	a := &auth.Credential{ID: "0198c3a2-7b1e-7000-8000-00000000000a", Name: "checkout",
		Scopes: []string{"analytics:purchases", "x:y"}, CreatedAt: t0, SecretHash: hash[:]}
	b := &auth.Credential{ID: "0198c3a2-7b1e-7000-8000-00000000000b", Name: "checkout",
		Scopes: []string{"analytics:purchases"}, CreatedAt: t0.Add(time.Second), SecretHash: hash[:]}
	for _, c := range []*auth.Credential{b, a} {
		if err := s.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Credential(ctx, a.ID)
	if err != nil || got.Name != a.Name || fmt.Sprint(got.Scopes) != fmt.Sprint(a.Scopes) || !got.CreatedAt.Equal(t0) ||
		!bytes.Equal(got.SecretHash, hash[:]) || got.RevokedAt != nil {
		t.Fatalf("credential %+v, %v", got, err)
	}
	if _, err := s.Credential(ctx, "0198c3a2-7b1e-7000-8000-0000000000ff"); !errors.Is(err, auth.ErrCredentialNotFound) {
		t.Fatalf("unknown credential: %v", err)
	}

	// Revocation is recorded once; a second one keeps the first time.
	if err := s.RevokeCredential(ctx, a.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeCredential(ctx, a.ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeCredential(ctx, "0198c3a2-7b1e-7000-8000-0000000000ff", t0); !errors.Is(err, auth.ErrCredentialNotFound) {
		t.Fatalf("revoking an unknown credential: %v", err)
	}
	list, err := s.Credentials(ctx)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list %+v, %v; want a then b, oldest first", list, err)
	}
	if list[0].RevokedAt == nil || !list[0].RevokedAt.Equal(t0.Add(time.Hour)) || list[1].RevokedAt != nil {
		t.Fatalf("revocation times: %v, %v", list[0].RevokedAt, list[1].RevokedAt)
	}
}
