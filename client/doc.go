// Package client is the Go client of a Cohort coordinator: it dials, follows
// a follower's NOT_LEADER hint to the leader for writes, and watches a job to
// its end. The CLI and the embedded mode both use it, so the embedded cluster
// is driven through exactly the API a remote one is.
package client
