package authn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// CredentialPrefix starts every service credential token
// ("vtc_<id>_<secret>"), so Authenticate tells one from an access token
// without trying to parse it as a JWT, and so a leaked one is easy to spot
// (secret scanners, logs).
const CredentialPrefix = "vtc_"

// Scopes a service credential may hold.
const (
	// ScopeAnalyticsPurchases lets a caller report purchases, the events
	// that make bestsellers.
	ScopeAnalyticsPurchases = "analytics:purchases"
)

// KnownScopes lists every scope, for validating what an admin grants.
var KnownScopes = []string{ScopeAnalyticsPurchases}

// ErrInvalidCredential is the answer for an unknown, revoked or malformed
// credential: one message, whatever went wrong.
var ErrInvalidCredential = errs.New(errs.KindUnauthenticated, "the credential is not valid")

// CredentialVerifier checks service credential tokens. The auth service
// implements it in process; RemoteCredentials asks the auth service over
// HTTP when it runs elsewhere.
type CredentialVerifier interface {
	// VerifyCredential returns the credential's principal, a
	// KindUnauthenticated error when the token is unknown or revoked, and
	// another kind when the answer could not be had.
	VerifyCredential(ctx context.Context, token string) (Principal, error)
}

// IsCredentialToken reports whether token claims to be a service credential.
func IsCredentialToken(token string) bool { return strings.HasPrefix(token, CredentialPrefix) }

// CredentialSelf is what the auth service says of the credential that
// calls GET /api/auth/credentials/self.
type CredentialSelf struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// Principal is the caller that c describes.
func (c CredentialSelf) Principal() Principal {
	return Principal{CredentialID: c.ID, CredentialName: c.Name, Scope: strings.Join(c.Scopes, " ")}
}

// Cache lifetimes and bounds of RemoteCredentials. A credential revoked in
// the auth service is still honoured by other processes for up to
// CredentialCacheTTL; an unknown one stays refused for
// CredentialNegativeTTL, so a flood of made-up tokens costs the auth
// service one call per token per few seconds at most.
const (
	CredentialCacheTTL    = 30 * time.Second
	CredentialNegativeTTL = 5 * time.Second
	credentialCacheSize   = 10_000
	credentialCallTimeout = 2 * time.Second
	maxCredentialBody     = 64 << 10
	maxCredentialToken    = 256 // bytes; a genuine token is about 90
)

// verdict is a cached answer of the auth service; ok false is a refusal.
type verdict struct {
	p  Principal
	ok bool
}

// RemoteCredentials verifies credentials by asking the auth service at
// baseURL (GET /api/auth/credentials/self, presenting the credential), and
// caches the answers briefly, keyed by the token's SHA-256 so that no
// secret stays in memory.
type RemoteCredentials struct {
	url     string
	client  *http.Client
	cache   *otter.Cache[[32]byte, verdict]
	breaker *resilience.Breaker
}

var _ CredentialVerifier = (*RemoteCredentials)(nil)

// NewRemoteCredentials returns a verifier asking the auth service at
// baseURL, through the breaker "auth-credentials" of breakers (a set with
// the default policy when nil): while the auth service is down, unknown
// credentials are answered 503 at once rather than after a deadline each.
func NewRemoteCredentials(baseURL string, breakers *resilience.Breakers) *RemoteCredentials {
	if breakers == nil {
		breakers = resilience.NewBreakers(resilience.DefaultPolicy(), nil)
	}
	return &RemoteCredentials{
		breaker: breakers.Breaker("auth-credentials", resilience.Deadline(credentialCallTimeout)),
		url:     strings.TrimRight(baseURL, "/") + "/api/auth/credentials/self",
		// A redirect would carry the credential to wherever the auth
		// service (or whoever answers in its name) points: never follow one;
		// its 3xx is then an unexpected answer, not a verdict.
		client: &http.Client{Timeout: credentialCallTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		cache: otter.Must(&otter.Options[[32]byte, verdict]{
			MaximumSize: credentialCacheSize,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[[32]byte, verdict]) time.Duration {
				if e.Value.ok {
					return CredentialCacheTTL
				}
				return CredentialNegativeTTL
			}),
		}),
	}
}

// TraceWith makes the calls to the auth service client spans of the
// request that made them, and carries its traceparent to auth. A nil
// provider (tracing off) leaves the client as it is.
func (rc *RemoteCredentials) TraceWith(tp trace.TracerProvider) {
	if tp == nil {
		return
	}
	rc.client.Transport = otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tracing.ChildrenOnly(tp)), otelhttp.WithPropagators(tracing.Propagator))
}

// VerifyCredential answers from the cache, or asks the auth service (one
// call for concurrent requests with the same token).
func (rc *RemoteCredentials) VerifyCredential(ctx context.Context, token string) (Principal, error) {
	if len(token) > maxCredentialToken {
		return Principal{}, ErrInvalidCredential
	}
	v, err := rc.cache.Get(ctx, sha256.Sum256([]byte(token)), otter.LoaderFunc[[32]byte, verdict](
		func(ctx context.Context, _ [32]byte) (v verdict, err error) {
			err = rc.breaker.Do(ctx, func(ctx context.Context) error {
				v, err = rc.ask(ctx, token)
				return err
			})
			if errors.Is(err, resilience.ErrOpen) {
				err = errs.Wrap(errs.KindUnavailable, err, "the auth service could not check the credential; retry shortly")
			}
			return v, err
		}))
	if err != nil {
		return Principal{}, err
	}
	if !v.ok {
		return Principal{}, ErrInvalidCredential
	}
	return v.p, nil
}

// ask calls the auth service. Only its definite answers (200, 401, 403)
// become verdicts; anything else is an error, not cached, so an outage of
// auth does not turn good credentials away for long.
func (rc *RemoteCredentials) ask(ctx context.Context, token string) (verdict, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rc.url, nil)
	if err != nil {
		return verdict{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	res, err := rc.client.Do(req)
	if err != nil {
		return verdict{}, errs.Wrap(errs.KindUnavailable, err, "the auth service could not check the credential; retry shortly")
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxCredentialBody))
	if err != nil {
		return verdict{}, errs.Wrap(errs.KindUnavailable, err, "the auth service could not check the credential; retry shortly")
	}
	switch res.StatusCode {
	case http.StatusOK:
		var self CredentialSelf
		if err := json.Unmarshal(body, &self); err != nil || self.ID == "" {
			return verdict{}, errs.Wrap(errs.KindUnavailable, fmt.Errorf("authn: credential answer %q: %v", body, err),
				"the auth service could not check the credential; retry shortly")
		}
		return verdict{p: self.Principal(), ok: true}, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return verdict{}, nil
	default:
		return verdict{}, errs.Wrap(errs.KindUnavailable, fmt.Errorf("authn: auth service answered %d", res.StatusCode),
			"the auth service could not check the credential; retry shortly")
	}
}
