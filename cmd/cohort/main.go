// Command cohort is the single binary of a Cohort cluster: embedded runs,
// long-running coordinator and worker nodes, the client commands, and
// benchmarks. It only parses flags and wires packages together.
package main

import (
	"context"
	"fmt"
	"github.com/cohort/cohort/worker"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	// Nodes hold datasets in memory: let the heap use the machine (see
	// worker.LimitMemory) rather than half of it.
	worker.LimitMemory()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cohort:", err)
		os.Exit(1)
	}
}

// defaultCoordinator is where client commands look unless told otherwise.
func defaultCoordinator() string {
	if a := os.Getenv("COHORT_COORDINATOR"); a != "" {
		return a
	}
	return "127.0.0.1:7400"
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "cohort",
		Short:         "Distributed customer segmentation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(runCmd(), localCmd(), coordinatorCmd(), workerCmd(), algorithmsCmd(),
		submitCmd(), evaluateCmd(), jobsCmd(), statusCmd(), watchCmd(), cancelCmd(), resultCmd(), benchCmd(), genCmd())
	return cmd
}

// logTo is where node logs go: stderr with --verbose, else nowhere, so
// embedded runs print only the progress bar and the result.
func logTo(verbose bool) io.Writer {
	if verbose {
		return os.Stderr
	}
	return io.Discard
}
