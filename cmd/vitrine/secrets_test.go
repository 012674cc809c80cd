package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// secretCanary is a password no log line or metric may ever show.
const secretCanary = "s3cr3t-canary"

// TestPostgresURLFromFileNeverShown runs the commands with the PostgreSQL
// URL in a file, as Kubernetes and Docker mount secrets, with a password
// in it (the local server's trust authentication ignores it), and looks for
// that password in everything an operator sees: logs, metrics, errors.
func TestPostgresURLFromFileNeverShown(t *testing.T) {
	u, err := url.Parse(sqltest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), secretCanary)
	file := filepath.Join(t.TempDir(), "postgres-url")
	if err := os.WriteFile(file, []byte(u.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	runCommand(t, nil, "migrate", "--postgres-url-file", file)
	runCommand(t, map[string]string{"VITRINE_POSTGRES_URL_FILE": file},
		"user", "create", "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")

	// The primary stands in for its replica: a server not in recovery is
	// read from as a promoted one.
	replicaFile := filepath.Join(t.TempDir(), "postgres-replica-url")
	if err := os.WriteFile(replicaFile, []byte(u.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, map[string]string{"VITRINE_POSTGRES_URL_FILE": file, "VITRINE_POSTGRES_REPLICA_URL_FILE": replicaFile},
		"--target", "product,auth", "--admin-addr", "127.0.0.1:0", "--log-level", "debug")
	token := (&catalog{server: s}).login(t, "ops@vitrine.test", "ops-password")
	expect(t, s.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Canary", "CANARY-1", 100, nil)}), 201)
	expect(t, s.get("/api/products", ""), 200)
	s.get("/api/products/no-such-product", "").expectProblem(t, 404)

	metrics := s.metrics()
	if !strings.Contains(metrics, "vitrine_http_requests_total") {
		t.Fatalf("no request metrics:\n%s", metrics)
	}
	if !strings.Contains(metrics, "vitrine_db_replica_healthy{replica=\""+u.Host+"\",service=\"product\"}") {
		t.Fatalf("no replica metrics naming the replica by host and port:\n%s", metrics)
	}
	if strings.Contains(metrics, secretCanary) {
		t.Errorf("/metrics shows the PostgreSQL password")
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.stderr.String()
	if !strings.Contains(logs, "vitrine listening") {
		t.Fatalf("the server logged nothing to look into:\n%s", logs)
	}
	if strings.Contains(logs, secretCanary) {
		t.Errorf("the logs show the PostgreSQL password:\n%s", logs)
	}

	// Refusals name the flag, the variable or the path, never the value.
	for _, c := range []struct {
		env   map[string]string
		args  []string
		names []string
	}{
		{map[string]string{"VITRINE_POSTGRES_URL": u.String(), "VITRINE_POSTGRES_URL_FILE": file}, nil,
			[]string{"VITRINE_POSTGRES_URL ", "VITRINE_POSTGRES_URL_FILE"}},
		{nil, []string{"--postgres-url", u.String(), "--postgres-url-file", file},
			[]string{"--postgres-url ", "--postgres-url-file"}},
		{nil, []string{"--postgres-url-file", file + ".missing"}, []string{file + ".missing"}},
	} {
		var stderr strings.Builder
		err := run(context.Background(), append([]string{"migrate"}, c.args...),
			func(k string) string { return c.env[k] }, io.Discard, &stderr)
		if err == nil {
			t.Fatalf("migrate %v %v: accepted", c.args, c.env)
		}
		for _, n := range c.names {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("error %q does not name %s", err, n)
			}
		}
		if strings.Contains(err.Error()+stderr.String(), secretCanary) {
			t.Errorf("error %q shows the password", err)
		}
	}
}
