package clustertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A cpuBudget is a share of this machine's cores that a group of processes
// may not exceed, set with the kernel's CPU controller (a cgroup's CFS
// quota): the group runs as it would on a host of that many cores, whatever
// the processes outside it do. The overload test gives the cluster one
// budget and its clients and load balancer another, as on hosts of their
// own.
type cpuBudget struct {
	t    *testing.T
	dir  string // the group's directory
	back string // cgroup.procs of the group the processes came from
}

// The cgroup file systems the CPU controller may be mounted at: cgroup v1's
// own hierarchy, or the unified (v2) one.
const (
	cgroupV1CPU = "/sys/fs/cgroup/cpu"
	cgroupV2    = "/sys/fs/cgroup"
)

// newCPUBudget makes a group limited to cores (e.g. 0.7) and removes it,
// putting its processes back, when the test ends. Without a CPU controller
// it can write to (root, cgroup v1 or v2) the test fails: what it measures
// means nothing without the budgets.
func newCPUBudget(t *testing.T, name string, cores float64) *cpuBudget {
	t.Helper()
	// A short period: a group that spends its quota early in a period is
	// stopped until the next, all its processes at once, so the period
	// bounds those stalls (Redis answering the rate limiter within its
	// 50 ms, say). 10 ms, against the kernel's default of 100.
	const period = 10_000 // µs
	quota := int(cores * period)
	name = fmt.Sprintf("vitrine-test-%d-%s", os.Getpid(), name)
	var b *cpuBudget
	switch {
	case fileExists(filepath.Join(cgroupV1CPU, "cpu.cfs_quota_us")):
		b = &cpuBudget{t: t, dir: filepath.Join(cgroupV1CPU, name), back: filepath.Join(cgroupV1CPU, "cgroup.procs")}
		if err := mkGroup(b.dir); err != nil {
			t.Fatalf("a CPU budget needs a cgroup of its own: %v", err)
		}
		err := errors.Join(os.WriteFile(filepath.Join(b.dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0),
			os.WriteFile(filepath.Join(b.dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0))
		if err != nil {
			t.Fatalf("setting the CPU budget of %s: %v", name, err)
		}
	case cgroupV2HasCPU():
		b = &cpuBudget{t: t, dir: filepath.Join(cgroupV2, name), back: filepath.Join(cgroupV2, "cgroup.procs")}
		if err := mkGroup(b.dir); err != nil {
			t.Fatalf("a CPU budget needs a cgroup of its own: %v", err)
		}
		if err := os.WriteFile(filepath.Join(b.dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0); err != nil {
			t.Fatalf("setting the CPU budget of %s: %v", name, err)
		}
	default:
		t.Fatalf("no CPU controller to give the cluster and its clients budgets of their own (%s or %s with cpu): run as root on Linux", cgroupV1CPU, cgroupV2)
	}
	t.Cleanup(b.remove)
	return b
}

// add moves a process, all its threads, and every process it started into
// the group; those it starts later are born in it.
func (b *cpuBudget) add(pid int) {
	b.t.Helper()
	for _, p := range withDescendants(pid) {
		if err := os.WriteFile(filepath.Join(b.dir, "cgroup.procs"), []byte(strconv.Itoa(p)), 0); err != nil && p == pid {
			b.t.Fatalf("moving process %d into %s: %v", p, b.dir, err)
		}
	}
}

// cpuTicks is the CPU time, in clock ticks, the group's processes have
// used so far.
func (b *cpuBudget) cpuTicks() int64 {
	raw, _ := os.ReadFile(filepath.Join(b.dir, "cgroup.procs"))
	var total int64
	for _, pid := range strings.Fields(string(raw)) {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		// utime and stime are the 14th and 15th fields, after the
		// command's name in parentheses (which may hold spaces).
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		for _, f := range fields[11:13] {
			n, _ := strconv.ParseInt(f, 10, 64)
			total += n
		}
	}
	return total
}

// settle waits, up to limit, until the group uses less than a tenth of a
// core: work left from before (an index merging the segments of the
// last writes, consumers catching up) would otherwise be measured with
// what comes next.
func (b *cpuBudget) settle(limit time.Duration) {
	const tick = 100 // clock ticks a second (USER_HZ on Linux)
	deadline := time.Now().Add(limit)
	for prev := b.cpuTicks(); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		now := b.cpuTicks()
		if now-prev < tick/10 {
			return
		}
		prev = now
	}
	b.t.Logf("%s still used more than a tenth of a core after %s", filepath.Base(b.dir), limit)
}

// throttling counts the scheduler periods in which the group had
// processes to run (nr_periods) and those in which it ran out of its
// budget (nr_throttled), in cpu.stat (cgroup v1 and v2 alike).
type throttling struct{ periods, throttled int64 }

func (b *cpuBudget) throttling() throttling {
	raw, err := os.ReadFile(filepath.Join(b.dir, "cpu.stat"))
	if err != nil {
		b.t.Fatal(err)
	}
	var th throttling
	for line := range strings.Lines(string(raw)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "nr_periods":
			th.periods = n
		case "nr_throttled":
			th.throttled = n
		}
	}
	return th
}

// since is the share of the periods between from and th in which the
// group ran out of its budget.
func (th throttling) since(from throttling) float64 {
	if th.periods <= from.periods {
		return 0
	}
	return float64(th.throttled-from.throttled) / float64(th.periods-from.periods)
}

// remove puts the group's processes back where they came from and deletes
// the group.
func (b *cpuBudget) remove() {
	raw, _ := os.ReadFile(filepath.Join(b.dir, "cgroup.procs"))
	for _, p := range strings.Fields(string(raw)) {
		_ = os.WriteFile(b.back, []byte(p), 0) // a process that ended meanwhile is gone anyway
	}
	if err := os.Remove(b.dir); err != nil {
		b.t.Errorf("removing the CPU budget %s: %v", b.dir, err)
	}
}

// pidOf reads a cluster process's pid file.
func (c *cluster) pidOf(name string) int {
	c.t.Helper()
	pid := c.cl.Pid(name)
	if pid == 0 {
		c.t.Fatalf("%s has no pid file (%s)", name, c.layout.PidFile(name))
	}
	return pid
}

// processNames lists the processes of the cluster that have a pid file.
func (c *cluster) processNames() []string {
	var names []string
	for _, p := range c.layout.Processes() {
		if c.cl.Pid(p.Name) != 0 {
			names = append(names, p.Name)
		}
	}
	return names
}

// withDescendants is pid and every process below it (PostgreSQL's
// backends, say).
func withDescendants(pid int) []int {
	out := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		raw, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(raw)) {
			if child, err := strconv.Atoi(s); err == nil {
				out = append(out, withDescendants(child)...)
			}
		}
	}
	return out
}

func mkGroup(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// cgroupV2HasCPU reports whether the unified hierarchy offers the CPU
// controller to its children, enabling it if it can.
func cgroupV2HasCPU() bool {
	raw, err := os.ReadFile(filepath.Join(cgroupV2, "cgroup.controllers"))
	if err != nil || !slices.Contains(strings.Fields(string(raw)), "cpu") {
		return false
	}
	return os.WriteFile(filepath.Join(cgroupV2, "cgroup.subtree_control"), []byte("+cpu"), 0) == nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
