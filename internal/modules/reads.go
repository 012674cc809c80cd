package modules

import (
	"net/http"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

// RecentWriterHeader marks a request from a client that wrote to the
// catalog a few seconds ago. The load balancer sets it: HAProxy keeps the
// time of each client address's last write in a stick table and adds the
// header to that address's requests for the next five seconds (see
// deploy/haproxy/haproxy.cfg). A client needs to echo nothing back, so
// any plain HTTP client reads its own writes through the load balancer.
//
// It is believed only from --trusted-proxies; a client's own is dropped.
const RecentWriterHeader = "X-Vitrine-Recent-Writer"

// routes is the router, with each request's reads sent where they may go:
//
//   - a GET or HEAD may read from a replica (sqldb.ReplicaReads), which
//     the product and analytics stores use when one is healthy and has
//     replayed every write the instance knows of;
//   - any other request, and every request of a recent writer, reads from
//     the primary, so a write's own checks (If-Match, Idempotency-Key) and
//     a writer's next reads see the latest commit;
//   - a recent writer's catalog reads skip the read cache, whose other
//     instances may not have heard of the write yet; so do all catalog
//     reads while the stream guard says the cache may be stale, and those
//     read the primary too, to keep the guard's bound. Writes always take
//     the router, whose read cache they invalidate.
func (a *App) routes() http.Handler {
	trusted := a.cfg.TrustedProxies
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recent := r.Header.Get(RecentWriterHeader) != ""
		if recent && !httpx.FromTrustedProxy(r, trusted) {
			r.Header.Del(RecentWriterHeader)
			recent = false
		}
		catalog := a.guard != nil && isCatalogPath(r.URL.Path)
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		stale := catalog && a.guard.stale.Load()
		if read && !recent && !stale {
			r = r.WithContext(sqldb.ReplicaReads(r.Context()))
		}
		if read && catalog && (recent || stale) {
			a.directProduct.ServeHTTP(w, r)
			return
		}
		a.Router.ServeHTTP(w, r)
	})
}

func isCatalogPath(p string) bool {
	return strings.HasPrefix(p, "/api/products") || strings.HasPrefix(p, "/api/categories")
}
