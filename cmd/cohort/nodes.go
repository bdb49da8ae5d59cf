package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort/cohort/coordinator"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/localcluster"
	"github.com/cohort/cohort/worker"
)

func localCmd() *cobra.Command {
	var cfg localcluster.Config
	var verbose bool
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run an embedded coordinator and workers in this process until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = logTo(verbose)
			cl, err := localcluster.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer cl.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "embedded cluster: coordinator %s, %d workers; submit with `cohort submit SPEC --coordinator %s`\n",
				cl.Addr(), len(cl.Workers), cl.Addr())
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Workers, "workers", 1, "number of workers")
	cmd.Flags().StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7400", "coordinator client API address")
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", "", "Raft state directory (default: a temporary one)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log node activity to stderr")
	return cmd
}

func coordinatorCmd() *cobra.Command {
	cfg := coordinator.Config{Codec: jobspec.Codec(), Log: os.Stderr}
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run a coordinator (Raft member, client API, job driver)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.ID == "" {
				host, _ := os.Hostname()
				cfg.ID = host
			}
			fp, err := failpoint.FromEnv()
			if err != nil {
				return err
			}
			cfg.Failpoints = fp
			n, err := coordinator.Start(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "coordinator %s: client API %s, raft %s, gossip %s\n", cfg.ID, n.GRPCAddr(), n.RaftAddr(), n.GossipAddr())
			<-cmd.Context().Done()
			return n.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ID, "id", "", "Raft server id, unique in the cluster (default: host name)")
	f.StringVar(&cfg.DataDir, "data-dir", "cohort-data", "directory for the Raft log, stable store and snapshots")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7400", "client API address")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "127.0.0.1:7401", "Raft address")
	f.StringVar(&cfg.GossipAddr, "gossip-addr", "127.0.0.1:7402", "memberlist gossip address")
	f.StringVar(&cfg.Join, "join", "", "client API address of a running coordinator to join as a voter")
	f.DurationVar(&cfg.WorkerWait, "worker-wait", 30*time.Second, "how long a job waits for a first worker")
	f.Int64Var(&cfg.MaxUploadBytes, "max-upload", coordinator.DefaultMaxUpload, "largest file a client may upload, in bytes (negative: no limit)")
	return cmd
}

func workerCmd() *cobra.Command {
	cfg := worker.Config{Codec: jobspec.Codec(), Log: os.Stderr}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker that holds partitions and computes steps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Coordinator == "" && len(cfg.Join) == 0 {
				cfg.Coordinator = defaultCoordinator()
			}
			fp, err := failpoint.FromEnv()
			if err != nil {
				return err
			}
			cfg.Failpoints = fp
			n, err := worker.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			return n.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Coordinator, "coordinator", "", "a coordinator's client API address (default $COHORT_COORDINATOR or 127.0.0.1:7400)")
	f.StringSliceVar(&cfg.Join, "join", nil, "gossip addresses of cluster members, instead of --coordinator")
	f.StringVar(&cfg.Name, "name", "", "unique worker name (default: derived from the API address)")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:0", "worker API address (port 0 picks one)")
	f.StringVar(&cfg.GossipAddr, "gossip-addr", "127.0.0.1:0", "gossip address (port 0 picks one)")
	f.IntVar(&cfg.Cores, "cores", runtime.GOMAXPROCS(0), "cores to compute on")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", 30*time.Second, "give up if the cluster cannot be reached in this time")
	return cmd
}
