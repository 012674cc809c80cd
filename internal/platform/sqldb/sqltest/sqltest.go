// Package sqltest gives tests a real database of each dialect: a fresh
// SQLite file, and a fresh schema in the local PostgreSQL (dropped at the
// end). A missing PostgreSQL fails the test; it is never skipped.
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

// DefaultPostgresURL is the local PostgreSQL of development and CI machines.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns VITRINE_TEST_POSTGRES_URL or the local default.
func PostgresURL() string {
	if u := os.Getenv("VITRINE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Dialects lists the dialects every store contract suite runs against.
var Dialects = []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres}

// Config returns a config for a new empty database of dialect d. On
// PostgreSQL the schema is unique to the test and dropped when it ends.
func Config(t testing.TB, d sqldb.Dialect, service string) sqldb.Config {
	t.Helper()
	if d == sqldb.SQLite {
		return sqldb.Config{SQLitePath: filepath.Join(t.TempDir(), service+".db")}
	}
	schema := UniqueSchema(t, service)
	return sqldb.Config{PostgresURL: PostgresURL(), Schema: schema}
}

// UniqueSchema returns a fresh schema name, dropped when the test ends.
func UniqueSchema(t testing.TB, service string) string {
	t.Helper()
	schema := uniqueName(service + "_test_")
	if err := execOn(PostgresURL(), "SELECT 1"); err != nil {
		t.Fatalf("PostgreSQL is required for this test (set VITRINE_TEST_POSTGRES_URL): %v", err)
	}
	t.Cleanup(func() {
		if err := execOn(PostgresURL(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// NewDatabase creates an empty PostgreSQL database for one test, dropped
// when it ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	name := uniqueName("vitrine_test_")
	if err := execOn(PostgresURL(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("PostgreSQL is required for this test (set VITRINE_TEST_POSTGRES_URL): create database: %v", err)
	}
	t.Cleanup(func() {
		if err := execOn(PostgresURL(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatalf("VITRINE_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name // same server and credentials, the new database
	return u.String()
}

func uniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// execOn runs one administrative statement on its own connection.
func execOn(pgURL, statement string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, statement)
	return err
}
