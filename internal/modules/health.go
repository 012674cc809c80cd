package modules

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/api"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// healthRoutes are what load balancers and clients ask of every process:
// is it alive, is it ready, what is its API.
func (a *App) healthRoutes() {
	a.Router.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	a.Router.Handle("GET /readyz", http.HandlerFunc(a.readyz))
	a.Router.Handle("GET /openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteRawJSON(w, http.StatusOK, api.OpenAPI)
	}))
}

// softCheckTimeout bounds a check that only reports (the event stream, the
// search index's lag): without the stream an instance still serves, and a
// slow answer from a stream that is electing a leader must not make the
// whole readiness answer late.
const softCheckTimeout = 300 * time.Millisecond

// readyz answers 200 when every dependency answers, 503 (with the failing
// ones) otherwise, and 503 while the process drains.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusServiceUnavailable, Detail: "shutting down"})
		return
	}
	// The checks run at once, so the answer takes as long as the slowest
	// one, not their sum: a load balancer's health check has a deadline
	// of its own (about a second), and an instance that answers late is
	// taken out of the pool although it serves.
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		status = map[string]string{}
		failed bool
	)
	for name, check := range a.checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			status[name] = "ok"
			if err != nil {
				status[name], failed = "down", true
				a.logger.WarnContext(ctx, "readiness check failed", "check", name, "err", err)
			}
		})
	}
	for name, check := range a.softChecks {
		wg.Go(func() {
			softCtx, cancel := context.WithTimeout(ctx, softCheckTimeout)
			defer cancel()
			err := check(softCtx)
			mu.Lock()
			defer mu.Unlock()
			status[name] = "ok"
			if err != nil {
				status[name] = "degraded"
			}
		})
	}
	wg.Wait()
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	httpx.WriteJSON(w, code, map[string]any{"ready": !failed, "checks": status})
}
