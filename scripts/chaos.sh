#!/usr/bin/env bash
# The chaos runner (docs/RELIABILITY.md, "Chaos"): builds the test build of the workspace's
# binaries (the exchange with its fault route) and runs `chaos` with the arguments given, e.g.
#   scripts/chaos.sh --services --faults kill9=20,rabbitmq=5,postgres=3,stall=5,leader-pause=5
# Loopback only, bounded; exits non-zero on any violated invariant.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --workspace --bins
exec target/debug/chaos "$@"
