package searchhttp

import (
	"encoding/json"
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// searchCache lets browsers and a CDN reuse a result briefly: the index
// itself lags the catalog by about as much.
const searchCache = "public, max-age=30"

func searchProducts(svc *search.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseSearchQuery(r.URL.RawQuery)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		res, err := svc.Search(r.Context(), q)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		writeCached(w, r, res)
	})
}

func suggest(svc *search.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		text, err := ParseSuggestQuery(r.URL.RawQuery)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		suggestions, err := svc.Suggest(r.Context(), text)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		writeCached(w, r, map[string]any{"suggestions": suggestions})
	})
}

func status(svc *search.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseNoParams(r.URL.RawQuery); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		st, err := svc.Status(r.Context())
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, st)
	})
}

// writeCached writes v with an ETag and a short public Cache-Control, or
// 304 when the client already holds it.
func writeCached(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteRepresentation(w, r, http.StatusOK, body, httpx.ETagOf("", body), searchCache)
}
