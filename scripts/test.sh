#!/usr/bin/env bash
# Runs every test of the workspace with nextest: unit, property, replay and black-box tests,
# the last against real PostgreSQL, RabbitMQ and Redis, which scripts/services.sh brings up;
# and first promtool's checks of the shipped Prometheus configuration and alert rules.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "cargo-nextest is missing; installing it from crates.io" >&2
  cargo install --locked cargo-nextest
fi

scripts/services.sh
scripts/check-monitoring.sh

# The black-box tests run the `exchange` binary; build it (and the other binaries) once, up
# front, with the features a plain build resolves, instead of inside the first test to need it.
cargo build --workspace --bins --locked
cargo nextest run --workspace --locked --no-fail-fast "$@"
