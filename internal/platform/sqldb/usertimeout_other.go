//go:build !linux

package sqldb

import "syscall"

// setUserTimeout does nothing where TCP_USER_TIMEOUT does not exist.
func setUserTimeout(_, _ string, _ syscall.RawConn) error { return nil }
