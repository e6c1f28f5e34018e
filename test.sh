#!/usr/bin/env bash
# The test suite: every package with the race detector, including the
# CI-sized stress matrix and the benchmark smoke run. STRESS_LONG=1 runs
# the long stress matrix instead (see README).
set -euo pipefail
cd "$(dirname "$0")"
go test -race -timeout 18m "$@" ./...
