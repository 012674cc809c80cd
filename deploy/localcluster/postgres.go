package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func (c *Cluster) pgDir(role string) string { return c.path("pg-" + role) }

// asPostgres is a PostgreSQL command run as the postgres user when this
// runs as root: PostgreSQL refuses to run as root.
func (c *Cluster) asPostgres(ctx context.Context, command string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Config.PGBin, command), args...)
	// A directory the postgres user may enter (not root's home, say).
	cmd.Dir = c.Config.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if uid, gid, ok := postgresUser(); ok {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid}
	}
	return cmd
}

// postgresUser is the user PostgreSQL runs as when this runs as root.
func postgresUser() (uid, gid uint32, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, false
	}
	id, _ := strconv.ParseUint(u.Uid, 10, 32)
	g, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(id), uint32(g), true
}

// pgOwn gives paths, and everything under them, to the postgres user.
func pgOwn(paths ...string) error {
	uid, gid, ok := postgresUser()
	if !ok {
		return nil
	}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(uid), int(gid))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// pgSettings are what the primary and the replica share; each server's
// port comes last, so a replica's copy of the primary's settings takes it.
func (c *Cluster) pgSettings(port int) string {
	return fmt.Sprintf(`
port = %d
listen_addresses = '%s'
unix_socket_directories = '%s'
wal_level = replica
max_wal_senders = 10
hot_standby = on
hot_standby_feedback = on
wal_keep_size = 256MB
max_connections = 300
shared_buffers = 128MB
log_min_messages = warning
`, port, loopback, c.path("pgrun"))
}

// startPostgres starts the primary or the replica, making it first when
// its directory is empty: initdb for the primary, a base backup of the
// primary (streaming replication) for the replica.
func (c *Cluster) startPostgres(ctx context.Context, role string) error {
	name, dir := "pg-"+role, c.pgDir(role)
	if c.Alive(name) {
		return nil
	}
	port := c.Postgres(role).Ports["postgres"]
	if err := c.initPostgres(ctx, role, port); err != nil {
		return err
	}
	log, err := os.OpenFile(c.LogFile(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	if err := pgOwn(c.LogFile(name)); err != nil {
		return err
	}
	// pg_ctl starts the server in the background, its output to the log,
	// and returns once it accepts connections.
	start := c.asPostgres(ctx, "pg_ctl", "-D", dir, "-l", c.LogFile(name), "-w", "-t", "60", "start")
	start.Stdout, start.Stderr = log, log
	if err := start.Run(); err != nil {
		return c.withLogTail(name, fmt.Errorf("pg_ctl start %s: %w", name, err))
	}
	pidLine, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(pidLine), "\n")
	pid, err := strconv.Atoi(first)
	if err != nil {
		return fmt.Errorf("%s/postmaster.pid: %w", dir, err)
	}
	if err := c.writePid(name, pid); err != nil {
		return err
	}
	if role == "primary" {
		return c.createDatabase(ctx, port)
	}
	return nil
}

func (c *Cluster) initPostgres(ctx context.Context, role string, port int) error {
	dir := c.pgDir(role)
	if err := os.MkdirAll(c.path("pgrun"), 0o755); err != nil {
		return err
	}
	if err := pgOwn(c.path("pgrun")); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := pgOwn(dir); err != nil {
		return err
	}
	settings := c.pgSettings(port)
	var made *exec.Cmd
	if role == "primary" {
		made = c.asPostgres(ctx, "initdb", "-D", dir, "-U", "postgres", "--auth=trust", "--no-sync")
	} else {
		primary := c.Postgres("primary").Ports["postgres"]
		made = c.asPostgres(ctx, "pg_basebackup", "-h", loopback, "-p", strconv.Itoa(primary), "-U", "postgres",
			"-D", dir, "-R", "-X", "stream", "-c", "fast")
		if c.Config.ReplicaDelay != "" {
			settings += fmt.Sprintf("recovery_min_apply_delay = '%s'\n", c.Config.ReplicaDelay)
		}
	}
	if err := runCmd(made); err != nil {
		return err
	}
	conf, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = conf.WriteString(settings)
	return errors.Join(err, conf.Close(), pgOwn(dir))
}

// createDatabase makes Vitrine's database on a new primary.
func (c *Cluster) createDatabase(ctx context.Context, port int) error {
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable&connect_timeout=5", loopback, port))
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

// stopPostgres stops a server: mode "fast" (clients disconnected, the WAL
// sent to the replica first) or "immediate" (a crash).
func (c *Cluster) stopPostgres(ctx context.Context, role, mode string) {
	name := "pg-" + role
	if c.Alive(name) {
		if err := runCmd(c.asPostgres(ctx, "pg_ctl", "-D", c.pgDir(role), "-m", mode, "-w", "-t", "30", "stop")); err != nil {
			c.logf("stopping %s: %v", name, err)
		}
	}
	_ = os.Remove(c.PidFile(name))
}

func (c *Cluster) procPostgres(ctx context.Context, action Action, role string) error {
	switch action {
	case Start:
		return c.startPostgres(ctx, role)
	case Stop:
		c.stopPostgres(ctx, role, "fast")
	case Kill:
		c.stopPostgres(ctx, role, "immediate")
	case Restart:
		c.stopPostgres(ctx, role, "fast")
		return c.startPostgres(ctx, role)
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}

// pgHealth says whether a running server is the primary, or a replica and
// how far its replay is behind what it received.
func (c *Cluster) pgHealth(ctx context.Context, role string) (health string, primary bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	port := c.Postgres(role).Ports["postgres"]
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable&connect_timeout=2", loopback, port))
	if err != nil {
		return "unreachable", false
	}
	defer conn.Close(ctx)
	var recovery bool
	var behind *string
	err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text").Scan(&recovery, &behind)
	switch {
	case err != nil:
		return "unreachable", false
	case !recovery:
		return "primary (read-write)", true
	case behind == nil:
		return "replica, ? bytes received not yet applied", false
	}
	return fmt.Sprintf("replica, %s bytes received not yet applied", *behind), false
}
