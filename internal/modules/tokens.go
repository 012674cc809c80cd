package modules

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
)

// TokensConfig is what issuers and checkers of access tokens agree on, and
// where a process without the auth service finds its keys.
type TokensConfig struct {
	// AuthURL is the base URL of the auth service when it runs in another
	// process: its JWKS verifies tokens, its API service credentials.
	AuthURL string
	// AuthURLInsecure allows a plain http:// AuthURL to a host other
	// than loopback.
	AuthURLInsecure bool
	Issuer          string // iss of access tokens
	Audience        string // aud of access tokens
	// AccessTTL is the lifetime of access tokens; verifiers refuse
	// tokens that claim a longer one.
	AccessTTL time.Duration
}

// RegisterFlags registers --auth-url, --auth-url-insecure and --access-ttl;
// the issuer and audience have no flags.
func (c *TokensConfig) RegisterFlags(f *flag.FlagSet) {
	c.Issuer, c.Audience = authn.DefaultIssuer, authn.DefaultAudience
	f.StringVar(&c.AuthURL, "auth-url", "", "base URL of the auth service, when it runs in another process (its JWKS verifies tokens)")
	f.BoolVar(&c.AuthURLInsecure, "auth-url-insecure", false, "allow a plain http:// --auth-url to a host other than loopback (tokens' keys then travel unprotected)")
	f.DurationVar(&c.AccessTTL, "access-ttl", authn.DefaultAccessTTL, "lifetime of access tokens")
}

// Validate checks the auth service's URL and the tokens' lifetime.
func (c TokensConfig) Validate() error {
	if c.AuthURL != "" {
		if err := authn.CheckAuthURL(c.AuthURL, c.AuthURLInsecure); err != nil {
			return fmt.Errorf("--auth-url: %w", err)
		}
	}
	if c.AccessTTL <= 0 {
		return errors.New("--access-ttl must be positive")
	}
	if c.Issuer == "" || c.Audience == "" {
		return errors.New("access tokens need an issuer and an audience")
	}
	return nil
}

// startTokens sets up access-token checking: with the auth service's keys
// when it runs in this process, else with its JWKS at --auth-url. Search
// alone reads nothing from tokens and needs no verifier.
func (a *App) startTokens(context.Context) error {
	var (
		keyfunc     jwt.Keyfunc
		credentials authn.CredentialVerifier
		err         error
		tokens      = a.cfg.Tokens
	)
	switch {
	case a.auth != nil:
		keyfunc, credentials = a.auth.Keyfunc(), a.auth
	case tokens.AuthURL != "":
		keyfunc, err = authn.RemoteKeyfunc(a.bg, strings.TrimRight(tokens.AuthURL, "/")+"/.well-known/jwks.json", a.logger, a.breakers)
		if err != nil {
			return fmt.Errorf("auth JWKS: %w", err)
		}
		remote := authn.NewRemoteCredentials(tokens.AuthURL, a.breakers)
		remote.TraceWith(a.cfg.Tracer)
		credentials = remote
	case slices.Contains(a.cfg.Targets, Product) || slices.Contains(a.cfg.Targets, Analytics):
		return errors.New("without the auth target in this process, --auth-url must name the auth service (product and analytics check tokens)")
	}
	a.authenticate = func(h http.Handler) http.Handler { return h }
	if keyfunc != nil {
		a.authenticate = authn.Authenticate(authn.NewVerifier(keyfunc, tokens.Issuer, tokens.Audience, tokens.AccessTTL), credentials)
	}
	return nil
}
