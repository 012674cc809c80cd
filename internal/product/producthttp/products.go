package producthttp

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/vitrine-dev/vitrine/internal/edge"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// Cache-Control of public reads: short freshness, and a window in which a
// cache may serve a stale copy while it revalidates.
const (
	publicItemCache = "public, max-age=60, stale-while-revalidate=30"
	publicListCache = "public, max-age=30, stale-while-revalidate=30"
	privateCache    = "private, no-store"
	maxIdemKeyLen   = 255
	mergePatchType  = "application/merge-patch+json"
)

// caching is how each kind of public read may be kept, browsers' and the
// edge's, its header values made once for every response.
type caching struct {
	item, list, bestsellers, categories httpx.PublicCache
}

func newCaching(shared httpx.SharedCache) *caching {
	return &caching{
		item:        shared.Public(publicItemCache), // a product names its own keys
		list:        shared.Public(publicListCache, edge.Listings),
		bestsellers: shared.Public(publicListCache, edge.Bestsellers),
		categories:  shared.Public(categoryCache, edge.Categories),
	}
}

// isAdmin reports whether the caller may see drafts and archived products.
func isAdmin(r *http.Request) bool {
	p, ok := authn.FromContext(r.Context())
	return ok && p.Role == authn.RoleAdmin
}

// productETag is the entity tag of a product's body. It starts with the
// version, so If-Match can be checked against the version alone
// (versionOfETag).
func productETag(p *product.Product, body []byte) string {
	return httpx.ETagOf(strconv.FormatInt(p.Version, 10), body)
}

// writeProduct writes p with its entity tag.
func writeProduct(w http.ResponseWriter, r *http.Request, status int, p *product.Product, cacheControl string) {
	body, err := json.Marshal(p)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Add("Vary", "Authorization")
	httpx.WriteRepresentation(w, r, status, body, productETag(p, body), cacheControl)
}

// writeAdminList writes a listing an admin asked for: never cached, as it
// may show drafts. Public listings come from the read cache.
func writeAdminList(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Add("Vary", "Authorization")
	httpx.WriteRepresentation(w, r, http.StatusOK, body, httpx.ETagOf("", body), privateCache)
}

func listProducts(svc *product.Service, rc *ReadCache, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := isAdmin(r)
		q, cursor, err := ParseListQuery(r.URL.RawQuery, admin)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		if admin {
			page, err := svc.List(r.Context(), q, cursor)
			if err != nil {
				httpx.WriteError(w, r, err)
				return
			}
			writeAdminList(w, r, page)
			return
		}
		c, err := rc.response(r.Context(), "l", r.URL.RawQuery, listingTTL, func(ctx context.Context) (any, error) {
			return svc.List(ctx, q, cursor)
		})
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c.write(w, r, pc)
	})
}

func bestsellers(svc *product.Service, rc *ReadCache, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := parseBestsellersQuery(r.URL.RawQuery)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c, err := rc.response(r.Context(), "b", strconv.Itoa(limit), listingTTL, func(ctx context.Context) (any, error) {
			items, err := svc.Bestsellers(ctx, limit)
			return map[string]any{"items": items}, err
		})
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c.write(w, r, pc)
	})
}

func getProduct(svc *product.Service, rc *ReadCache, pc *httpx.PublicCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAdmin(r) {
			p, err := svc.Product(r.Context(), r.PathValue("id"), true)
			if err != nil {
				httpx.WriteError(w, r, err)
				return
			}
			writeProduct(w, r, http.StatusOK, p, privateCache)
			return
		}
		c, err := rc.product(r.Context(), svc, r.PathValue("id"))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c.write(w, r, pc)
	})
}

func createProduct(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := httpx.ReadJSONBody(r, 0)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		var idem *product.IdempotencyKey
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			if len(key) > maxIdemKeyLen || httpx.TextFault(key) != "" {
				httpx.WriteError(w, r, &errs.Error{Kind: errs.KindInvalid, Msg: "the Idempotency-Key header is not valid",
					Fields: []errs.FieldError{{Field: "Idempotency-Key", Detail: "must be at most 255 bytes of UTF-8 text"}}})
				return
			}
			caller, _ := authn.FromContext(r.Context())
			idem = &product.IdempotencyKey{Scope: caller.UserID, Key: key, Body: body}
		}
		var in product.Input
		if err := httpx.Unmarshal(body, &in); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		p, replayed, err := svc.Create(r.Context(), in, idem)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		} else {
			rc.wrote(r.Context(), p.ID)
		}
		w.Header().Set("Location", "/api/products/"+p.ID)
		writeProduct(w, r, http.StatusCreated, p, privateCache)
	})
}

func replaceProduct(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in product.Input
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		p, err := svc.Replace(r.Context(), r.PathValue("id"), in, ifMatch(r))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), p.ID)
		writeProduct(w, r, http.StatusOK, p, privateCache)
	})
}

func patchProduct(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		patch, err := httpx.ReadJSONBody(r, 0, mergePatchType, "application/json")
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		if t := strings.TrimSpace(string(patch)); !strings.HasPrefix(t, "{") {
			httpx.WriteError(w, r, &errs.Error{Kind: errs.KindInvalid, Msg: "the merge patch is not valid",
				Fields: []errs.FieldError{{Detail: "the body must be a JSON object (RFC 7386 merge patch)"}}})
			return
		}
		p, err := svc.Update(r.Context(), r.PathValue("id"), ifMatch(r), func(cur product.Input) (product.Input, error) {
			return mergePatch(cur, patch)
		})
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), p.ID)
		writeProduct(w, r, http.StatusOK, p, privateCache)
	})
}

func deleteProduct(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Delete(r.Context(), r.PathValue("id"), ifMatch(r)); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
}

// mergePatch applies an RFC 7386 JSON merge patch to a product's writable
// fields, decoding the result as strictly as a request body.
func mergePatch(cur product.Input, patch []byte) (product.Input, error) {
	doc, err := json.Marshal(cur)
	if err != nil {
		return product.Input{}, err
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return product.Input{}, &errs.Error{Kind: errs.KindInvalid, Msg: "the merge patch is not valid", Err: err,
			Fields: []errs.FieldError{{Detail: "the body must be a JSON object (RFC 7386 merge patch)"}}}
	}
	var in product.Input
	if err := httpx.Unmarshal(merged, &in); err != nil {
		return product.Input{}, err
	}
	return in, nil
}
