//go:build unix

package bench

import (
	"os"
	"syscall"
)

// fdLimit is the soft limit on open files (Go raises it to the hard limit
// at start-up), or -1 when unknown.
func fdLimit() int64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return -1
	}
	return int64(rl.Cur)
}

// openFDs is how many files the process has open, or -1 when unknown.
func openFDs() int64 {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if f, err := os.Open(dir); err == nil {
			names, err := f.Readdirnames(-1)
			f.Close()
			if err == nil {
				return int64(len(names)) - 1 // less the directory just opened
			}
		}
	}
	return -1
}
