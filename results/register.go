package results

import "github.com/cohort/cohort/algorithms"

func init() { algorithms.RegisterSteps("results", Codec{}) }
