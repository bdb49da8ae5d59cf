package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort/cohort/bench"
	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/localcluster"
	pb "github.com/cohort/cohort/proto"
)

func runCmd() *cobra.Command {
	var workers int
	var asJSON, verbose bool
	var profile string
	cmd := &cobra.Command{
		Use:   "run SPEC.yaml",
		Short: "Run a job on an embedded cluster in this process and print its summary",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Refuse a bad spec before starting any node.
			spec, text, err := jobspec.Load(args[0])
			if err != nil {
				return err
			}
			if profile != "" {
				stop, err := bench.StartCPUProfile(profile)
				if err != nil {
					return err
				}
				defer stop()
			}
			cl, err := localcluster.Start(cmd.Context(), localcluster.Config{Workers: workers, Log: logTo(verbose)})
			if err != nil {
				return err
			}
			defer cl.Close()
			c, err := client.Dial(cmd.Context(), cl.Addr())
			if err != nil {
				return err
			}
			defer c.Close()
			return submitAndReport(cmd.Context(), c, text, spec.Output.Dir, asJSON, cmd.OutOrStdout())
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 1, "number of embedded workers")
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log node activity to stderr")
	return cmd
}

// submitAndReport submits, follows the job with a progress bar on stderr,
// and prints the result; a job that does not succeed is an error.
func submitAndReport(ctx context.Context, c *client.Client, spec []byte, outDir string, asJSON bool, out io.Writer) error {
	job, err := c.Submit(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "job %s submitted\n", job.Id)
	bar := client.NewBar(os.Stderr)
	final, err := c.Wait(ctx, job.Id, bar.Update)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; job %s keeps running on the cluster (cancel with `cohort cancel %s`)", job.Id, job.Id)
		}
		return err
	}
	if err := jobError(final); err != nil {
		return err
	}
	res, err := c.Result(ctx, job.Id)
	if err != nil {
		return err
	}
	s := client.SummaryOf(res)
	if outDir != "" {
		if err := s.WriteOutputs(outDir); err != nil {
			return err
		}
	}
	if asJSON {
		return s.WriteJSON(out)
	}
	return s.WriteText(out)
}

func jobError(j *pb.Job) error {
	switch j.State {
	case pb.JobState_JOB_STATE_FAILED:
		return fmt.Errorf("job %s failed: %s", j.Id, j.Error)
	case pb.JobState_JOB_STATE_CANCELLED:
		return fmt.Errorf("job %s was cancelled", j.Id)
	}
	return nil
}

// withClient adds --coordinator to cmd and runs run with a client dialed to
// it, closed afterwards.
func withClient(cmd *cobra.Command, run func(cmd *cobra.Command, c *client.Client, args []string) error) *cobra.Command {
	dial := clientFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := dial(cmd.Context())
		if err != nil {
			return err
		}
		defer c.Close()
		return run(cmd, c, args)
	}
	return cmd
}

// clientFlag adds --coordinator and returns a dialer for it.
func clientFlag(cmd *cobra.Command) func(context.Context) (*client.Client, error) {
	addr := cmd.Flags().String("coordinator", defaultCoordinator(), "coordinator client API address (or $COHORT_COORDINATOR)")
	return func(ctx context.Context) (*client.Client, error) { return client.Dial(ctx, *addr) }
}

func submitCmd() *cobra.Command {
	var wait, asJSON, send bool
	cmd := &cobra.Command{
		Use:   "submit SPEC.yaml",
		Short: "Submit a job to a running cluster",
		Args:  cobra.ExactArgs(1),
	}
	dial := clientFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		spec, text, err := jobspec.Load(args[0])
		if err != nil {
			return err
		}
		c, err := dial(cmd.Context())
		if err != nil {
			return err
		}
		defer c.Close()
		if send {
			if text, err = uploadData(cmd.Context(), c, spec, text, cmd.ErrOrStderr()); err != nil {
				return err
			}
		}
		if wait {
			return submitAndReport(cmd.Context(), c, text, spec.Output.Dir, asJSON, cmd.OutOrStdout())
		}
		job, err := c.Submit(cmd.Context(), text)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), job.Id)
		return nil
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the job with a progress bar and print its result")
	cmd.Flags().BoolVar(&send, "upload", false, "send data.path (a file on this machine) to the cluster, for nodes that cannot see it")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with --wait, print the summary as JSON")
	return cmd
}

