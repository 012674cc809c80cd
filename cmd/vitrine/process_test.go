package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the vitrine command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vitrine-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vitrine")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// launch starts "vitrine serve" as a real process and waits until it
// listens.
func launch(t *testing.T, env []string, args ...string) (*server, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr := &testwait.Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var admin string
		for sc.Scan() {
			if m := adminListening.FindStringSubmatch(sc.Text()); m != nil {
				admin = m[1] // printed before the public address
			}
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- [2]string{m[1], admin}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	s := &server{t: t, stderr: stderr}
	select {
	case u := <-urls:
		s.URL, s.AdminURL = u[0], u[1]
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("process did not start:\n%s", stderr.String())
	}
	return s, cmd
}

// startProcess runs "vitrine serve" as a real process. When the test ends
// it sends SIGTERM and expects a clean exit.
func startProcess(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s, cmd := launch(t, env, args...)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("process exited with %v:\n%s", err, s.stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("process did not stop on SIGTERM")
		}
	})
	return s
}

// eventually waits for cond (testwait.Until).
var eventually = testwait.Until

func metricValue(t *testing.T, s *server, line string) bool {
	for _, l := range strings.Split(s.metrics(), "\n") {
		if strings.HasPrefix(l, line) && !strings.HasSuffix(l, " 0") {
			return true
		}
	}
	return false
}

func removeAll(dir string) error { return os.RemoveAll(dir) }

// TestKilledProcessLosesNoEvent: a real process is killed (SIGKILL) while
// products are being created; once restarted on the same data, every
// product whose creation was acknowledged reaches the search index, once.
func TestKilledProcessLosesNoEvent(t *testing.T) {
	dir := t.TempDir()
	runCommand(t, nil, "user", "create", "--data-dir", dir, "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")
	args := []string{"--data-dir", dir, "--rate-limit-login", "off", "--rate-limit-user", "off", "--admin-addr", "127.0.0.1:0"}
	first, kill := startKillableProcess(t, args...)
	token := (&catalog{server: first}).login(t, "ops@vitrine.test", "ops-password")

	created := 0
	for i := 0; i < 200; i++ {
		if i == 40 {
			kill() // in the middle of the stream of writes
		}
		r, err := first.tryDo(call{Method: "POST", Path: "/api/products", Token: token,
			Body: productBody(fmt.Sprintf("Crashproof Mug %d", i), fmt.Sprintf("MUG-%d", i), 900, nil)})
		if err != nil {
			break
		}
		expect(t, r, 201)
		created++
	}
	if created < 40 {
		t.Fatalf("only %d products were created before the kill", created)
	}

	again := startProcess(t, nil, args...)
	c := &catalog{server: again}
	eventually(t, 20*time.Second, "every acknowledged product is searchable", func() bool {
		return c.search(t, "q=crashproof&per_page=100&page=1").Total == created
	})
	if !strings.Contains(again.metrics(), "vitrine_outbox_backlog 0") {
		t.Fatal("events are still waiting in the outbox")
	}
}

// startKillableProcess is startProcess with a kill -9 instead of a clean stop.
func startKillableProcess(t *testing.T, args ...string) (*server, func()) {
	t.Helper()
	s, cmd := launch(t, nil, args...)
	kill := func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
	}
	t.Cleanup(kill)
	return s, kill
}
