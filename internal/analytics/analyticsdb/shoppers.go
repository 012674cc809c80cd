package analyticsdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
)

func (s *Store) gateShopper(ctx context.Context, tx *sql.Tx, gate analytics.ShopperGate, evs []analytics.Event) ([]analytics.Outcome, error) {
	type pair struct{ product, typ string }
	var rows [][]any
	seen := map[pair]bool{}
	for _, ev := range evs {
		p := pair{ev.ProductID, ev.Type}
		if !seen[p] {
			seen[p] = true
			rows = append(rows, []any{gate.Shopper, ev.ProductID, ev.Type, gate.Window.Unix()})
		}
	}
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(strings.Compare(a[1].(string), b[1].(string)), strings.Compare(a[2].(string), b[2].(string)))
	})
	fresh := map[pair]bool{}
	for chunk := range slices.Chunk(rows, maxRows) {
		q, args := s.values(`INSERT INTO shopper_events (shopper, product_id, type, bucket) VALUES `, chunk)
		res, err := tx.QueryContext(ctx, q+` ON CONFLICT (shopper, product_id, type, bucket) DO NOTHING RETURNING product_id, type`, args...)
		if err != nil {
			return nil, fmt.Errorf("shopper_events: %w", err)
		}
		for res.Next() {
			var p pair
			if err := res.Scan(&p.product, &p.typ); err != nil {
				res.Close()
				return nil, err
			}
			fresh[p] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]analytics.Outcome, len(evs))
	wanted := 0
	for i, ev := range evs {
		p := pair{ev.ProductID, ev.Type}
		if fresh[p] {
			delete(fresh, p) // a later one in evs repeats it
			out[i] = analytics.Accepted
			wanted++
		} else {
			out[i] = analytics.Repeated
		}
	}
	if wanted == 0 {
		return out, nil
	}
	var total int64
	err := tx.QueryRowContext(ctx, s.db.Q(`INSERT INTO shopper_hours (shopper, hour, events) VALUES (?, ?, ?)
		ON CONFLICT (shopper, hour) DO UPDATE SET events = shopper_hours.events + excluded.events
		RETURNING events`), gate.Shopper, gate.Hour.Unix(), wanted).Scan(&total)
	if err != nil {
		return nil, fmt.Errorf("shopper_hours: %w", err)
	}
	room := min(max(int64(gate.Cap)-(total-int64(wanted)), 0), int64(wanted))
	for i := range out {
		if out[i] != analytics.Accepted {
			continue
		}
		if room > 0 {
			room--
		} else {
			out[i] = analytics.OverCap
		}
	}
	return out, nil
}

// knownProducts returns which of ids name products that exist.

// PruneShoppers deletes shopper windows and hours that started before before.
func (s *Store) PruneShoppers(ctx context.Context, before time.Time) error {
	for _, q := range []string{`DELETE FROM shopper_events WHERE bucket < ?`, `DELETE FROM shopper_hours WHERE hour < ?`} {
		if _, err := s.db.ExecContext(ctx, s.db.Q(q), before.Unix()); err != nil {
			return fmt.Errorf("analyticsdb: prune shoppers: %w", err)
		}
	}
	return nil
}