// uploadData sends a spec's data file to the cluster and returns the spec
// naming the upload instead. A relative data.path is relative to the
// working directory, as it is for `cohort run`.
func uploadData(ctx context.Context, c *client.Client, spec *jobspec.Spec, text []byte, log io.Writer) ([]byte, error) {
	path := spec.Data.Path
	if path == "" {
		return nil, errors.New("--upload: the spec has no data.path to send")
	}
	resp, err := c.Upload(ctx, path)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "uploaded %s (%d bytes) as %s\n", path, resp.Bytes, resp.Uri)
	return jobspec.WithDataPath(text, resp.Uri)
}

func jobsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "List jobs", Args: cobra.NoArgs}
	withClient(cmd, func(cmd *cobra.Command, c *client.Client, _ []string) error {
		jobs, err := c.Jobs(cmd.Context())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATE\tPHASE\tITER\tOBJECTIVE\tSUBMITTED")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%.6g\t%s\n", j.Id, j.Name, stateName(j.State), j.Phase,
				j.Iteration, j.MaxIter, j.Objective, time.Unix(0, j.SubmittedUnixNano).Format(time.DateTime))
		}
		return tw.Flush()
	})
	return cmd
}

func stateName(s pb.JobState) string {
	switch s {
	case pb.JobState_JOB_STATE_PENDING:
		return "pending"
	case pb.JobState_JOB_STATE_RUNNING:
		return "running"
	case pb.JobState_JOB_STATE_SUCCEEDED:
		return "succeeded"
	case pb.JobState_JOB_STATE_FAILED:
		return "failed"
	case pb.JobState_JOB_STATE_CANCELLED:
		return "cancelled"
	}
	return "unknown"
}

func printJob(w io.Writer, j *pb.Job) {
	fmt.Fprintf(w, "job %s (%s): %s\n", j.Id, j.Name, stateName(j.State))
	fmt.Fprintf(w, "  phase %s, restart %d, iteration %d of %d, objective %.6g, shift %.3g, %d steps committed\n",
		j.Phase, j.Restart+1, j.Iteration, j.MaxIter, j.Objective, j.Shift, j.Steps)
	if j.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", j.Error)
	}
}

func statusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [JOB]",
		Short: "Show a job, or with no argument the cluster: coordinators, leader and workers",
		Args:  cobra.MaximumNArgs(1),
	}
	withClient(cmd, func(cmd *cobra.Command, c *client.Client, args []string) error {
		out := cmd.OutOrStdout()
		if len(args) == 1 {
			j, err := c.Job(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printJob(out, j)
			return nil
		}
		st, err := c.Status(cmd.Context())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "leader %s (%s)\n", st.LeaderId, st.LeaderGrpcAddr)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "COORDINATOR\tAPI\tRAFT\tSUFFRAGE\tLEADER")
		for _, s := range st.Servers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", s.Id, s.GrpcAddr, s.RaftAddr, s.Suffrage, s.Leader)
		}
		fmt.Fprintln(tw, "\nWORKER\tAPI\tCORES\tMEMORY\tPARTITIONS")
		for _, w := range st.Workers {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f GiB\t%d\n", w.Name, w.GrpcAddr, w.Cores, float64(w.MemoryBytes)/(1<<30), w.Partitions)
		}
		return tw.Flush()
	})
	return cmd
}

func watchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "watch JOB", Short: "Follow a job until it ends", Args: cobra.ExactArgs(1)}
	withClient(cmd, func(cmd *cobra.Command, c *client.Client, args []string) error {
		bar := client.NewBar(os.Stderr)
		final, err := c.Wait(cmd.Context(), args[0], bar.Update)
		if err != nil {
			return err
		}
		printJob(cmd.OutOrStdout(), final)
		return jobError(final)
	})
	return cmd
}

func cancelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cancel JOB", Short: "Cancel a pending or running job", Args: cobra.ExactArgs(1)}
	withClient(cmd, func(cmd *cobra.Command, c *client.Client, args []string) error {
		j, err := c.Cancel(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		printJob(cmd.OutOrStdout(), j)
		return nil
	})
	return cmd
}

func resultCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "result JOB", Short: "Print a finished job's segments", Args: cobra.ExactArgs(1)}
	withClient(cmd, func(cmd *cobra.Command, c *client.Client, args []string) error {
		res, err := c.Result(cmd.Context(), args[0])
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) {
				return fmt.Errorf("job %s: %s", args[0], ce.Message)
			}
			return err
		}
		s := client.SummaryOf(res)
		if asJSON {
			return s.WriteJSON(cmd.OutOrStdout())
		}
		return s.WriteText(cmd.OutOrStdout())
	})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
