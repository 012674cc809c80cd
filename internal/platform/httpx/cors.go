package httpx

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// PreflightRoute is the route name logs and metrics give CORS preflights,
// which are answered before the router.
const PreflightRoute = "CORS preflight"

// CORS lets browsers on origins call the API across origins. Each origin
// is "scheme://host[:port]", "scheme://*.domain" (any subdomain) or "*"
// (any origin). No origins: no CORS headers at all, and browsers keep
// other origins out.
//
// Preflights (OPTIONS with Access-Control-Request-Method) are answered
// here, 204, so they must come before authentication and rate limits: a
// browser sends no credentials with them. Credentials (cookies) are never
// allowed: Vitrine's callers authenticate with bearer tokens, which
// scripts send explicitly, and "*" with credentials would hand any site a
// signed-in user's session.
func CORS(origins []string) (Middleware, error) {
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler { return next }, nil
	}
	for _, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"},
		ExposedHeaders: []string{"ETag", "Location", "Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-ID"},
		// Browsers cap it (Chromium at 2 h); ten minutes spares most
		// preflights and lets a narrowed list take effect soon.
		MaxAge:           600,
		AllowCredentials: false,
	})
	return func(next http.Handler) http.Handler {
		h := c.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if info := InfoFrom(r.Context()); info != nil {
					info.Route = PreflightRoute
				}
			}
			h.ServeHTTP(w, r)
		})
	}, nil
}

// checkOrigin accepts what a browser sends as Origin (scheme, host and
// port, nothing else), a leading "*." wildcard on the host, or "*".
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("CORS origin %q: %s (want scheme://host[:port], scheme://*.domain or *)", o, why)
	}
	u, err := url.Parse(strings.Replace(o, "://*.", "://wildcard.", 1))
	switch {
	case err != nil:
		return bad(err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("the scheme must be http or https")
	case u.Host == "" || strings.Contains(u.Host, "*"):
		return bad("the host is missing or has a wildcard other than a leading *.")
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return bad("an origin has no user, path, query or fragment")
	}
	return nil
}
