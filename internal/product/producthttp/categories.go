package producthttp

import (
	"encoding/json"
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

func listCategories(svc *product.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tree, err := svc.Categories(r.Context())
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		if tree == nil {
			tree = []*product.Category{}
		}
		writeCategory(w, r, http.StatusOK, tree)
	})
}

func getCategory(svc *product.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := svc.Category(r.Context(), r.PathValue("slug"))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		writeCategory(w, r, http.StatusOK, c)
	})
}

func createCategory(svc *product.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in product.CategoryInput
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c, err := svc.CreateCategory(r.Context(), in)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/categories/"+c.Slug)
		httpx.WriteJSON(w, http.StatusCreated, c)
	})
}

func updateCategory(svc *product.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in product.CategoryInput
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c, err := svc.UpdateCategory(r.Context(), r.PathValue("slug"), in)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, c)
	})
}

func deleteCategory(svc *product.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.DeleteCategory(r.Context(), r.PathValue("slug")); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func writeCategory(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteRepresentation(w, r, status, body, httpx.ETagOf("", body), "public, max-age=300, stale-while-revalidate=60")
}
