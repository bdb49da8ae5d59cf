package features

import (
	"encoding/json"
	"fmt"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

func init() {
	algorithms.RegisterSteps("features", Codec{})
	algorithms.RegisterBucket(KindCustomers, func(parts [][]byte, _ []partition.Field, params json.RawMessage, columns []string) (*partition.Table, int64, error) {
		var p CustomersParams
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, 0, fmt.Errorf("decode %s parameters: %w", KindCustomers, err)
		}
		t, err := BucketTable(parts, p, columns)
		return t, 0, err
	})
}
