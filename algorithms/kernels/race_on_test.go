//go:build race

package kernels

// raceOn: the race detector makes sync.Pool drop items on purpose, so
// allocation counts mean nothing under it.
const raceOn = true
