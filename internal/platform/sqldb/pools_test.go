package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	readOnly := startReadOnlyPostgres(t, strings.TrimPrefix(u.Path, "/"))
	schema := sqltest.UniqueSchema(t, "pools")
	u.Host = fmt.Sprintf("127.0.0.1:%d,%s", readOnly, u.Host)
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

// startReadOnlyPostgres runs a throwaway PostgreSQL server whose sessions
// are read-only, with the machine's PostgreSQL binaries, makes the database
// named, and returns its port.
func startReadOnlyPostgres(t *testing.T, database string) int {
	t.Helper()
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		t.Fatalf("PostgreSQL's initdb is required for this test: %v", err)
	}
	bin := filepath.Dir(initdb)
	dir, err := os.MkdirTemp("", "vitrine-readonly-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	asPostgres := func(name string, args ...string) *exec.Cmd {
		if os.Getuid() == 0 { // PostgreSQL refuses to run as root
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
		return exec.Command(filepath.Join(bin, name), args...)
	}
	if os.Getuid() == 0 {
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := asPostgres("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c default_transaction_read_only=on -c fsync=off", port, dir)
	if out, err := asPostgres("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v: %s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := asPostgres("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
		if out, err := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v: %s", err, out)
		}
	})
	// Sessions are read-only by default; this one says otherwise.
	conn, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&default_transaction_read_only=off", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{database}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return port
}
