// Package producthttp serves the product service over HTTP.
package producthttp

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Routes registers the whole HTTP surface of the product service.
// Reads are public; every write needs the admin role.
func Routes(rt *httpx.Router, svc *product.Service) {
	admin := func(h http.Handler) http.Handler { return authn.Require(h, authn.RoleAdmin) }

	rt.Handle("GET /api/products", listProducts(svc))
	rt.Handle("GET /api/products/bestsellers", bestsellers(svc))
	rt.Handle("GET /api/products/{key}", getProduct(svc))
	rt.Handle("POST /api/products", admin(createProduct(svc)))
	rt.Handle("PUT /api/products/{id}", admin(replaceProduct(svc)))
	rt.Handle("PATCH /api/products/{id}", admin(patchProduct(svc)))
	rt.Handle("DELETE /api/products/{id}", admin(deleteProduct(svc)))

	rt.Handle("GET /api/categories", listCategories(svc))
	rt.Handle("GET /api/categories/{slug}", getCategory(svc))
	rt.Handle("POST /api/categories", admin(createCategory(svc)))
	rt.Handle("PUT /api/categories/{slug}", admin(updateCategory(svc)))
	rt.Handle("DELETE /api/categories/{slug}", admin(deleteCategory(svc)))
}
