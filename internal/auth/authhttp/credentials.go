package authhttp

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

type credentialRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// handleCreateCredential answers 201 with the token, which is never shown
// again: nothing between the admin and us may keep a copy.
func handleCreateCredential(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req credentialRequest
		if err := httpx.DecodeJSON(r, &req); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c, err := svc.CreateCredential(r.Context(), req.Name, req.Scopes)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusCreated, c)
	})
}

func handleListCredentials(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := svc.Credentials(r.Context())
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": list})
	})
}

func handleRevokeCredential(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.RevokeCredential(r.Context(), r.PathValue("id")); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleCredentialSelf tells a service in another process who the
// credential it was shown is (authn.RemoteCredentials asks here):
// authn.Authenticate has already verified it, so only the answer is left.
func handleCredentialSelf() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := authn.FromContext(r.Context())
		switch {
		case !ok:
			httpx.WriteError(w, r, errs.New(errs.KindUnauthenticated, "this endpoint needs a service credential as bearer token"))
			return
		case p.CredentialID == "":
			httpx.WriteError(w, r, errs.New(errs.KindForbidden, "this endpoint answers for service credentials, not users"))
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		httpx.WriteJSON(w, http.StatusOK, authn.CredentialSelf{ID: p.CredentialID, Name: p.CredentialName, Scopes: scopes(p)})
	})
}

func scopes(p authn.Principal) []string {
	out := []string{}
	for _, s := range authn.KnownScopes {
		if p.HasScope(s) {
			out = append(out, s)
		}
	}
	return out
}
