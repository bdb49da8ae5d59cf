package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cohort/cohort/algorithms"
)

// algorithmsCmd lists what the registry holds: the algorithms a spec's
// cluster.algorithm may name, each with the parameters it reads.
func algorithmsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "algorithms",
		Short: "List the registered algorithms with their parameters and defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type param struct {
				Name    string `json:"name"`
				Default string `json:"default,omitempty"`
				Doc     string `json:"doc"`
			}
			type entry struct {
				Name    string   `json:"name"`
				Summary string   `json:"summary"`
				Aliases []string `json:"aliases,omitempty"`
				Default bool     `json:"default,omitempty"`
				Params  []param  `json:"params"`
			}
			var list []entry
			for _, a := range algorithms.List() {
				e := entry{Name: a.Name, Summary: a.Summary, Aliases: a.Aliases, Default: a.Default}
				for _, p := range a.Params {
					e.Params = append(e.Params, param(p))
				}
				list = append(list, e)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			for i, e := range list {
				if i > 0 {
					fmt.Fprintln(out)
				}
				mark := ""
				if e.Default {
					mark = " (the default)"
				}
				fmt.Fprintf(out, "%s%s — %s\n", e.Name, mark, e.Summary)
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				for _, p := range e.Params {
					def := p.Default
					if def == "" {
						def = "required"
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, def, p.Doc)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}
