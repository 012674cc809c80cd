//go:build !unix

package bench

func fdLimit() int64 { return -1 }
func openFDs() int64 { return -1 }
