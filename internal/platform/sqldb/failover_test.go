package sqldb_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// hungListener accepts connections and never answers, as a frozen
// server's port does; it returns its address.
func hungListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String()
}

// multiHost returns the local PostgreSQL's URL with hosts listed before
// its own, target_session_attrs=read-write and no connect_timeout (the
// default applies).
func multiHost(t *testing.T, first ...string) string {
	t.Helper()
	u, err := url.Parse(sqltest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	for i := len(first) - 1; i >= 0; i-- {
		u.Host = first[i] + "," + u.Host
	}
	q := u.Query()
	q.Del("connect_timeout")
	q.Set("target_session_attrs", "read-write")
	u.RawQuery = q.Encode()
	return u.String()
}

// A URL whose first host hangs (accepts, never answers) still serves,
// from the next host, within the connect timeout.
func TestHungFirstHostIsPassedOver(t *testing.T) {
	u := multiHost(t, hungListener(t))
	start := time.Now()
	db, err := sqldb.Open(context.Background(), sqldb.Config{PostgresURL: u, Schema: sqltest.UniqueSchema(t, "failover")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE TABLE notes (body text)"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("opened and wrote past a hung first host in %s", took.Round(time.Millisecond))
	// Open connects three times (the schema, the read pool, the write pool), each waiting
	// out the hung host once; later connections start at the host that answered.
	if limit := 3*sqldb.DefaultConnectTimeout + 2*time.Second; took > limit {
		t.Errorf("took %s, more than %s", took, limit)
	}
	// New connections, opened by statements at once, go straight to the
	// host that answered.
	start = time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := db.ExecContext(context.Background(), "SELECT pg_sleep(0.2)"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	t.Logf("five statements at once, on new connections, took %s", time.Since(start).Round(time.Millisecond))
	if took := time.Since(start); took > sqldb.DefaultConnectTimeout {
		t.Errorf("five statements at once took %s: new connections waited on the hung host again", took)
	}
}

// When the primary freezes, requests (each with its deadline) fail within
// that deadline, never hang, and the pool moves to the next host of the
// URL: new connections go there once the frozen ones are given up.
func TestFrozenPrimaryIsLeftForTheNextHost(t *testing.T) {
	primary := sqltest.StartPrimary(t)
	u := multiHost(t, fmt.Sprintf("127.0.0.1:%d", primary.Port))
	db, err := sqldb.Open(context.Background(), sqldb.Config{PostgresURL: u, Schema: sqltest.UniqueSchema(t, "failover")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	port := func(ctx context.Context) (int, error) {
		var p int
		err := db.QueryRowContext(ctx, "SELECT inet_server_port()").Scan(&p)
		return p, err
	}
	if p, err := port(context.Background()); err != nil || p != primary.Port {
		t.Fatalf("first read on port %d (%v), not the first host %d", p, err, primary.Port)
	}
	// A read in flight when the server freezes.
	inFlight := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := db.ExecContext(ctx, "SELECT pg_sleep(1)")
		inFlight <- err
	}()
	time.Sleep(200 * time.Millisecond)
	primary.Freeze()
	frozen := time.Now()
	select {
	case err := <-inFlight:
		if err == nil || !sqldb.IsUnavailable(err) {
			t.Errorf("the statement in flight ended with %v, not an error saying the database is unavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a statement in flight on the frozen server outlived its 3s deadline by 2s")
	}
	var slowest time.Duration
	for {
		if time.Since(frozen) > 30*time.Second {
			t.Fatal("no read reached the next host within 30s of the freeze")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		p, err := port(ctx)
		cancel()
		slowest = max(slowest, time.Since(start))
		if err == nil {
			if p == primary.Port {
				t.Fatal("a read was answered by the frozen server")
			}
			break
		}
	}
	t.Logf("reads moved to the next host %s after the freeze; the slowest attempt took %s",
		time.Since(frozen).Round(time.Millisecond), slowest.Round(time.Millisecond))
	if slowest > 4*time.Second {
		t.Errorf("an attempt took %s, past its 3s deadline", slowest)
	}
}

// A pooled connection to a server that froze while it sat idle is given
// up by the pool's check before use, even for a caller with no deadline.
func TestIdleConnectionToAFrozenServerIsGivenUp(t *testing.T) {
	primary := sqltest.StartPrimary(t)
	db, err := sqldb.Open(context.Background(), sqldb.Config{PostgresURL: primary.URL(), Schema: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	primary.Freeze()
	time.Sleep(1100 * time.Millisecond) // idle past the check's threshold
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := db.ExecContext(context.Background(), "SELECT 1")
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("a statement with no deadline failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
		if err == nil {
			t.Error("a frozen server answered")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a statement with no deadline waited 15s on a frozen server")
	}
	primary.Thaw()
	if _, err := db.ExecContext(context.Background(), "SELECT 1"); err != nil {
		t.Errorf("after the thaw: %v", err)
	}
}
