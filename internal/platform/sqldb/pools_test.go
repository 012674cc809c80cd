package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// A URL that lists a read-only server first (as a replica answers when the
// primary is slow to accept a connection under load) still sends every
// write to the read-write server, while reads may use either.
func TestWritesNeverLandOnAReadOnlyServer(t *testing.T) {
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
	q.Set("target_session_attrs", "any")
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
