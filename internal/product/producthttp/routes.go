// Package producthttp serves the product service over HTTP.
package producthttp

import (
	"net/http"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Routes registers the whole HTTP surface of the product service.
// Reads are public and served through rc, and an edge cache may keep them
// as shared says; every write needs the admin role and invalidates rc.
func Routes(rt *httpx.Router, svc *product.Service, rc *ReadCache, shared httpx.SharedCache) {
	admin := func(h http.Handler) http.Handler { return authn.Require(h, authn.RoleAdmin) }
	cc := newCaching(shared)

	rt.Handle("GET /api/products", listProducts(svc, rc, &cc.list))
	rt.Handle("GET /api/products/bestsellers", bestsellers(svc, rc, &cc.bestsellers))
	rt.Handle("GET /api/products/{id}", getProduct(svc, rc, &cc.item)) // an id or a slug
	rt.Handle("POST /api/products", admin(createProduct(svc, rc)))
	rt.Handle("PUT /api/products/{id}", admin(replaceProduct(svc, rc)))
	rt.Handle("PATCH /api/products/{id}", admin(patchProduct(svc, rc)))
	rt.Handle("DELETE /api/products/{id}", admin(deleteProduct(svc, rc)))
	rt.Handle("POST /api/products/{id}/images", admin(uploadImage(svc, rc)))
	rt.Handle("PUT /api/products/{id}/images", admin(reorderImages(svc, rc)))
	rt.Handle("DELETE /api/products/{id}/images/{hash}", admin(deleteImage(svc, rc)))
	rt.Handle("GET /images/{hash}/{file}", serveImage(svc))

	rt.Handle("GET /api/categories", listCategories(svc, rc, &cc.categories))
	rt.Handle("GET /api/categories/{slug}", getCategory(svc, rc, &cc.categories))
	rt.Handle("POST /api/categories", admin(createCategory(svc, rc)))
	rt.Handle("PUT /api/categories/{slug}", admin(updateCategory(svc, rc)))
	rt.Handle("DELETE /api/categories/{slug}", admin(deleteCategory(svc, rc)))
}

// StreamsBody reports whether r is a picture upload (up to
// product.MaxImageBytes) or a catalog import (up to
// catalogio.MaxImportBytes), whose body the handler reads itself, after
// checking that the caller is an admin, instead of the server buffering
// it first.
func StreamsBody(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	if r.URL.Path == "/api/products/import" {
		return true
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/api/products/")
	id, ok2 := strings.CutSuffix(id, "/images")
	return ok && ok2 && id != "" && !strings.Contains(id, "/")
}
