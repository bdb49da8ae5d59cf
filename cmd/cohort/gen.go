package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cohort/cohort/bench"
)

func genCmd() *cobra.Command {
	var cfg bench.GenConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "gen blobs|customers|transactions --rows N --out FILE",
		Short: "Write synthetic data: Gaussian blobs, customers, or a retail transaction log (.csv, .csv.gz or .parquet)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Kind = args[0]
			if cfg.Out == "" {
				return fmt.Errorf("--out is required: a .csv, .csv.gz or .parquet file")
			}
			rep, err := bench.Gen(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			_, err = fmt.Fprintf(out, "wrote %d %s rows to %s (%.1f MB) in %.1fs\n", rep.Rows, rep.Kind, rep.Out, float64(rep.Bytes)/1e6, rep.Seconds)
			return err
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Rows, "rows", 0, "rows to write (transaction log: invoice lines)")
	f.StringVar(&cfg.Out, "out", "", "file to write: .csv, .csv.gz or .parquet")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed; the same seed writes the same file")
	f.IntVar(&cfg.Dims, "dims", 16, "blobs: dimensions")
	f.IntVar(&cfg.Clusters, "clusters", 16, "blobs: clusters")
	f.Float64Var(&cfg.Spread, "spread", 1, "blobs: standard deviation of each cluster")
	f.BoolVar(&asJSON, "json", false, "print what was written as JSON")
	return cmd
}
