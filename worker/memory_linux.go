package worker

import "golang.org/x/sys/unix"

// totalMemory is the machine's RAM, advertised so placement can later weigh
// workers by what they can hold.
func totalMemory() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
