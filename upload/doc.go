// Package upload keeps data files that a client sent to the cluster because
// the nodes cannot see its disk. A file is named by its content,
// upload://SHA256/NAME, and stored under that name in a node's upload
// directory; a node that lacks it fetches it from a coordinator that has
// it and checks the hash. Coordinators and workers both use it, which is
// why it is a package of its own.
package upload
