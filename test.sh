#!/usr/bin/env bash
# The test suite: every package of the library module and of the stress
# module (a module of its own, so that the benchmark's plotting stays out
# of the library's go.mod; go.work puts both in one workspace), with the
# race detector, including the CI-sized stress matrix and the benchmark
# smoke run. STRESS_LONG=1 runs the long stress matrix instead (see
# README). Then the end-to-end tests of -forward against the
# OpenTelemetry Collector's OTLP receiver: e2e/ is a module of its own,
# outside the workspace, so that neither the library's go.mod nor the
# workspace carries the Collector. They run every time (-count=1): the
# binaries they test are built by the tests, which go test can't see.
set -euo pipefail
cd "$(dirname "$0")"
go test -race -timeout 18m "$@" ./... ./stress/...
(cd e2e && GOWORK=off go vet ./... && GOWORK=off go test -race -count=1 -timeout 10m ./...)
