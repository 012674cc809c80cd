package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL runs under Patroni, one server per zone, with the three etcd
// members as Patroni's store. Patroni holds the leader key in etcd for a
// TTL and renews it every loop; when the leader's zone is lost the key
// expires and Patroni promotes the synchronous standby, which holds every
// acknowledged write. These timings bound detection and promotion:
// loop_wait + 2 × retry_timeout must not exceed the TTL.
const (
	patroniTTL          = 10 // seconds the leader key lives without renewal
	patroniLoopWait     = 2  // seconds between two runs of Patroni's loop
	patroniRetryTimeout = 4  // seconds Patroni retries etcd and PostgreSQL before giving up the lock
)

// patroniScope is the name of the PostgreSQL cluster in etcd.
const patroniScope = "vitrine"

func (c *Cluster) pgDir(p Process) string { return c.path("pg", p.Name) }

// postmaster is the pid of the PostgreSQL server Patroni runs in p's data
// directory (the first line of postmaster.pid), or 0.
func (c *Cluster) postmaster(p Process) int {
	b, err := os.ReadFile(filepath.Join(c.pgDir(p), "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// postgresUser is the user PostgreSQL runs as when this runs as root
// (PostgreSQL refuses to run as root); nil otherwise.
func postgresUser() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil
	}
	id, _ := strconv.ParseUint(u.Uid, 10, 32)
	g, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(id), Gid: uint32(g)}
}

// pgOwn gives paths, and everything under them, to the postgres user.
func pgOwn(paths ...string) error {
	cred := postgresUser()
	if cred == nil {
		return nil
	}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, _ os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(cred.Uid), int(cred.Gid))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// patroniConfig is one zone's Patroni configuration.
//
// Patroni talks to its own zone's etcd member only (use_proxies: no
// discovery of the others): a Patroni that asked a frozen member would
// spend its loop on timeouts and could lose the lock it just took, and a
// zone that lost its etcd member has lost its say anyway. It speaks
// etcd's v2 API, where Patroni renews the leader key by compare-and-swap
// on its own name: with the v3 API, Patroni 3.0 (Debian 12's) renews it
// with a plain write, and an old leader woken from a freeze took the key
// back from the leader promoted meanwhile, whose writes were then rewound
// away (seen here, in the zone test).
//
// The bootstrap section is written to etcd by the first member to start
// and shared by all: synchronous replication, so that a commit waits for
// a standby in another zone, and pg_rewind, so that an old leader rejoins
// by itself (or, when rewinding fails, is copied afresh).
func (c *Cluster) patroniConfig(p Process) string {
	params := ""
	if c.Config.ReplicaDelay != "" {
		params = fmt.Sprintf("    recovery_min_apply_delay: %q\n", c.Config.ReplicaDelay)
	}
	return fmt.Sprintf(`scope: %s
name: %s
log:
  level: INFO
restapi:
  listen: %s
  connect_address: %s
etcd:
  hosts: %s
  use_proxies: true
bootstrap:
  dcs:
    ttl: %d
    loop_wait: %d
    retry_timeout: %d
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      remove_data_directory_on_rewind_failure: true
      remove_data_directory_on_diverged_timelines: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        hot_standby_feedback: "on"
        wal_log_hints: "on"
        wal_keep_size: 256MB
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 300
  initdb:
    - encoding: UTF8
    - auth: trust
  pg_hba:
    - local all all trust
    - host replication all 127.0.0.0/8 trust
    - host all all 127.0.0.0/8 trust
postgresql:
  listen: %s
  connect_address: %s
  data_dir: %s
  bin_dir: %s
  pgpass: %s
  authentication:
    superuser: {username: postgres}
    replication: {username: postgres}
    rewind: {username: postgres}
  parameters:
    unix_socket_directories: %s
    shared_buffers: 128MB
    log_min_messages: warning
%s`, patroniScope, p.Name, p.Addr("patroni"), p.Addr("patroni"), c.Zoned(KindEtcd, p.Zone).Addr("client"),
		patroniTTL, patroniLoopWait, patroniRetryTimeout,
		p.Addr("postgres"), p.Addr("postgres"), c.pgDir(p), c.Config.PGBin,
		c.path("pg", p.Name+".pgpass"), c.path("pg", p.Name+".run"), params)
}

// startPatroni starts one zone's Patroni, which makes its PostgreSQL
// server (initdb for the first, a copy of the leader for the others) and
// runs it, and waits for its REST API.
func (c *Cluster) startPatroni(ctx context.Context, p Process) error {
	if c.Alive(p.Name) {
		return nil
	}
	run := c.path("pg", p.Name+".run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		return err
	}
	conf := c.path("pg", p.Name+".yml")
	if err := os.WriteFile(conf, []byte(c.patroniConfig(p)), 0o600); err != nil {
		return err
	}
	if err := pgOwn(c.path("pg")); err != nil {
		return err
	}
	if err := c.spawnAs(p.Name, postgresUser(), nil, "patroni", conf); err != nil {
		return err
	}
	api := "http://" + p.Addr("patroni")
	return c.withLogTail(p.Name, waitUntil(ctx, time.Minute, p.Name+"'s Patroni", httpOK(api+"/liveness")))
}

// startPostgresCluster starts the three zones' Patroni, waits for a leader
// and for both standbys to stream from it, and makes Vitrine's database.
func (c *Cluster) startPostgresCluster(ctx context.Context) error {
	for _, p := range c.OfKind(KindPostgres) {
		if err := c.startPatroni(ctx, p); err != nil {
			return err
		}
	}
	if err := waitUntil(ctx, 2*time.Minute, "every PostgreSQL server to run (a leader and two streaming standbys)",
		func(ctx context.Context) bool { return c.postgresHealth(ctx) == nil }); err != nil {
		return err
	}
	if err := c.createDatabase(ctx); err != nil {
		return err
	}
	return waitUntil(ctx, time.Minute, "every PostgreSQL member to have the database", c.everyMemberHasTheDatabase)
}

// everyMemberHasTheDatabase says whether every member, the standbys
// included, has Vitrine's database: an instance that reaches a standby
// first (its zone's) before the database got there is refused for good
// (pgx tries no other host after "database does not exist").
func (c *Cluster) everyMemberHasTheDatabase(ctx context.Context) bool {
	for _, p := range c.OfKind(KindPostgres) {
		url := fmt.Sprintf("postgres://postgres@%s/vitrine?sslmode=disable&connect_timeout=2", p.Addr("postgres"))
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return false
		}
		conn.Close(ctx)
	}
	return true
}

// createDatabase makes Vitrine's database on the leader.
func (c *Cluster) createDatabase(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, strings.Replace(c.PostgresURL, "/vitrine?", "/postgres?", 1))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'vitrine')").Scan(&exists); err != nil {
		return err
	}
	if !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE vitrine")
	}
	return err
}
