package sqltest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a throwaway PostgreSQL server run with the machine's
// PostgreSQL binaries: a primary made by initdb, or a streaming replica of
// one made by pg_basebackup, as deploy/localcluster makes them. It is
// for tests that need servers of their own (replication, a server to
// stop); missing binaries fail the test.
type Server struct {
	t      testing.TB
	bin    string
	data   string
	sock   string
	Port   int
	frozen []int // processes Freeze stopped
}

// URL is the server's URL for the database test, with a password the
// server ignores (trust) so tests can check it is never shown.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres:not-for-logs@127.0.0.1:%d/test?sslmode=disable&connect_timeout=2", s.Port)
}

func pgBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	if len(dirs) > 0 {
		return dirs[len(dirs)-1]
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		t.Fatalf("PostgreSQL's server binaries are required for this test: %v", err)
	}
	return filepath.Dir(initdb)
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if os.Getuid() == 0 { // PostgreSQL refuses to run as root
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	if out, err := s.cmd(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("%s: %v: %s", name, err, out)
	}
}

func newServer(t testing.TB) *Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "vitrine-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Getuid() == 0 {
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return &Server{t: t, bin: pgBin(t), data: filepath.Join(dir, "data"), sock: dir, Port: port}
}

// StartPrimary runs a new primary holding an empty database named test.
func StartPrimary(t testing.TB) *Server {
	s := newServer(t)
	s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "--no-sync")
	s.Start()
	s.Exec("CREATE DATABASE test")
	return s
}

// StartReplica copies primary with pg_basebackup and runs the copy as its
// streaming replica.
func StartReplica(t testing.TB, primary *Server) *Server {
	s := newServer(t)
	s.run("pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(primary.Port), "-U", "postgres",
		"-D", s.data, "-R", "-X", "stream", "-c", "fast")
	s.Start()
	return s
}

// Start starts the server again after Stop.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica -c hot_standby=on", s.Port, s.sock)
	s.run("pg_ctl", "-D", s.data, "-o", opts, "-l", filepath.Join(s.sock, "log"), "-w", "-t", "60", "start")
	s.t.Cleanup(s.Stop)
}

// Stop stops the server at once (a no-op when it is not running).
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err != nil {
		return
	}
	c := s.cmd("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop")
	if out, err := exec.CommandContext(ctx, c.Path, c.Args[1:]...).CombinedOutput(); err != nil {
		s.t.Errorf("pg_ctl stop: %v: %s", err, out)
	}
}

// Exec runs statements on the server's postgres database.
func (s *Server) Exec(statements ...string) {
	s.t.Helper()
	ctx := context.Background()
	conn := s.connect(ctx)
	defer conn.Close(ctx)
	for _, st := range statements {
		if _, err := conn.Exec(ctx, st); err != nil {
			s.t.Fatalf("%s: %v", st, err)
		}
	}
}

// DelayReplay holds this replica's replay of each commit d behind its
// primary (recovery_min_apply_delay) and returns once the delay is in
// effect: pg_reload_conf returns before the replica's startup process has
// read the new setting, so a write made at once could still be replayed
// at once. It commits a marker on primary until one reaches the replica
// and stays unreplayed for a moment. d of zero replays at once again.
func (s *Server) DelayReplay(primary *Server, d time.Duration) {
	s.t.Helper()
	s.Exec(fmt.Sprintf("ALTER SYSTEM SET recovery_min_apply_delay = '%dms'", d.Milliseconds()), "SELECT pg_reload_conf()")
	if d == 0 {
		return
	}
	ctx := context.Background()
	onPrimary, onReplica := primary.connect(ctx), s.connect(ctx)
	defer onPrimary.Close(ctx)
	defer onReplica.Close(ctx)
	if _, err := onPrimary.Exec(ctx, "CREATE TABLE IF NOT EXISTS sqltest_replay_marker (at timestamptz)"); err != nil {
		s.t.Fatal(err)
	}
	hold := min(d/2, 200*time.Millisecond)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		// The position after the marker's commit record, which is what a
		// delayed replica stops before.
		var lsn string
		if _, err := onPrimary.Exec(ctx, "INSERT INTO sqltest_replay_marker VALUES (now())"); err != nil {
			s.t.Fatal(err)
		}
		if err := onPrimary.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&lsn); err != nil {
			s.t.Fatal(err)
		}
		// Wait for the marker's commit to arrive, then see whether it is
		// replayed within hold.
		var received, replayed bool
		for wait := time.Now().Add(5 * time.Second); !received && time.Now().Before(wait); {
			if err := onReplica.QueryRow(ctx, "SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn", lsn).Scan(&received); err != nil {
				s.t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(hold)
		if err := onReplica.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&replayed); err != nil {
			s.t.Fatal(err)
		}
		if received && !replayed {
			return
		}
	}
	s.t.Fatalf("the replica still replays commits at once after recovery_min_apply_delay = %s", d)
}

// connect opens a connection to the server's postgres database as the
// superuser.
func (s *Server) connect(ctx context.Context) *pgx.Conn {
	s.t.Helper()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port))
	if err != nil {
		s.t.Fatal(err)
	}
	return conn
}
