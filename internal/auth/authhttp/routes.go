// Package authhttp serves the auth service over HTTP.
package authhttp

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Routes registers the whole HTTP surface of the auth service. /api/auth/me
// and the credential routes expect authn.Authenticate to run in front of
// the router. Service credentials are made and revoked by admins; a
// credential may ask who it is (/api/auth/credentials/self), which is how
// services in other processes verify one.
func Routes(rt *httpx.Router, svc *auth.Service) {
	rt.Handle("POST /api/auth/register", handleRegister(svc))
	rt.Handle("POST /api/auth/login", handleLogin(svc))
	rt.Handle("POST /api/auth/refresh", handleRefresh(svc))
	rt.Handle("POST /api/auth/logout", handleLogout(svc))
	rt.Handle("GET /api/auth/me", authn.Require(handleMe(svc), authn.RoleAdmin, authn.RoleCustomer))
	rt.Handle("GET /.well-known/jwks.json", handleJWKS(svc))

	admin := func(h http.Handler) http.Handler { return authn.Require(h, authn.RoleAdmin) }
	rt.Handle("POST /api/auth/credentials", admin(handleCreateCredential(svc)))
	rt.Handle("GET /api/auth/credentials", admin(handleListCredentials(svc)))
	rt.Handle("DELETE /api/auth/credentials/{id}", admin(handleRevokeCredential(svc)))
	rt.Handle("GET /api/auth/credentials/self", handleCredentialSelf())
}
