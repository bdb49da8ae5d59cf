package worker

import "golang.org/x/sys/unix"

// TotalMemory is the machine's RAM, which a worker advertises: how much of
// it a job's data may take is decided by the coordinator (raw rows kept or read again).
func TotalMemory() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
