package searchhttp

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// searchCache lets browsers and a CDN reuse a result briefly: the index
// itself lags the catalog by about as much.
const searchCache = "public, max-age=30"

func searchProducts(svc *search.Service, enc *encoded, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseSearchQuery(r.URL.RawQuery)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		// Every search is run (or answered from the service's result
		// cache) and recorded; only its encoding is reused.
		res, hit, err := svc.SearchCached(r.Context(), q)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.NoteCache(r.Context(), hit)
		rep, err := enc.result(res)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rep.Write(w, r, pc.Set(w.Header(), r, nil))
	})
}

func suggest(svc *search.Service, enc *encoded, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		text, err := ParseSuggestQuery(r.URL.RawQuery)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		key := suggestionsKey(svc.Generation(), text)
		rep, ok := enc.suggestions.GetIfPresent(key)
		httpx.NoteCache(r.Context(), ok)
		if !ok {
			suggestions, err := svc.Suggest(r.Context(), text)
			if err != nil {
				httpx.WriteError(w, r, err)
				return
			}
			if rep, err = representation(map[string]any{"suggestions": suggestions}); err != nil {
				httpx.WriteError(w, r, err)
				return
			}
			enc.suggestions.Set(key, rep)
		}
		rep.Write(w, r, pc.Set(w.Header(), r, nil))
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
