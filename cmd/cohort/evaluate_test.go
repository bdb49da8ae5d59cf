package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort/cohort/client"
)

const mallCSV = "../../../shared/data/mall_customers/Mall_Customers.csv"

// scikit-learn's scores of its own k-means labels of Mall Customers
// (testdata/mall_labels.py prints them).
const (
	mallSilhouette     = 0.553931997444648
	mallManhattan      = 0.5781134578841731
	mallCalinski       = 247.35899338037282
	mallDaviesBouldin  = 0.5725628995597082
	mallLabelsFilePath = "testdata/mall_labels.csv"
)

func evaluated(t *testing.T, args ...string) *client.Summary {
	t.Helper()
	stdout, stderr, err := cli(t, append([]string{"evaluate"}, args...)...)
	if err != nil {
		t.Fatalf("cohort evaluate %v: %v: %s", args, err, stderr)
	}
	var s client.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil || s.Evaluation == nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	return &s
}

// cohort evaluate scores scikit-learn's segmentation, in a file of its
// own keyed by customer, with scikit-learn's own numbers for it: the
// silhouette (Euclidean and Manhattan), Calinski-Harabasz and
// Davies-Bouldin to 1e-9; and a column of the data itself (Gender) as
// its two segments.
func TestEvaluateScoresAnotherToolsLabels(t *testing.T) {
	data, _ := filepath.Abs(mallCSV)
	labels, _ := filepath.Abs(mallLabelsFilePath)
	for distance, sil := range map[string]float64{"euclidean": mallSilhouette, "manhattan": mallManhattan} {
		spec := writeSpec(t, fmt.Sprintf("name: mall\ndata: {path: %s, id: CustomerID}\nprepare: {columns: [\"Annual Income (k$)\", \"Spending Score (1-100)\"], scale: none}\nevaluate: {distance: %s}\n", data, distance))
		s := evaluated(t, spec, "--labels", labels+":segment", "--id", "customer", "--workers", "2", "--json")
		e := s.Evaluation
		if s.K != 5 || e.Rows != 200 || e.Noise != 0 {
			t.Fatalf("%s: k=%d, %d rows, %d without a label", distance, s.K, e.Rows, e.Noise)
		}
		for name, v := range map[string][2]float64{"silhouette": {*e.Silhouette, sil}, "Calinski-Harabasz": {*e.CalinskiHarabasz, mallCalinski}, "Davies-Bouldin": {*e.DaviesBouldin, mallDaviesBouldin}} {
			if math.Abs(v[0]-v[1]) > 1e-9*math.Abs(v[1]) {
				t.Errorf("%s: %s %.15g, scikit-learn %.15g", distance, name, v[0], v[1])
			}
		}
	}

	spec := writeSpec(t, fmt.Sprintf("name: mall\ndata: {path: %s, id: CustomerID}\nprepare: {columns: [\"Annual Income (k$)\", \"Spending Score (1-100)\"]}\n", data))
	stdout, stderr, err := cli(t, "evaluate", spec, "--labels", data+":Gender")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if !strings.Contains(stdout, "labels in column Gender scored, not fitted (segments 0 = Female, 1 = Male)") || !strings.Contains(stdout, "silhouette") {
		t.Fatalf("the data's own column:\n%s", stdout)
	}
}

// Labels that cannot be scored are refused with the reason.
func TestEvaluateBadLabels(t *testing.T) {
	data, _ := filepath.Abs(mallCSV)
	labels, _ := filepath.Abs(mallLabelsFilePath)
	spec := writeSpec(t, fmt.Sprintf("data: {path: %s, id: CustomerID}\nprepare: {columns: [Age]}\n", data))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{spec, "--labels", labels}, "--labels must be FILE:COLUMN"},
		{[]string{spec, "--labels", labels + ":cluster", "--id", "customer"}, `has no column "cluster" (it has customer, segment)`},
		{[]string{spec, "--labels", labels + ":segment"}, `has no column "CustomerID" (it has customer, segment)`},
		{[]string{spec, "--labels", data + ":CustomerID"}, "is data.id: the labels must be a column of their own"},
		{[]string{spec, "--labels", data + ":Age"}, `prepare.columns includes "Age", the labels`},
		{[]string{spec, "--labels", data + ":Age", "--id", "x"}, "evaluate.labels.id names the customer column of a labels file of its own"},
		{[]string{writeSpec(t, fmt.Sprintf("data: {path: %s, id: CustomerID}\nevaluate: {holdout: 0.2}\n", data)), "--labels", labels + ":segment"}, "stability and holdout do not apply"},
		{[]string{writeSpec(t, "data: {synthetic: {rows: 100, dims: 2, clusters: 2}}\n"), "--labels", labels + ":segment"}, "not synthetic data"},
		{[]string{spec, "--labels", data + ":Colour"}, `Mall_Customers.csv has no column "Colour" (it has CustomerID, Gender`},
	} {
		_, stderr, err := cli(t, append([]string{"evaluate"}, c.args...)...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("cohort evaluate %v: %v, %q; want %q", c.args[1:], err, stderr, c.want)
		}
	}
}
