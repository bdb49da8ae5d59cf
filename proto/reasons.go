package cohortpb

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// ReasonPeerUnreachable is the ErrorInfo reason of a scatter step that
// could not hand its parts to a bucket's holder; the metadata key "peer"
// is that worker's gRPC address. The worker that ran the step is not at
// fault: the coordinator moves the buckets off the peer and runs the
// shuffle again. Workers and coordinators both use it, and both import
// this package.
const ReasonPeerUnreachable = "SHUFFLE_PEER_UNREACHABLE"

// ReasonNotLeader marks, in a status's ErrorInfo, a write sent to a
// follower; the "leader" metadata key holds the leader's client API
// address. Clients follow it, and so does a coordinator joining a cluster.
const ReasonNotLeader = "NOT_LEADER"

// LeaderHint returns the leader address a NOT_LEADER error carries, or "".
func LeaderHint(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason == ReasonNotLeader {
			return info.Metadata["leader"]
		}
	}
	return ""
}
