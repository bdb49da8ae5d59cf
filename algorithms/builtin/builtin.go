// Package builtin registers everything this build can run: each
// algorithm, and the data preparation, feature and result steps the
// stages of a job use. Importing it is how a binary, or a test, gets the
// registry filled; adding an algorithm to the build is one line here.
package builtin

import (
	_ "github.com/cohort/cohort/algorithms/evaluate"
	_ "github.com/cohort/cohort/algorithms/features"
	_ "github.com/cohort/cohort/algorithms/kmeans"
	_ "github.com/cohort/cohort/algorithms/prepare"
	_ "github.com/cohort/cohort/results"
)
