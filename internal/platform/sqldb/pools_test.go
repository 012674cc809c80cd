package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// A URL that lists a read-only server first (a standby once a switchover
// has moved the primary, or one that answered first under load) still
// sends every write and every read to the read-write server, whatever
// target_session_attrs the URL asks for (it is for a single host).
func TestWritesAndReadsGoToTheReadWriteServer(t *testing.T) {
	for _, attrs := range []string{"any", "read-write"} {
		t.Run(attrs, func(t *testing.T) { testWritesAndReadsGoToTheReadWriteServer(t, attrs) })
	}
}

func testWritesAndReadsGoToTheReadWriteServer(t *testing.T, attrs string) {
	ctx := context.Background()
	u, err := url.Parse(sqltest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	// A server of our own whose sessions are read-only, as a replica's are.
	readOnly := sqltest.StartPrimary(t)
	readOnly.Exec("ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()")
	schema := sqltest.UniqueSchema(t, "pools")
	u.Host = fmt.Sprintf("127.0.0.1:%d,%s", readOnly.Port, u.Host)
	q := u.Query()
	q.Set("target_session_attrs", attrs)
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	db, err := sqldb.Open(ctx, sqldb.Config{PostgresURL: u.String(), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var readsOn string
	if err := db.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&readsOn); err != nil {
		t.Fatal(err)
	}
	if readsOn != "off" {
		t.Fatalf("a read went to the read-only server listed first")
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (body text)"); err != nil {
		t.Fatalf("a statement went to the read-only server: %v", err)
	}
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO notes (body) VALUES ('kept')")
		return err
	})
	if err != nil {
		t.Fatalf("a transaction went to the read-only server: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil || n != 1 {
		t.Fatalf("a read does not see the write before it: %d rows, %v", n, err)
	}
}

// While no server takes writes (the primary frozen, before a standby is
// promoted), reads run on the standby, and the DB answers its readiness
// ping; writes are refused as unavailable (503), never sent there.
func TestReadsGoOnWhileNoServerTakesWrites(t *testing.T) {
	ctx := context.Background()
	primary := sqltest.StartPrimary(t)
	standby := sqltest.StartReplica(t, primary)
	u, err := url.Parse(primary.URL())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", standby.Port, primary.Port)
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	db, err := sqldb.Open(ctx, sqldb.Config{PostgresURL: u.String(), Schema: "public"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var standbyRead bool
	if err := db.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&standbyRead); err != nil || standbyRead {
		t.Fatalf("with the primary up, a read ran on the standby (%v, %v)", standbyRead, err)
	}

	primary.Freeze()
	t.Cleanup(primary.Thaw)
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("with only the standby answering, the ping failed: %v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&standbyRead); err != nil || !standbyRead {
		t.Fatalf("with the primary stopped, a read: standby %v, %v", standbyRead, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := db.ExecContext(wctx, "CREATE TABLE refused (x int)"); err == nil || !sqldb.IsUnavailable(err) {
		t.Fatalf("a write with no read-write server: %v, want unavailable", err)
	}
	// Reads that follow skip the primary for a while: each would
	// otherwise wait out the frozen server's 2 s connection timeout.
	start := time.Now()
	for range 5 {
		if err := db.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&standbyRead); err != nil || !standbyRead {
			t.Fatalf("a read while the primary is away: standby %v, %v", standbyRead, err)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("five reads took %s with the primary away", took)
	}
}

// A read whose connection the server drops under it (shut down, restarted
// as a standby: here, terminated) is answered from a new connection, not
// failed.
func TestAReadWhoseConnectionIsDroppedRunsAgain(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{PostgresURL: sqltest.PostgresURL(), Schema: sqltest.UniqueSchema(t, "dropped")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, err := sql.Open("pgx", sqltest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	marker := fmt.Sprintf("dropped read %d", time.Now().UnixNano())
	done := make(chan error, 1)
	var got string
	go func() { done <- db.QueryRowContext(ctx, "SELECT $1::text FROM pg_sleep(1)", marker).Scan(&got) }()
	var terminated bool
	for deadline := time.Now().Add(5 * time.Second); !terminated && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity
			WHERE query LIKE '%pg_sleep(1)%' AND pid <> pg_backend_pid() AND state = 'active'`).Scan(&terminated)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !terminated {
		t.Fatal("the read never ran on the server")
	}
	if err := <-done; err != nil || got != marker {
		t.Fatalf("the read whose connection was dropped: %q, %v", got, err)
	}
}
