package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
)

// Key lifecycle. Each rotation period gets one key, created by whichever
// instance first sees the period begin. A key is published in the JWKS as
// soon as it exists, starts signing KeyPublishAhead later (so remote
// verifiers have fetched it by then), signs until its successor takes over,
// and stays published until the last token it signed has expired.

// RotateKeys creates the signing key of the current rotation period if no
// instance has yet, then reloads the keys from the store. NewService and Run
// call it; it is safe to call from any number of instances at once.
func (s *Service) RotateKeys(ctx context.Context) error {
	now := s.cfg.Now()
	period := int64(s.cfg.KeyRotation / time.Second)
	if period < 1 {
		period = 1
	}
	start := now.Unix() / period * period
	// Once the period's key is loaded there is nothing to create, only
	// reloading to do (to pick up keys other instances made).
	if !s.keys.hasPeriod(start) {
		k, err := newSigningKey(start, now)
		if err != nil {
			return err
		}
		if _, err := s.store.CreateSigningKey(ctx, k); err != nil {
			return err
		}
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	return s.reloadKeysLocked(ctx)
}

// publishWindow is how long after its creation a key may still have signed
// a token that has not expired: one rotation period of signing, shifted by
// the publication lead, plus the token lifetime, plus slack for the minute
// between Run's ticks and for clock skew between instances.
func (s *Service) publishWindow() time.Duration {
	return s.cfg.KeyRotation + s.cfg.KeyPublishAhead + s.cfg.AccessTTL + 5*time.Minute
}

func (s *Service) reloadKeysLocked(ctx context.Context) error {
	now := s.cfg.Now()
	keys, err := s.store.SigningKeys(ctx, now.Add(-s.publishWindow()))
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("auth: no signing key in the store")
	}
	if err := s.keys.set(keys); err != nil {
		return err
	}
	s.lastReload = now
	return nil
}

// Keyfunc finds the public key of a token's kid among the published keys,
// for authn.NewVerifier. A kid it does not know (a key another instance has
// just created) makes it reload the keys from the store, at most once a
// second so that forged kids cannot hammer the database.
func (s *Service) Keyfunc() jwt.Keyfunc {
	return authn.KidKeyfunc(s.lookupKey)
}

func (s *Service) lookupKey(kid string) (any, error) {
	if k, ok := s.keys.public(kid); ok {
		return k, nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if k, ok := s.keys.public(kid); ok { // reloaded while we waited
		return k, nil
	}
	if s.cfg.Now().Sub(s.lastReload) < time.Second {
		return nil, authn.ErrUnknownKey
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.reloadKeysLocked(ctx); err != nil {
		return nil, fmt.Errorf("auth: reload signing keys: %w", err)
	}
	if k, ok := s.keys.public(kid); ok {
		return k, nil
	}
	return nil, authn.ErrUnknownKey
}

// JWKS returns the published public keys as a JSON Web Key Set.
func (s *Service) JWKS() []byte { return s.keys.jwksJSON() }

func newSigningKey(periodStart int64, now time.Time) (*SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &SigningKey{
		KID:         thumbprint(pub),
		PeriodStart: periodStart,
		Seed:        priv.Seed(),
		Public:      pub,
		CreatedAt:   now,
	}, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key: the
// SHA-256 of its required members in lexicographic order.
func thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwk is a public Ed25519 key as RFC 8037 writes it.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

type ringKey struct {
	kid         string
	periodStart int64
	created     time.Time
	private     ed25519.PrivateKey
}

// keyring holds the loaded keys of one instance.
type keyring struct {
	mu    sync.RWMutex
	keys  []ringKey // newest first
	byKID map[string]ed25519.PublicKey
	jwks  []byte
}

func (r *keyring) set(stored []SigningKey) error {
	keys := make([]ringKey, 0, len(stored))
	public := make(map[string]ed25519.PublicKey, len(stored))
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range stored {
		if len(k.Seed) != ed25519.SeedSize {
			return fmt.Errorf("auth: signing key %s has a seed of %d bytes", k.KID, len(k.Seed))
		}
		priv := ed25519.NewKeyFromSeed(k.Seed)
		pub := priv.Public().(ed25519.PublicKey)
		keys = append(keys, ringKey{kid: k.KID, periodStart: k.PeriodStart, created: k.CreatedAt, private: priv})
		public[k.KID] = pub
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
			Kid: k.KID, Alg: jwt.SigningMethodEdDSA.Alg(), Use: "sig"})
	}
	body, err := json.Marshal(set)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.keys, r.byKID, r.jwks = keys, public, body
	r.mu.Unlock()
	return nil
}

func (r *keyring) public(kid string) (ed25519.PublicKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.byKID[kid]
	return k, ok
}

func (r *keyring) hasPeriod(start int64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.periodStart == start {
			return true
		}
	}
	return false
}

func (r *keyring) jwksJSON() []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.jwks
}

// signer picks the key to sign with at now: the newest one published at
// least lead ago or, when none is that old yet (a fresh database), the
// oldest one there is.
func (r *keyring) signer(now time.Time, lead time.Duration) (string, ed25519.PrivateKey, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.keys) == 0 {
		return "", nil, errors.New("auth: no signing key loaded")
	}
	for _, k := range r.keys {
		if !k.created.After(now.Add(-lead)) {
			return k.kid, k.private, nil
		}
	}
	k := r.keys[len(r.keys)-1]
	return k.kid, k.private, nil
}
