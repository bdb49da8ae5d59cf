// Package worker is a compute node: it gossips its address and capacity,
// builds the partitions the coordinator places on it from their source, holds
// them in memory as contiguous float32 blocks, and maps algorithm steps over
// them one goroutine per core.
package worker
