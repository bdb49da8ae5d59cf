package coordinator

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/cohort/cohort/proto"
)

// ErrInvalidSpec marks a job spec the coordinator refused.
var ErrInvalidSpec = errors.New("invalid job spec")

// ErrNoResult means the job has not succeeded (yet).
var ErrNoResult = errors.New("job has no result")

// toStatus maps package errors to gRPC status codes, in one place.
func (n *Node) toStatus(err error) error {
	if err == nil {
		return nil
	}
	var code codes.Code
	switch {
	case errors.Is(err, ErrNotLeader):
		st := status.New(codes.FailedPrecondition, err.Error())
		if addr := n.leaderGRPCAddr(); addr != "" {
			if d, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: pb.ReasonNotLeader, Domain: "cohort", Metadata: map[string]string{"leader": addr}}); derr == nil {
				return d.Err()
			}
		}
		return st.Err()
	case errors.Is(err, ErrJobNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrInvalidSpec):
		code = codes.InvalidArgument
	case errors.Is(err, ErrJobTerminal), errors.Is(err, ErrNoResult):
		code = codes.FailedPrecondition
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	default:
		code = codes.Internal
	}
	return status.Error(code, err.Error())
}
