package modules

import (
	"context"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsevents"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticshttp"
)

// startAnalytics opens the analytics store, takes in the catalog (to know
// which products exist) and the search events, and publishes product
// statistics back to the stream.
func (a *App) startAnalytics(ctx context.Context) error {
	store, err := analyticsdb.Open(ctx, a.sqlConfigWithReplicas(Analytics))
	if err != nil {
		return fmt.Errorf("analytics store: %w", err)
	}
	a.closers = append(a.closers, store.Close)
	svc := analytics.NewService(store, analytics.Config{Logger: a.logger})
	a.checks["analytics_db"] = svc.Ping
	analyticshttp.Routes(a.Router, svc)
	a.background = append(a.background, func(ctx context.Context) { svc.Run(ctx, analyticsevents.Publisher{Bus: a.bus}) })
	a.consume(analyticsevents.Consumers(svc))
	return nil
}
