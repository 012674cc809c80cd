package testwait

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Freeze stops process pid with SIGSTOP, as when its machine or zone is
// cut off (its sockets stay open, its ports still accept connections,
// nothing answers), and returns once the kernel shows it stopped: until
// then a thread already running may still answer a request. It returns
// false, having done nothing, when there is no such process (any more).
func Freeze(t testing.TB, pid int) bool {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		if err == syscall.ESRCH {
			return false
		}
		t.Fatalf("freeze process %d: %v", pid, err)
	}
	Until(t, 5*time.Second, "process "+strconv.Itoa(pid)+" stopped", func() bool {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		// pid (comm) state ...; comm may hold spaces and parentheses.
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		// Stopped, or exited (a zombie, left unreaped by a frozen parent).
		return len(fields) > 0 && strings.Contains("TtZX", fields[0])
	})
	return true
}

// Thaw resumes a process Freeze stopped.
func Thaw(pid int) { _ = syscall.Kill(pid, syscall.SIGCONT) }
