// Package conns keeps one gRPC connection per node address, dialled with
// the options the cluster's nodes talk to each other with: messages up to
// a gigabyte, flow-control windows wide enough for partials and shuffle
// parts of megabytes, and keepalive pings that notice a host that died
// without closing its connections. Coordinators use it to reach workers
// and each other, workers to reach their peers and the coordinators.
package conns
