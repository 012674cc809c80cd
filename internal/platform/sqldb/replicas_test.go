package sqldb_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// A real primary and a real streaming replica: reads that may lag go to
// the replica while it is healthy and has replayed what the process wrote;
// a replica held behind, too far behind or stopped never serves an old
// row, and reads never fail or wait for it.
func TestReplicaReads(t *testing.T) {
	ctx := context.Background()
	primary := sqltest.StartPrimary(t)
	replica := sqltest.StartReplica(t, primary)
	reg := prometheus.NewRegistry()
	db, err := sqldb.Open(ctx, sqldb.Config{PostgresURL: primary.URL(), Schema: "shop",
		ReplicaURLs: []string{replica.URL()}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (body text)"); err != nil {
		t.Fatal(err)
	}
	mayLag := sqldb.ReplicaReads(ctx)
	onReplica := func(t *testing.T, ctx context.Context) bool {
		t.Helper()
		var inRecovery bool
		if err := db.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
			t.Fatalf("a read failed: %v", err)
		}
		return inRecovery
	}
	notes := func(t *testing.T) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(mayLag, "SELECT count(*) FROM notes").Scan(&n); err != nil {
			t.Fatalf("a read failed: %v", err)
		}
		return n
	}
	written := 0
	write := func(t *testing.T) {
		t.Helper()
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO notes (body) VALUES ('a note')")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		written++
		if err := db.NoteWrites(ctx); err != nil {
			t.Fatal(err)
		}
	}
	setDelay := func(d time.Duration) { replica.DelayReplay(primary, d) }

	eventually(t, 15*time.Second, "the replica joins the read pool", func() bool {
		return gauge(t, reg, "vitrine_db_replica_healthy") == 1 && onReplica(t, mayLag)
	})
	if onReplica(t, ctx) {
		t.Fatal("a read that must see the latest commit went to the replica")
	}

	t.Run("a write is read back at once from a replica held 1s behind", func(t *testing.T) {
		setDelay(time.Second)
		defer setDelay(0)
		for range 5 {
			write(t)
			if n := notes(t); n != written {
				t.Fatalf("read %d notes right after writing the %dth", n, written)
			}
		}
		eventually(t, 10*time.Second, "reads go back to the replica once it has replayed the writes", func() bool {
			return onReplica(t, mayLag) && notes(t) == written
		})
		if gauge(t, reg, "vitrine_db_replica_healthy") != 1 {
			t.Fatal("a replica 1s behind left the pool; the default bound is 2s")
		}
	})

	t.Run("a replica further behind than the bound leaves the pool and comes back", func(t *testing.T) {
		setDelay(5 * time.Second)
		eventually(t, 15*time.Second, "the replica leaves the pool", func() bool {
			write(t) // keep the primary moving, so the replica falls behind
			time.Sleep(200 * time.Millisecond)
			return gauge(t, reg, "vitrine_db_replica_healthy") == 0
		})
		if lag := gauge(t, reg, "vitrine_db_replica_lag_seconds"); lag <= 2 {
			t.Fatalf("lag %.1fs: the replica left the pool within the bound", lag)
		}
		if onReplica(t, mayLag) || notes(t) != written {
			t.Fatal("a read went to the replica that left the pool")
		}
		setDelay(0)
		eventually(t, 15*time.Second, "the replica comes back once it caught up", func() bool {
			return gauge(t, reg, "vitrine_db_replica_healthy") == 1 && onReplica(t, mayLag)
		})
	})

	t.Run("a stopped replica leaves the pool, reads go on, and it comes back", func(t *testing.T) {
		replica.Stop()
		for range 10 {
			if onReplica(t, mayLag) {
				t.Fatal("a read went to the stopped replica")
			}
		}
		if gauge(t, reg, "vitrine_db_replica_healthy") != 0 {
			t.Fatal("the stopped replica is still in the pool")
		}
		replica.Start()
		eventually(t, 15*time.Second, "the restarted replica comes back", func() bool {
			return gauge(t, reg, "vitrine_db_replica_healthy") == 1 && onReplica(t, mayLag)
		})
	})

	var out strings.Builder
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&out, f); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(out.String(), "not-for-logs") {
		t.Fatalf("the metrics show the replica URL's password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `replica="127.0.0.1:`) {
		t.Fatalf("the metrics do not name the replica by host and port:\n%s", out.String())
	}
}

// gauge returns the value of the only series of a metric.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// eventually waits for cond (testwait.Until).
var eventually = testwait.Until
