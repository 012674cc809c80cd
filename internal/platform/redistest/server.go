package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// Server is a redis-server of a test's own, on a free loopback port, that
// the test may stop and start again (on the same port), or freeze, to see
// what its code does while Redis is away.
type Server struct {
	t      testing.TB
	port   int
	dir    string
	conf   string   // a configuration file, first of the arguments; a Sentinel's
	args   []string // more of redis-server's arguments (a replica's, "--sentinel")
	cmd    *exec.Cmd
	frozen bool
}

// Start runs redis-server (which must be installed: the test fails
// otherwise) on a free port; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t)
}

// StartReplica runs a redis-server that replicates primary.
func StartReplica(t testing.TB, primary *Server) *Server {
	t.Helper()
	return start(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
}

func start(t testing.TB, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is required for this test: %v", err)
	}
	return startServer(&Server{t: t, port: testwait.FreePort(t), dir: t.TempDir(), args: args})
}

func startServer(s *Server) *Server {
	s.t.Helper()
	s.Restart()
	s.t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port, the same across restarts.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Stop kills the server (SIGKILL, as a crash would) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd, s.frozen = nil, false
}

// Freeze stops the server with SIGSTOP, as when its machine or zone is
// cut off: its sockets stay open and its port still accepts connections
// (the kernel does), but nothing is ever answered. Thaw, or the end of
// the test, resumes it.
func (s *Server) Freeze() {
	s.t.Helper()
	if !testwait.Freeze(s.t, s.cmd.Process.Pid) {
		s.t.Fatalf("redis-server on %s is not running", s.Addr())
	}
	s.frozen = true
}

// Thaw resumes a frozen server with SIGCONT.
func (s *Server) Thaw() {
	if s.cmd == nil || !s.frozen {
		return
	}
	testwait.Thaw(s.cmd.Process.Pid)
	s.frozen = false
}

// Restart starts the server again (or for the first time) and waits until
// it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	} else {
		args = append(args, "--save", "", "--appendonly", "no", "--dir", s.dir)
	}
	args = append(args, s.args...)
	args = append(args, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--daemonize", "no")
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: 0})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatal(fmt.Errorf("redis-server on %s did not answer within 10s: %w", s.Addr(), err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
