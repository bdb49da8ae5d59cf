package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/localcluster"
)

func evaluateCmd() *cobra.Command {
	var workers int
	var labels, id, coordinator string
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "evaluate SPEC.yaml --labels FILE:COLUMN",
		Short: "Score a segmentation made elsewhere with the same metrics as a fitted one",
		Long: `Score labels made by another tool: the spec's data is read and prepared as for
a fit, each customer's segment is its label in COLUMN of FILE (the data's own file,
or one of its own joined by customer id: data.id, or --id for FILE's id column),
and the spec's evaluate section is run on them. Nothing is fitted or assigned.
It runs on an embedded cluster, or on the one at --coordinator.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The last colon: a column name has none, a path may.
			i := strings.LastIndex(labels, ":")
			file, column := labels[:max(i, 0)], labels[i+1:]
			if i < 0 || file == "" || column == "" {
				return fmt.Errorf("--labels must be FILE:COLUMN, the file of labels and the column that holds them (got %q)", labels)
			}
			text, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read job spec: %w", err)
			}
			spec, labelled, err := jobspec.WithLabels(text, file, column, id)
			if err == nil && spec.JoinsLabels() && sameFile(file, spec.Data.Path) {
				// The data's own column.
				spec, labelled, err = jobspec.WithLabels(text, "", column, id)
			}
			if err != nil {
				return fmt.Errorf("%s with --labels: %w", args[0], err)
			}
			text = labelled
			var c *client.Client
			if coordinator != "" {
				if c, err = client.Dial(cmd.Context(), coordinator); err != nil {
					return err
				}
			} else {
				cl, err := localcluster.Start(cmd.Context(), localcluster.Config{Workers: workers, Log: logTo(verbose)})
				if err != nil {
					return err
				}
				defer cl.Close()
				if c, err = client.Dial(cmd.Context(), cl.Addr()); err != nil {
					return err
				}
			}
			defer c.Close()
			return submitAndReport(cmd.Context(), c, text, spec.Output.Dir, asJSON, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&labels, "labels", "", "FILE:COLUMN of the labels to score (required)")
	cmd.Flags().StringVar(&id, "id", "", "the customer id column of FILE, when it is not data.id's name")
	cmd.Flags().StringVar(&coordinator, "coordinator", "", "run on this cluster's coordinator instead of an embedded one")
	cmd.Flags().IntVar(&workers, "workers", 1, "number of embedded workers")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log node activity to stderr")
	_ = cmd.MarkFlagRequired("labels")
	return cmd
}

// sameFile says whether two paths name one file.
func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}
