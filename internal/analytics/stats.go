package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// StatsPublisher sends product statistics to whoever ranks products by
// them (the product and search services, over the bus).
type StatsPublisher interface {
	PublishStats(ctx context.Context, s events.ProductStats) error
}

// publishTimeout bounds one PublishStats call.
const publishTimeout = 5 * time.Second

// PublishStats publishes the all-time views and sales of every product
// whose counters changed since they were last published, in batches of at
// most MaxStatsBatch, and marks them published. It stops at the first
// failure; what was not marked is published by the next call. Totals, not
// deltas, are sent, so a batch published twice (a crash between publish
// and mark, or two instances at once) is harmless.
func (s *Service) PublishStats(ctx context.Context, pub StatsPublisher) error {
	after := ""
	for {
		page, err := s.store.UnpublishedTotals(ctx, after, MaxStatsBatch)
		if err != nil {
			return fmt.Errorf("analytics: read changed totals: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		msg := events.ProductStats{Items: make([]events.ProductStat, len(page)), At: s.now()}
		for i, t := range page {
			msg.Items[i] = events.ProductStat{ProductID: t.ProductID, Sales: t.UnitsSold, Views: t.Views}
		}
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		err = pub.PublishStats(pctx, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("analytics: publish stats: %w", err)
		}
		if err := s.store.MarkPublished(ctx, page); err != nil {
			return fmt.Errorf("analytics: mark stats published: %w", err)
		}
		if len(page) < MaxStatsBatch {
			return nil
		}
		after = page[len(page)-1].ProductID
	}
}

// Prune deletes dedupe rows and rollups older than before. Run calls it
// with now - Retention.
func (s *Service) Prune(ctx context.Context, before time.Time) error {
	return s.store.Prune(ctx, before)
}

// Run does the background work until ctx ends: every StatsInterval it
// publishes changed product stats to pub (none when pub is nil), and every
// PruneInterval (and once at start) it prunes what Retention lets go.
// Failures are logged and retried on the next tick.
func (s *Service) Run(ctx context.Context, pub StatsPublisher) {
	prune := func() {
		if err := s.Prune(ctx, s.now().Add(-Retention)); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "analytics: prune", "err", err)
		}
		// Shopper windows and hours matter only while they last.
		if err := s.store.PruneShoppers(ctx, s.now().Add(-max(s.cfg.ShopperWindow, time.Hour))); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "analytics: prune shoppers", "err", err)
		}
	}
	prune()
	pruneTick := time.NewTicker(PruneInterval)
	defer pruneTick.Stop()
	statsTick := time.NewTicker(s.cfg.StatsInterval)
	defer statsTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pruneTick.C:
			prune()
		case <-statsTick.C:
			if pub == nil {
				continue
			}
			if err := s.PublishStats(ctx, pub); err != nil && ctx.Err() == nil {
				s.cfg.Logger.WarnContext(ctx, "analytics: stats not published; retrying next tick", "err", err)
			}
		}
	}
}
