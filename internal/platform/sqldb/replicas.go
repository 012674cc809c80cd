package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultReplicaMaxLag is how far behind the primary a replica may fall
// and still serve reads. A healthy streaming replica is milliseconds
// behind; one that is seconds behind has stopped keeping up (a long query
// holding replay back, a slow disk, a cut link), and its readers would see
// the catalog of a moment ago. Two seconds leaves room for a replica held
// one second behind on purpose (recovery_min_apply_delay, as the cluster
// test does) plus the one-second check interval, so it does not flap in
// and out of the pool.
const DefaultReplicaMaxLag = 2 * time.Second

// replicaCheckInterval is how often each replica's position is read.
const replicaCheckInterval = time.Second

type replicaReadsKey struct{}

// ReplicaReads returns a context whose reads may be served by a replica.
// Without it every read goes to the primary: startup, background work and
// writes' own reads (an idempotency key, a version to compare) must see
// the latest commit. An HTTP GET from a client that has not just written
// is the case that can take a replica.
func ReplicaReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, replicaReadsKey{}, true)
}

func mayReadReplica(ctx context.Context) bool {
	ok, _ := ctx.Value(replicaReadsKey{}).(bool)
	return ok
}

// replicaSet is the read pool of one DB: the replicas that are up, not too
// far behind, and have replayed every write this process knows of.
//
// Each replica's position is read every second and compared with samples
// of the primary's WAL position: a replica's lag is the age of the oldest
// primary position it has not replayed yet (zero when it has replayed the
// latest). Unlike now() - pg_last_xact_replay_timestamp(), this is zero on
// an idle primary, where the last replayed transaction may be old.
//
// The watermark is the primary's position after the last write this
// process was told of (its own, or another instance's through a catalog
// event). A read goes to a replica only if that replica's last known
// position is at or past it, and otherwise to the primary: a cache filled
// right after an invalidation never gets the row as it was before the
// write. Nothing waits for a replica to catch up.
type replicaSet struct {
	primary   *sql.DB // the read-write pool
	replicas  []*replica
	maxLag    time.Duration
	watermark atomic.Uint64
	next      atomic.Uint32 // round robin among the eligible replicas
	logger    *slog.Logger

	mu      sync.Mutex // guards samples
	samples []walSample

	// Reads that could take a replica, by the pool that served them.
	readsOnReplica, readsOnPrimary prometheus.Counter
	stop                           context.CancelFunc
	done                           chan struct{}
}

// walSample is the primary's WAL position at a time.
type walSample struct {
	at  time.Time
	lsn uint64
}

// replica is one read-only server.
type replica struct {
	name    string // host:port, for logs and metrics: never the URL, which may hold a password
	pool    *sql.DB
	healthy atomic.Bool
	lsn     atomic.Uint64 // replay position at the last check
	lagNs   atomic.Int64
}

// openReplicas opens a pool per replica URL and starts checking them.
func openReplicas(cfg Config, primary *sql.DB, pool func(*pgx.ConnConfig) *sql.DB) (*replicaSet, error) {
	maxLag := cfg.ReplicaMaxLag
	if maxLag <= 0 {
		maxLag = DefaultReplicaMaxLag
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	rs := &replicaSet{primary: primary, maxLag: maxLag, logger: logger, done: make(chan struct{})}
	for i, u := range cfg.ReplicaURLs {
		pcfg, err := pgx.ParseConfig(u)
		if err != nil {
			// Not the URL itself, nor pgx's message, which may quote it.
			rs.closePools()
			return nil, fmt.Errorf("sqldb: replica URL %d does not parse", i+1)
		}
		boundConnects(&pcfg.Config)
		pcfg.RuntimeParams["search_path"] = cfg.Schema
		name := net.JoinHostPort(pcfg.Host, strconv.Itoa(int(pcfg.Port)))
		if slices.ContainsFunc(rs.replicas, func(r *replica) bool { return r.name == name }) {
			rs.closePools()
			return nil, fmt.Errorf("sqldb: replica %s is given twice", name)
		}
		rs.replicas = append(rs.replicas, &replica{name: name, pool: pool(pcfg)})
	}
	rs.register(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	rs.stop = cancel
	go rs.run(ctx)
	return rs, nil
}

// register exports the replicas' health and lag, and where reads went.
func (rs *replicaSet) register(cfg Config) {
	labels := prometheus.Labels{"service": cfg.Schema}
	reads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_db_reads_total", ConstLabels: labels,
		Help: "Reads that could take a replica, by the pool that served them: replica, or primary (no replica healthy and caught up).",
	}, []string{"pool"})
	rs.readsOnReplica, rs.readsOnPrimary = reads.WithLabelValues("replica"), reads.WithLabelValues("primary")
	if cfg.Registerer == nil {
		return
	}
	cfg.Registerer.MustRegister(reads)
	for _, r := range rs.replicas {
		l := prometheus.Labels{"service": cfg.Schema, "replica": r.name}
		cfg.Registerer.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "vitrine_db_replica_healthy", ConstLabels: l,
				Help: "1 while the replica serves reads: it answers and lags less than --replica-max-lag.",
			}, func() float64 { return b2f(r.healthy.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "vitrine_db_replica_lag_seconds", ConstLabels: l,
				Help: "Age of the oldest primary WAL position the replica had not replayed at its last check.",
			}, func() float64 { return time.Duration(r.lagNs.Load()).Seconds() }),
		)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// pick returns the replica a read may use, or nil for the primary.
