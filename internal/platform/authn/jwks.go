package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWKSRefreshInterval is how often RemoteKeyfunc refetches the key set even
// when every kid it meets is known. The auth service publishes a new key
// longer than this (plus the JWKS max-age) before signing with it, so
// verifiers rarely meet an unknown kid.
const JWKSRefreshInterval = time.Minute

// RemoteKeyfunc returns a keyfunc, for NewVerifier, that finds keys in the
// JSON Web Key Set served at jwksURL: what a process running without the
// auth service uses. The set is fetched now, again every
// JWKSRefreshInterval, and when a token names a kid the cache lacks (at most
// once a second; a caller waits at most a few seconds for its turn, so
// tokens with forged kids cannot queue without bound). A failed first fetch
// is logged, not returned, so a service may start before auth does; the
// next unknown kid retries. The background refresh stops when ctx ends.
func RemoteKeyfunc(ctx context.Context, jwksURL string) (jwt.Keyfunc, error) {
	const timeout = 5 * time.Second
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
		Client:            &http.Client{Timeout: timeout},
		HTTPTimeout:       timeout,
		RefreshInterval:   JWKSRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Second), 1),
		// Bounds both the wait for the limiter and the refetch after it.
		RateLimitWaitMax: 3 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("authn: JWKS at %s: %w", jwksURL, err)
	}
	lookup := kf.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		// Without a kid, keyfunc would try every key in the set; our tokens
		// always name theirs.
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, errors.New("token has no kid")
		}
		key, err := lookup(t)
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
		}
		return key, err
	}, nil
}
