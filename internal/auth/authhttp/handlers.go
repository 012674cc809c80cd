package authhttp

import (
	"errors"
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func handleRegister(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req credentials
		if err := httpx.DecodeJSON(r, &req); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		u, err := svc.Register(r.Context(), req.Email, req.Password)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, u)
	})
}

func handleLogin(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req credentials
		if err := httpx.DecodeJSON(r, &req); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		tokens, err := svc.Login(r.Context(), req.Email, req.Password)
		writeTokens(w, r, tokens, err)
	})
}

func handleRefresh(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req refreshRequest
		if err := httpx.DecodeJSON(r, &req); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		tokens, err := svc.Refresh(r.Context(), req.RefreshToken)
		writeTokens(w, r, tokens, err)
	})
}

// writeTokens answers a login or refresh. Tokens must not be cached by
// anything between the client and us (RFC 6749 §5.1).
func writeTokens(w http.ResponseWriter, r *http.Request, tokens *auth.Tokens, err error) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, tokens)
}

func handleLogout(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req refreshRequest
		if err := httpx.DecodeJSON(r, &req); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		if err := svc.Logout(r.Context(), req.RefreshToken); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleMe(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authn.FromContext(r.Context()) // authn.Require let us in
		u, err := svc.User(r.Context(), p.UserID)
		if errors.Is(err, auth.ErrUserNotFound) {
			// A valid token for a deleted account.
			err = errs.Wrap(errs.KindUnauthenticated, err, "the account of this token no longer exists")
		}
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		httpx.WriteJSON(w, http.StatusOK, u)
	})
}

// handleJWKS publishes the verification keys. Verifiers and caches may keep
// them for five minutes: a new key is published well before it signs
// (auth.Config.KeyPublishAhead), so a stale copy never lacks a key in use.
func handleJWKS(svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteRawJSON(w, http.StatusOK, svc.JWKS())
	})
}