func (rs *replicaSet) pick(ctx context.Context) *replica {
	if rs == nil || !mayReadReplica(ctx) {
		return nil
	}
	wm := rs.watermark.Load()
	n := uint32(len(rs.replicas))
	start := rs.next.Add(1)
	for i := range n {
		r := rs.replicas[(start+i)%n]
		if r.healthy.Load() && r.lsn.Load() >= wm {
			rs.readsOnReplica.Inc()
			return r
		}
	}
	rs.readsOnPrimary.Inc()
	return nil
}

// failed takes a replica out of the pool at once, after a read found it
// unreachable; its next good check brings it back.
func (rs *replicaSet) failed(r *replica, err error) {
	if r.healthy.Swap(false) {
		rs.logger.Warn("database replica left the read pool", "replica", r.name, "err", err)
	}
}

// retry says whether a read that failed on r should run again on the
// primary: when r is unreachable (it then leaves the pool), or cancelled
// the query to go on replaying (a conflict with recovery), but not when
// the query itself is wrong or the request is over.
func (rs *replicaSet) retry(r *replica, ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "40001": // canceling statement due to conflict with recovery
		return true
	case errors.As(err, &pgErr) && !IsUnavailable(err):
		return false
	}
	rs.failed(r, err)
	return true
}

// noteWrites raises the watermark to the primary's current position.
func (rs *replicaSet) noteWrites(ctx context.Context) error {
	lsn, err := rs.primaryPosition(ctx)
	if err != nil {
		return err
	}
	for {
		cur := rs.watermark.Load()
		if lsn <= cur || rs.watermark.CompareAndSwap(cur, lsn) {
			return nil
		}
	}
}

func (rs *replicaSet) primaryPosition(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, replicaCheckInterval)
	defer cancel()
	var text string
	if err := rs.primary.QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&text); err != nil {
		return 0, err
	}
	return parseLSN(text)
}

// catchUpInterval is how often a replica still behind the watermark has
// its position read again: reads go back to it within this long of its
// replaying the last write, not at its next full check.
const catchUpInterval = 100 * time.Millisecond

// run checks the primary and every replica each interval, and the
// replicas behind the watermark more often, until ctx ends.
func (rs *replicaSet) run(ctx context.Context) {
	defer close(rs.done)
	check := time.NewTicker(replicaCheckInterval)
	defer check.Stop()
	catchUp := time.NewTicker(catchUpInterval)
	defer catchUp.Stop()
	rs.check(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			rs.check(ctx)
		case <-catchUp.C:
			wm := rs.watermark.Load()
			for _, r := range rs.replicas {
				if r.healthy.Load() && r.lsn.Load() < wm {
					rs.checkReplica(ctx, r)
				}
			}
		}
	}
}

// check samples the primary's position, then each replica's, at once.
func (rs *replicaSet) check(ctx context.Context) {
	now := time.Now()
	if lsn, err := rs.primaryPosition(ctx); err == nil {
		rs.addSample(walSample{at: now, lsn: lsn})
	}
	// A primary that does not answer adds no sample: its replicas cannot
	// fall behind a server that takes no writes, and they keep serving.
	var wg sync.WaitGroup
	for _, r := range rs.replicas {
		wg.Go(func() { rs.checkReplica(ctx, r) })
	}
	wg.Wait()
}

// addSample records the primary's position, keeping the samples a lag up
// to maxLag needs and one more interval.
func (rs *replicaSet) addSample(s walSample) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	keep := s.at.Add(-rs.maxLag - 2*replicaCheckInterval)
	i := 0
	for i < len(rs.samples) && rs.samples[i].at.Before(keep) {
		i++
	}
	rs.samples = append(rs.samples[i:], s)
}

// lagOf is the age of the oldest sampled primary position past lsn.
func (rs *replicaSet) lagOf(lsn uint64, now time.Time) time.Duration {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, s := range rs.samples {
		if s.lsn > lsn {
			return now.Sub(s.at)
		}
	}
	return 0
}

// checkReplica reads a replica's replay position. A server that is not
// in recovery has been promoted: it is the primary now, never behind.
func (rs *replicaSet) checkReplica(parent context.Context, r *replica) {
	ctx, cancel := context.WithTimeout(parent, replicaCheckInterval)
	defer cancel()
	var text string
	err := r.pool.QueryRowContext(ctx, `SELECT CASE WHEN pg_is_in_recovery()
		THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text`).Scan(&text)
	var lsn uint64
	if err == nil {
		lsn, err = parseLSN(text)
	}
	if err != nil {
		if parent.Err() == nil { // not shutting down: the replica is down or too slow to answer
			rs.failed(r, err)
		}
		return
	}
	lag := rs.lagOf(lsn, time.Now())
	r.lsn.Store(lsn)
	r.lagNs.Store(int64(lag))
	switch ok := lag <= rs.maxLag; {
	case ok && !r.healthy.Swap(true):
		rs.logger.Info("database replica joined the read pool", "replica", r.name, "lag", lag.Round(time.Millisecond))
	case !ok && r.healthy.Swap(false):
		rs.logger.Warn("database replica left the read pool: too far behind", "replica", r.name,
			"lag", lag.Round(time.Millisecond), "max_lag", rs.maxLag)
	}
}

// close stops the checks and closes the replicas' pools.
func (rs *replicaSet) close() error {
	rs.stop()
	<-rs.done
	return rs.closePools()
}

func (rs *replicaSet) closePools() error {
	var err error
	for _, r := range rs.replicas {
		err = errors.Join(err, r.pool.Close())
	}
	return err
}

// parseLSN reads PostgreSQL's text form of a WAL position, "16/B374D848":
// the high and low 32 bits in hexadecimal.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("sqldb: WAL position %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("sqldb: WAL position %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("sqldb: WAL position %q", s)
	}
	return h<<32 | l, nil
}
