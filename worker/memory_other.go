//go:build !linux

package worker

// totalMemory is unknown off Linux; 0 advertises "not reported".
func totalMemory() int64 { return 0 }
