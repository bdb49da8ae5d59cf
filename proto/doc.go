// Package cohortpb holds the gRPC contract between clients, coordinators and
// workers, generated from cohort.proto by `make proto` and committed so a
// build never needs protoc.
package cohortpb
