package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PidFile and LogFile are where a process's pid and output go.
func (l *Layout) PidFile(name string) string { return l.path("pids", name+".pid") }
func (l *Layout) LogFile(name string) string { return l.path("logs", name+".log") }

// Pid is the pid a process's pid file holds, or 0 when it has none.
func (c *Cluster) Pid(name string) int {
	b, err := os.ReadFile(c.PidFile(name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// Alive says whether a process of the cluster runs: its pid file names a
// process that exists and has not ended (a zombie waiting for its parent
// to reap it has).
func (c *Cluster) Alive(name string) bool {
	pid := c.Pid(name)
	return pid > 0 && running(pid)
}

func running(pid int) bool {
	state := procState(pid)
	return state != "" && state != "Z" && state != "X"
}

// Answering says whether a process of the cluster runs and is not stopped
// (a frozen zone's processes are, by SIGSTOP).
func (c *Cluster) Answering(name string) bool {
	pid := c.Pid(name)
	return running(pid) && procState(pid) != "T"
}

// procState is a process's state letter in /proc (R, S, T for stopped, Z
// for a zombie…), or "" when there is no such process.
func procState(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The state follows the command's name in parentheses, which may hold
	// spaces and parentheses of its own.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// tree is a process and all its descendants, parents first: Patroni and
// the PostgreSQL server it started in a session of its own, HAProxy's
// master and its worker.
func tree(root int) []int {
	children := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 {
			ppid, _ := strconv.Atoi(fields[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// signalTree sends sig to a process of the cluster and to every
// descendant of it; for Patroni, to the PostgreSQL server it runs too,
// which it starts through a process that exits (the server's parent is
// then init, not Patroni).
func (c *Cluster) signalTree(name string, sig syscall.Signal) {
	for _, p := range c.treeOf(name) {
		_ = syscall.Kill(p, sig)
	}
}

// treeOf is a process of the cluster and everything it started (see
// signalTree).
func (c *Cluster) treeOf(name string) []int {
	pid := c.Pid(name)
	if !running(pid) {
		return nil
	}
	pids := tree(pid)
	if p, ok := c.Process(name); ok && p.Kind == KindPostgres {
		if pm := c.postmaster(p); running(pm) {
			pids = append(pids, tree(pm)...)
		}
	}
	return pids
}

// spawn starts a process of the cluster in a session of its own, so that
// it outlives the command that starts it and no terminal signal reaches
// it, with its output appended to its log and its pid in its pid file.
func (c *Cluster) spawn(name string, env []string, argv ...string) error {
	return c.spawnAs(name, nil, env, argv...)
}

// spawnAs is spawn as another user (PostgreSQL's, which refuses to run as
// root), or as this one when cred is nil.
func (c *Cluster) spawnAs(name string, cred *syscall.Credential, env []string, argv ...string) error {
	out, err := os.OpenFile(c.LogFile(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close() // the process has its own copy
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	// A long-lived caller (a test) reaps its children; a short one exits
	// and leaves them to init.
	go func() { _ = cmd.Wait() }()
	return c.writePid(name, cmd.Process.Pid)
}

func (c *Cluster) writePid(name string, pid int) error {
	return os.WriteFile(c.PidFile(name), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// stopProcess signals a process, waits up to limit for it to end, then
// kills it; either way its pid file goes.
func (c *Cluster) stopProcess(name string, sig syscall.Signal, limit time.Duration) {
	pid := c.Pid(name)
	if pid > 0 && running(pid) {
		if sig == syscall.SIGKILL {
			c.signalTree(name, sig) // what it started dies with it
		} else {
			_ = syscall.Kill(pid, sig)
		}
		deadline := time.Now().Add(limit)
		for running(pid) {
			if time.Now().After(deadline) {
				c.logf("%s did not stop after %s; killing it", name, limit)
				c.signalTree(name, syscall.SIGKILL)
				deadline = time.Now().Add(time.Hour)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	_ = os.Remove(c.PidFile(name))
}

// waitUntil asks cond every 100 ms until it holds, and fails naming what
// it waited for once limit has passed or ctx is done.
func waitUntil(ctx context.Context, limit time.Duration, what string, cond func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond(ctx) {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out after %s waiting for %s", limit, what)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

func tcpOpen(addr string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
}

var probeClient = &http.Client{Timeout: 2 * time.Second}

func httpOK(url string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		res, err := probeClient.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode/100 == 2
	}
}

// withLogTail adds the last lines of a process's log to err, where the
// reason it did not start usually is.
func (c *Cluster) withLogTail(name string, err error) error {
	if err == nil {
		return nil
	}
	b, _ := os.ReadFile(c.LogFile(name))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-20):]
	return fmt.Errorf("%w; the end of %s:\n%s", err, c.LogFile(name), strings.Join(lines, "\n"))
}

// runCmd runs a short command (initdb, openssl, vitrine migrate…) and
// returns its output with the error when it fails.
func runCmd(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(cmd.Path), strings.Join(cmd.Args[1:], " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
