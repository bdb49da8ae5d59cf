//go:build noasm || !amd64

package kernels

func available() []impl { return []impl{generic} }

var active = generic
