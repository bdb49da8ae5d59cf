//go:build unix

package partition

import (
	"os"
	"syscall"
)

// inode is fi's inode number: a file replaced by another of the same size
// within the clock's resolution is still told apart.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
