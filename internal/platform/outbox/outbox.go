// Package outbox relays events that a service committed to its outbox table
// (in the same transaction as the change they describe) to the event
// stream. A row is deleted only after the stream acknowledged it, and every
// event is published with its row id as the message id, so a crash between
// publish and delete leads to a re-send that the stream drops: no lost and
// no doubled events.
package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// Publisher sends one event and waits for the stream's acknowledgement.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// Relay moves rows from an outbox table to a Publisher.
type Relay struct {
	db       *sqldb.DB
	pub      Publisher
	logger   *slog.Logger
	kick     chan struct{}
	interval time.Duration
	batch    int
	lockKey  int64
	tracer   trace.Tracer // nil when tracing is off
}

// New returns a relay for the "outbox" table of db. It polls every interval
// and at once after Kick.
func New(db *sqldb.DB, pub Publisher, service string, logger *slog.Logger) *Relay {
	h := fnv.New64a()
	h.Write([]byte("vitrine-outbox-" + service))
	return &Relay{db: db, pub: pub, logger: logger, kick: make(chan struct{}, 1),
		interval: 250 * time.Millisecond, batch: 1000, lockKey: int64(h.Sum64())}
}

// TraceWith makes the relay publish each event that was written inside a
// trace under a span of that trace. A nil provider (tracing off) leaves it
// untraced.
func (r *Relay) TraceWith(tp trace.TracerProvider) {
	if tp != nil {
		r.tracer = tracing.ChildrenOnly(tp).Tracer("github.com/vitrine-dev/vitrine/internal/platform/outbox")
	}
}

// Kick asks the relay to look at the outbox now (after a local write).
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// flushTimeout bounds one Flush. A database or stream that stops
// answering (frozen, its zone cut off) fails the Flush, and the relay
// tries again, on a new connection that may reach the promoted primary,
// instead of waiting forever on one the failover left behind.
const flushTimeout = 10 * time.Second

// Run relays until ctx ends. While the stream or the database is down,
// events wait in the outbox and the relay retries with a growing pause.
func (r *Relay) Run(ctx context.Context) {
	backoff := r.interval
	for {
		fctx, cancel := context.WithTimeout(ctx, flushTimeout)
		n, err := r.Flush(fctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.logger.Warn("outbox relay: publish failed; events stay in the outbox", "err", err)
			backoff = min(backoff*2, 10*time.Second)
		case n == r.batch:
			continue // more waiting
		default:
			backoff = r.interval
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-time.After(backoff):
		}
	}
}

type row struct {
	seq         int64
	id          string
	subject     string
	payload     []byte
	traceparent sql.NullString
}

// Flush publishes one batch of pending events and deletes those the
// stream acknowledged. It returns how many it relayed. On PostgreSQL an
// advisory lock keeps two instances from relaying at once, which keeps
// events of one subject in order. When ctx has a deadline, publishing
// stops at half the time left, so that the rows sent are still deleted in
// time: a slow stream makes batches smaller, never endless.
//
// The events of a batch go out concurrently, those of one subject (one
// product) in order: a bulk import leaves hundreds of thousands of events,
// and one round trip each would take minutes. Events of different
// subjects carry no order a consumer may rely on: the catalog stream keeps
// only the newest message of each subject, so a consumer replaying it
// sees them in another order anyway.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	relayed := 0
	stopAt := time.Time{}
	if deadline, ok := ctx.Deadline(); ok {
		stopAt = time.Now().Add(time.Until(deadline) / 2)
	}
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		if r.db.Dialect == sqldb.Postgres {
			var locked bool
			if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock($1)", r.lockKey).Scan(&locked); err != nil || !locked {
				return err
			}
		}
		rows, err := r.pending(ctx, tx)
		if err != nil || len(rows) == 0 {
			return err
		}
		sent, pubErr := r.publishAll(ctx, rows, stopAt)
		relayed = len(sent)
		// Delete exactly the rows sent: on PostgreSQL a transaction that
		// took a lower seq may commit later, and its row must stay.
		for chunk := range slices.Chunk(sent, 500) {
			if _, err := tx.ExecContext(ctx, r.db.Q("DELETE FROM outbox WHERE seq IN ("+sqldb.Placeholders(len(chunk))+")"), chunk...); err != nil {
				return err
			}
		}
		if pubErr != nil && relayed == 0 {
			return pubErr
		}
		return nil
	})
	return relayed, err
}

// inFlight bounds the events a relay has sent and not yet seen acknowledged.
const inFlight = 256

// publishAll sends rows, each subject's in order on its own, up to
// inFlight subjects at once. A subject stops at its first failure, so its
// later events wait for the next flush behind it. It returns the seqs
// sent, and an error when some were not.
func (r *Relay) publishAll(ctx context.Context, rows []row, stopAt time.Time) ([]any, error) {
	var order []string
	bySubject := map[string][]row{}
	for _, x := range rows {
		if _, ok := bySubject[x.subject]; !ok {
			order = append(order, x.subject)
		}
		bySubject[x.subject] = append(bySubject[x.subject], x)
	}
	var (
		mu    sync.Mutex
		sent  []any
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, inFlight)
	)
	for _, subject := range order {
		slots <- struct{}{}
		wg.Add(1)
		go func(rows []row) {
			defer func() { <-slots; wg.Done() }()
			for _, x := range rows {
				if !stopAt.IsZero() && time.Now().After(stopAt) {
					return // the rest of this subject's, in order, next time
				}
				err := r.publish(ctx, x)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("outbox: publish %s: %w", x.subject, err)
				} else if err == nil {
					sent = append(sent, x.seq)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}(bySubject[subject])
	}
	wg.Wait()
	return sent, first
}

// publish sends one row, within the trace that wrote it when there is one.
func (r *Relay) publish(ctx context.Context, row row) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if r.tracer == nil || !row.traceparent.Valid {
		return r.pub.Publish(ctx, row.subject, row.id, row.payload)
	}
	ctx, span := r.tracer.Start(tracing.WithTraceparent(ctx, row.traceparent.String), "outbox relay "+row.subject,
		trace.WithAttributes(attribute.String("outbox.id", row.id), attribute.Int64("outbox.seq", row.seq)))
	defer span.End()
	err := r.pub.Publish(ctx, row.subject, row.id, row.payload)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

func (r *Relay) pending(ctx context.Context, tx *sql.Tx) ([]row, error) {
	rs, err := tx.QueryContext(ctx, r.db.Q("SELECT seq, id, subject, payload, traceparent FROM outbox ORDER BY seq LIMIT ?"), r.batch)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var x row
		if err := rs.Scan(&x.seq, &x.id, &x.subject, &x.payload, &x.traceparent); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rs.Err()
}

// Backlog returns how many events wait in the outbox.
func (r *Relay) Backlog(ctx context.Context) (int, error) {
	var n int
	err := r.db.QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&n)
	return n, err
}

// BacklogGauge is a metric of the events waiting in the outbox (-1 when
// the database does not answer within a second).
func (r *Relay) BacklogGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vitrine_outbox_backlog", Help: "Catalog events committed but not yet on the event stream.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := r.Backlog(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}
