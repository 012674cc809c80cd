// Package authn verifies access tokens and carries the caller's identity
// through a request. It is foundation code: the auth service issues tokens,
// every service (auth included) verifies them here, locally, against the
// auth service's public keys.
package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Roles.
const (
	RoleAdmin    = "admin"
	RoleCustomer = "customer"
)

// Default issuer and audience of access tokens.
const (
	DefaultIssuer   = "vitrine"
	DefaultAudience = "vitrine-api"
)

// DefaultAccessTTL is the lifetime of access tokens unless configured.
const DefaultAccessTTL = 15 * time.Minute

// AccessTokenType is the "typ" header of access tokens (RFC 9068 §2.1): it
// keeps any other JWT signed with the same key, now or later, from being
// taken for one (RFC 8725 §3.11).
const AccessTokenType = "at+jwt"

// clockSkew is how far the clocks of issuer and verifier may disagree.
const clockSkew = 5 * time.Second

// Principal is the authenticated caller: a user (UserID and Role, from an
// access token) or a service credential (CredentialID, CredentialName and
// Scope, from a credential token). A credential has no role, so routes
// that require one refuse it.
type Principal struct {
	UserID string
	Role   string

	CredentialID   string
	CredentialName string
	// Scope lists what a credential may do, separated by spaces as in an
	// OAuth scope (RFC 6749 §3.3): a string keeps Principal comparable.
	Scope string
}

// HasScope reports whether the caller is a credential granted scope.
func (p Principal) HasScope(scope string) bool {
	if p.CredentialID == "" {
		return false
	}
	for s := range strings.FieldsSeq(p.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// Claims are the claims of a Vitrine access token. They carry no e-mail
// address: a token is readable by anyone who holds it, and whoever needs
// the address asks the auth service (/api/auth/me).
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Verifier checks access tokens signed with Ed25519 by the auth service.
type Verifier struct {
	keyfunc   jwt.Keyfunc
	parser    *jwt.Parser
	issuer    string
	audience  string
	accessTTL time.Duration
}

// NewVerifier returns a verifier that finds keys with keyfunc (by the
// token's kid) and insists on the at+jwt type, EdDSA, the issuer, the
// audience, an unexpired exp, an iat not in the future, and a lifetime
// (exp - iat) no longer than accessTTL, the lifetime the issuer gives its
// tokens: a token signed for longer did not come from the issuer's code
// path, whatever key signed it. It panics when accessTTL is not positive.
func NewVerifier(keyfunc jwt.Keyfunc, issuer, audience string, accessTTL time.Duration, opts ...VerifierOption) *Verifier {
	if accessTTL <= 0 {
		panic("authn.NewVerifier: the access token lifetime must be positive")
	}
	parserOpts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
	}
	for _, o := range opts {
		parserOpts = append(parserOpts, jwt.ParserOption(o))
	}
	return &Verifier{
		keyfunc:   checkHeader(keyfunc),
		issuer:    issuer,
		audience:  audience,
		accessTTL: accessTTL,
		parser:    jwt.NewParser(parserOpts...),
	}
}

// VerifierOption changes how a Verifier checks tokens.
type VerifierOption jwt.ParserOption

// WithClock makes the verifier judge exp and iat by now instead of the
// real clock: for tests that move the issuer's clock.
func WithClock(now func() time.Time) VerifierOption {
	return VerifierOption(jwt.WithTimeFunc(now))
}

// Errors of token headers and lifetimes the parser itself does not check.
var (
	ErrNotAccessToken   = errors.New("authn: the token is not an access token (typ must be " + AccessTokenType + ")")
	ErrCriticalHeader   = errors.New("authn: the token has critical header parameters, none of which are understood")
	ErrLifetimeTooLong  = errors.New("authn: the token lives longer than access tokens are issued for")
	ErrIssuedAtRequired = errors.New("authn: the token has no iat")
)

// checkHeader refuses, before any key is looked up, a token that is not an
// access token or that names crit extensions (RFC 7515 §4.1.11: a verifier
// must refuse those it does not understand, and it understands none).
func checkHeader(keyfunc jwt.Keyfunc) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, ErrCriticalHeader
		}
		typ, _ := t.Header["typ"].(string)
		// RFC 9068 §4: compare without case, with or without "application/".
		if !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), AccessTokenType) {
			return nil, ErrNotAccessToken
		}
		return keyfunc(t)
	}
}

// Verify parses and checks token, returning who it speaks for.
func (v *Verifier) Verify(token string) (Principal, error) {
	var c Claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyfunc); err != nil {
		return Principal{}, errs.Wrap(errs.KindUnauthenticated, err, "the access token is not valid")
	}
	switch {
	case c.IssuedAt == nil:
		return Principal{}, errs.Wrap(errs.KindUnauthenticated, ErrIssuedAtRequired, "the access token is not valid")
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > v.accessTTL+clockSkew:
		return Principal{}, errs.Wrap(errs.KindUnauthenticated, ErrLifetimeTooLong, "the access token is not valid")
	case c.Subject == "" || (c.Role != RoleAdmin && c.Role != RoleCustomer):
		return Principal{}, errs.New(errs.KindUnauthenticated, "the access token is not valid")
	}
	return Principal{UserID: c.Subject, Role: c.Role}, nil
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if the request carried a valid token.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// Authenticate verifies the bearer token of a request, when there is one,
// and records the principal in the context: an access token with v, a
// service credential (CredentialPrefix) with creds. A present but invalid
// token is a 401: a client that sends credentials learns when they are
// bad. With creds nil, every credential is invalid.
func Authenticate(v *Verifier, creds CredentialVerifier) httpx.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				next.ServeHTTP(w, r)
				return
			}
			token, ok := BearerToken(r)
			if !ok {
				httpx.WriteError(w, r, errs.New(errs.KindUnauthenticated, "the Authorization header must be \"Bearer <token>\""))
				return
			}
			var p Principal
			var err error
			switch {
			case !IsCredentialToken(token):
				p, err = v.Verify(token)
			case creds == nil:
				err = ErrInvalidCredential
			default:
				p, err = creds.VerifyCredential(r.Context(), token)
			}
			if err != nil {
				httpx.WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// Require lets the request through only for a caller with one of roles:
// 401 without a valid token, 403 with the wrong role.
func Require(h http.Handler, roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			httpx.WriteError(w, r, errs.New(errs.KindUnauthenticated, "this action needs a bearer token"))
			return
		}
		for _, role := range roles {
			if p.Role == role {
				h.ServeHTTP(w, r)
				return
			}
		}
		httpx.WriteError(w, r, errs.New(errs.KindForbidden, "this action needs the %s role", strings.Join(roles, " or ")))
	})
}

// ErrUnknownKey is returned by a key source that does not know a kid.
var ErrUnknownKey = errors.New("authn: unknown signing key")

// KidKeyfunc adapts a lookup by kid into a jwt.Keyfunc.
func KidKeyfunc(lookup func(kid string) (any, error)) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, fmt.Errorf("token has no kid")
		}
		return lookup(kid)
	}
}
