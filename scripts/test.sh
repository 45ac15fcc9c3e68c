#!/usr/bin/env bash
# Runs every test of the workspace with nextest: unit, property, replay and black-box tests.
# Later tests that need PostgreSQL, RabbitMQ or Redis get them from scripts/services.sh here.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "cargo-nextest is missing; installing it from crates.io" >&2
  cargo install --locked cargo-nextest
fi

cargo nextest run --workspace --locked --no-fail-fast "$@"
