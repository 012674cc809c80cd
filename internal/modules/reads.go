package modules

import (
	"net/http"
	"net/netip"
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
//   - in between, the layers modules put in front of the router
//     (routeLayers) may answer a request themselves: the product module's
//     catalogBypass does, for catalog reads its cache may not serve.
func (a *App) routes() http.Handler {
	var h http.Handler = replicaReads(a.Router)
	for i := len(a.routeLayers) - 1; i >= 0; i-- {
		h = a.routeLayers[i](h)
	}
	return dropUntrustedRecentWriter(h, a.cfg.Server.TrustedProxies)
}

// dropUntrustedRecentWriter removes RecentWriterHeader from requests that
// do not come straight from a trusted proxy.
func dropUntrustedRecentWriter(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if recentWriter(r) && !httpx.FromTrustedProxy(r, trusted) {
			r.Header.Del(RecentWriterHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// replicaReads lets the reads of a request that is a read, from a client
// that did not write a moment ago, go to a replica.
func replicaReads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isRead(r) && !recentWriter(r) {
			r = r.WithContext(sqldb.ReplicaReads(r.Context()))
		}
		next.ServeHTTP(w, r)
	})
}

// catalogBypass sends catalog reads to direct, the product routes on a
// cache that keeps nothing, reading the primary: a recent writer's (other
// instances' caches may not have heard of the write yet), and every one
// while the stream guard says the cache may be stale (reading the primary
// keeps the guard's bound). Writes always take the router, whose read
// cache they invalidate.
type catalogBypass struct {
	guard  *streamGuard
	direct http.Handler
}

func (b catalogBypass) layer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isRead(r) && isCatalogPath(r.URL.Path) && (recentWriter(r) || b.guard.stale.Load()) {
			b.direct.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isRead(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

func recentWriter(r *http.Request) bool { return r.Header.Get(RecentWriterHeader) != "" }

func isCatalogPath(p string) bool {
	return strings.HasPrefix(p, "/api/products") || strings.HasPrefix(p, "/api/categories")
}
