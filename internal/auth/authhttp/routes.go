// Package authhttp serves the auth service over HTTP.
package authhttp

import (
	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Routes registers the whole HTTP surface of the auth service. /api/auth/me
// expects authn.Authenticate to run in front of the router.
func Routes(rt *httpx.Router, svc *auth.Service) {
	rt.Handle("POST /api/auth/register", handleRegister(svc))
	rt.Handle("POST /api/auth/login", handleLogin(svc))
	rt.Handle("POST /api/auth/refresh", handleRefresh(svc))
	rt.Handle("POST /api/auth/logout", handleLogout(svc))
	rt.Handle("GET /api/auth/me", authn.Require(handleMe(svc), authn.RoleAdmin, authn.RoleCustomer))
	rt.Handle("GET /.well-known/jwks.json", handleJWKS(svc))
}
