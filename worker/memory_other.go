//go:build !linux

package worker

// TotalMemory is unknown off Linux; 0 advertises "not reported".
func TotalMemory() int64 { return 0 }
