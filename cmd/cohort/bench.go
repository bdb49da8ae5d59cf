package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/cohort/cohort/bench"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmark suites on synthetic data"}
	cmd.AddCommand(benchKMeansCmd(), benchE2ECmd(), benchSilhouetteCmd())
	return cmd
}

// printReport prints a suite's report as JSON or as text.
func printReport(cmd *cobra.Command, asJSON bool, r interface{ WriteText(io.Writer) error }) error {
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(out)
}

func benchE2ECmd() *cobra.Command {
	var cfg bench.E2EConfig
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Time whole jobs (cohort run) on a blobs CSV and Parquet file against pandas + scikit-learn doing the same",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log, cfg.Progress = logTo(verbose), cmd.ErrOrStderr()
			r, err := bench.E2E(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printReport(cmd, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Rows, "rows", 1_000_000, "rows of synthetic blobs")
	f.IntVar(&cfg.Dims, "dims", 16, "dimensions")
	f.IntVar(&cfg.K, "k", 16, "clusters in the data and k of the job")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of data and job")
	f.StringVar(&cfg.Dir, "dir", "", "keep the generated files and outputs here, and reuse the files on the next run (default: a temporary directory)")
	f.IntVar(&cfg.Repeat, "repeat", 1, "runs of each side on each format; medians are reported")
	f.IntVar(&cfg.Workers, "workers", 1, "embedded workers")
	f.BoolVar(&asJSON, "json", false, "print figures as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "log node activity to stderr")
	return cmd
}

func benchKMeansCmd() *cobra.Command {
	var cfg bench.KMeansConfig
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "kmeans",
		Short: "Time Lloyd iterations of k-means on an embedded cluster over synthetic blobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = logTo(verbose)
			r, err := bench.KMeans(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printReport(cmd, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Rows, "rows", 1_000_000, "rows of synthetic blobs")
	f.IntVar(&cfg.Dims, "dims", 16, "dimensions")
	f.IntVar(&cfg.K, "k", 16, "clusters in the data and k of the job")
	f.IntVar(&cfg.Iters, "iters", 20, "Lloyd iterations (run to the end)")
	f.IntVar(&cfg.Workers, "workers", 1, "embedded workers")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of data and job")
	f.Float64Var(&cfg.Spread, "spread", 1, "standard deviation of each blob")
	f.IntVar(&cfg.PartitionRows, "partition-rows", 0, "rows per partition (default: 131072, or about 1/128 of the rows up to 64 MiB a partition)")
	f.StringVar(&cfg.Compare, "compare", "", "also time a peer on the same rows: sklearn (scikit-learn's lloyd KMeans, run by /usr/bin/python3)")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the job, from submission to its end, to this file")
	f.BoolVar(&asJSON, "json", false, "print figures as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "log node activity to stderr")
	return cmd
}

func benchSilhouetteCmd() *cobra.Command {
	var cfg bench.SilhouetteConfig
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "silhouette",
		Short: "Time the evaluate stage's silhouette on an embedded cluster over synthetic blobs, against scikit-learn's silhouette_score on the same rows and labels",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log, cfg.Progress = logTo(verbose), cmd.ErrOrStderr()
			r, err := bench.Silhouette(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printReport(cmd, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Rows, "rows", 50_000, "rows of synthetic blobs")
	f.IntVar(&cfg.Dims, "dims", 16, "dimensions")
	f.IntVar(&cfg.K, "k", 16, "clusters in the data and k of the job")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of data and job")
	f.StringVar(&cfg.Sample, "sample", "", "evaluate.silhouette.sample: all, or a number of rows (default: exact up to 50,000 rows, 20,000 sampled beyond)")
	f.StringVar(&cfg.Distance, "distance", "euclidean", "the silhouette's distance: euclidean or manhattan")
	f.StringVar(&cfg.Choose, "choose", "", "MIN..MAX: fit every k in the range on one load and choose one by silhouette, instead of a fit of --k")
	f.IntVar(&cfg.Repeat, "repeat", 1, "runs of each side; medians are reported")
	f.IntVar(&cfg.Workers, "workers", 1, "embedded workers")
	f.IntVar(&cfg.PartitionRows, "partition-rows", 0, "rows per partition (default: the job's, 131072 or about 1/128 of the rows up to 64 MiB a partition)")
	f.BoolVar(&cfg.NoPeer, "no-peer", false, "do not run scikit-learn")
	f.Int64Var(&cfg.PeerMaxRows, "peer-max-rows", bench.DefaultPeerMaxRows, "run scikit-learn only up to this many rows")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the first run's job, from submission to its end, to this file")
	f.BoolVar(&asJSON, "json", false, "print figures as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "log node activity to stderr")
	return cmd
}
