package worker

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestLimitMemory(t *testing.T) {
	saved := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(saved)

	t.Setenv("GOMEMLIMIT", "")
	limit := LimitMemory()
	if total := TotalMemory(); total > 0 {
		if limit != int64(float64(total)*memoryShare) || debug.SetMemoryLimit(-1) != limit {
			t.Fatalf("limit %d for %d bytes of memory", limit, total)
		}
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(math.MaxInt64)
	if LimitMemory() != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("an explicit GOMEMLIMIT was overridden")
	}
}
