package producthttp

import (
	"context"
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

func listCategories(svc *product.Service, rc *ReadCache, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := rc.response(r.Context(), "c", "", categoriesTTL, func(ctx context.Context) (any, error) {
			tree, err := svc.Categories(ctx)
			if tree == nil {
				tree = []*product.Category{}
			}
			return tree, err
		})
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c.write(w, r, pc)
	})
}

func getCategory(svc *product.Service, rc *ReadCache, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("slug")
		c, err := rc.response(r.Context(), "c", slug, categoriesTTL, func(ctx context.Context) (any, error) {
			return svc.Category(ctx, slug)
		})
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c.write(w, r, pc)
	})
}

func createCategory(svc *product.Service, rc *ReadCache) http.Handler {
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
		rc.wrote(r.Context(), "")
		w.Header().Set("Location", "/api/categories/"+c.Slug)
		httpx.WriteJSON(w, http.StatusCreated, c)
	})
}

func updateCategory(svc *product.Service, rc *ReadCache) http.Handler {
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
		rc.wrote(r.Context(), "")
		httpx.WriteJSON(w, http.StatusOK, c)
	})
}

func deleteCategory(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.DeleteCategory(r.Context(), r.PathValue("slug")); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), "")
		w.WriteHeader(http.StatusNoContent)
	})
}

const categoryCache = "public, max-age=300, stale-while-revalidate=60"
