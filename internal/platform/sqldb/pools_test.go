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

// A URL that lists a read-only server first (as a replica answers when the
// primary is slow to accept a connection under load, or a standby once a
// switchover has moved the primary) still sends every write to the
// read-write server, while reads may use either, also when the URL asks
// for a read-write server (what it asks is for the writes).
func TestWritesNeverLandOnAReadOnlyServer(t *testing.T) {
	for _, attrs := range []string{"any", "read-write"} {
		t.Run(attrs, func(t *testing.T) { testWritesNeverLandOnAReadOnlyServer(t, attrs) })
	}
}

func testWritesNeverLandOnAReadOnlyServer(t *testing.T, attrs string) {
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
	if readsOn != "on" {
		t.Fatalf("reads went to the read-write server; the test needs them on the read-only one listed first")
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
	err = db.Tx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n) })
	if err != nil || n != 1 {
		t.Fatalf("the write is not on the read-write server: %d rows, %v", n, err)
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
