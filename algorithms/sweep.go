package algorithms

import "fmt"

// Sweep is a Config that stands for several candidate segmentations, one
// per value of the parameter that sets their number (k), because the
// spec gave a range or a list: a job fits each candidate and keeps the
// one a rule chooses (algorithms/choose). Its own New and Resume refuse:
// a sweep is fitted only through the candidates.
type Sweep interface {
	Config
	Candidates() []Candidate
}

// Candidate is one segmentation of a sweep: the number of segments it
// asks for, and its configuration.
type Candidate struct {
	K      int
	Config Config
}

// ErrSweep is what a Sweep's New and Resume return.
var ErrSweep = fmt.Errorf("a range of k is fitted one candidate at a time by choosing among them (algorithms/choose)")
