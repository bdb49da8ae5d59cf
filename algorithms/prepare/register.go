package prepare

import (
	"encoding/json"
	"fmt"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

func init() {
	algorithms.RegisterSteps("prepare", Codec{})
	algorithms.RegisterBucket(KindDedup, func(parts [][]byte, schema []partition.Field, params json.RawMessage, columns []string) (*partition.Table, int64, error) {
		var p DedupParams
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, 0, fmt.Errorf("decode %s parameters: %w", KindDedup, err)
		}
		return DedupTable(parts, schema, p, columns)
	})
}
