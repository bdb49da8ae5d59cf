package cohortpb

// ReasonPeerUnreachable is the ErrorInfo reason of a scatter step that
// could not hand its parts to a bucket's holder; the metadata key "peer"
// is that worker's gRPC address. The worker that ran the step is not at
// fault: the coordinator moves the buckets off the peer and runs the
// shuffle again. Workers and coordinators both use it, and both import
// this package.
const ReasonPeerUnreachable = "SHUFFLE_PEER_UNREACHABLE"
