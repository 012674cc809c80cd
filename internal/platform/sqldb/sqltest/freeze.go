package sqltest

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// Freeze stops every process of the server (the postmaster, then each of
// its children: backends, WAL writer...) with SIGSTOP, as when its
// machine or zone is cut off: its port still accepts connections and its
// sockets stay open, but nothing is answered. Thaw, or the end of the
// test, resumes them.
func (s *Server) Freeze() {
	s.t.Helper()
	postmaster := s.postmasterPID()
	s.t.Cleanup(s.Thaw)
	if !testwait.Freeze(s.t, postmaster) {
		s.t.Fatal("PostgreSQL is not running")
	}
	s.frozen = append(s.frozen, postmaster)
	// A stopped postmaster forks no more children: this list is complete
	// (a child may still exit meanwhile).
	for _, pid := range childrenOf(postmaster) {
		if testwait.Freeze(s.t, pid) {
			s.frozen = append(s.frozen, pid)
		}
	}
}

// Thaw resumes the processes Freeze stopped.
func (s *Server) Thaw() {
	for _, pid := range s.frozen {
		testwait.Thaw(pid)
	}
	s.frozen = nil
}

// postmasterPID reads the first line of postmaster.pid.
func (s *Server) postmasterPID() int {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	if err != nil {
		s.t.Fatalf("PostgreSQL is not running: %v", err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		s.t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range stats {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		end := strings.LastIndexByte(line, ')')
		fields := strings.Fields(line[end+1:])
		if end < 0 || len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		if child, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
			out = append(out, child)
		}
	}
	return out
}
