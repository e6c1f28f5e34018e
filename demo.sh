#!/usr/bin/env bash
# The quick start: the logfanin sidecar supervises a pool of worker
# processes that log through zap over its socket and its pipe, then every
# output file is read back and each record checked.
#
#   WORKERS=8 RECORDS=10000 ./demo.sh
set -euo pipefail
cd "$(dirname "$0")"
workers=${WORKERS:-4}
records=${RECORDS:-3000}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./cmd/logfanin ./examples/workerpool

rm -rf demo && mkdir demo
set -x
"$bin/logfanin" -out demo/app.log -max-size 10 -- \
	"$bin/workerpool" -workers "$workers" -records "$records"
{ set +x; } 2>/dev/null
"$bin/workerpool" -verify demo/app.log -workers "$workers" -records "$records"
