// Package gossip sets up memberlist for coordinators and workers and defines
// the metadata a node advertises, so both sides agree on one encoding.
package gossip
