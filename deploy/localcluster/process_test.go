package localcluster

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testCluster(t *testing.T) *Cluster {
	t.Helper()
	cfg := testConfig(t, noEnv)
	cfg.Dir = t.TempDir()
	for _, d := range []string{"pids", "logs"} {
		if err := os.Mkdir(cfg.Dir+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestASpawnedProcessHasItsPidAndLogAndASessionOfItsOwn(t *testing.T) {
	c := testCluster(t)
	if err := c.spawn("sleeper", []string{"GREETING=hello"}, "sh", "-c", `echo "$GREETING"; exec sleep 60`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stopProcess("sleeper", syscall.SIGKILL, time.Second) })
	pid := c.Pid("sleeper")
	if pid == 0 || !c.Alive("sleeper") {
		t.Fatalf("pid %d, alive %v", pid, c.Alive("sleeper"))
	}
	if sid, err := getsid(pid); err != nil || sid != pid {
		t.Errorf("session %d (%v), want its own, %d", sid, err, pid)
	}
	waitFor(t, "the log", func() bool {
		b, _ := os.ReadFile(c.LogFile("sleeper"))
		return strings.TrimSpace(string(b)) == "hello"
	})
	c.stopProcess("sleeper", syscall.SIGTERM, 5*time.Second)
	if c.Alive("sleeper") || running(pid) {
		t.Error("still running after SIGTERM")
	}
	if _, err := os.Stat(c.PidFile("sleeper")); !os.IsNotExist(err) {
		t.Errorf("the pid file stays: %v", err)
	}
}

func TestAProcessThatIgnoresSIGTERMIsKilledAfterTheLimit(t *testing.T) {
	c := testCluster(t)
	if err := c.spawn("stubborn", nil, "sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the trap", func() bool {
		b, _ := os.ReadFile(c.LogFile("stubborn"))
		return strings.Contains(string(b), "ready")
	})
	start := time.Now()
	c.stopProcess("stubborn", syscall.SIGTERM, 300*time.Millisecond)
	if c.Alive("stubborn") {
		t.Fatal("still running")
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("stopped after %s, before its limit: SIGTERM was not ignored", took)
	}
}

// A process that ended and that its parent has not reaped yet (a zombie)
// is not running.
func TestAZombieIsNotRunning(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	waitFor(t, "the child to end", func() bool {
		stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return strings.Contains(string(stat), ") Z ")
	})
	if running(pid) {
		t.Error("a zombie counts as running")
	}
	_ = cmd.Wait()
	if running(pid) {
		t.Error("a reaped process counts as running")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}
