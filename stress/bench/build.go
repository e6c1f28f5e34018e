package bench

import sidecarbuild "github.com/logfanin/logfanin/stress/internal/sidecar"

// ModuleRoot returns the directory of the logfanin module.
func ModuleRoot() (string, error) { return sidecarbuild.ModuleRoot() }

// BuildSidecar builds cmd/logfanin into dir and returns the binary's path.
func BuildSidecar(dir string) (string, error) { return sidecarbuild.Build(dir) }
