#!/usr/bin/env bash
# Runs the ccxt conformance suite against the real `exchange` binary: a virtual environment
# with the pinned requirements (cached under target/ccxt-venv, rebuilt when requirements.txt
# changes or the venv is broken), then pytest. Arguments go to pytest (e.g. -k watch).
# EXCHANGE_BINARY overrides the binary (default: target/debug/exchange; build it first).
set -euo pipefail
suite="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$suite/../../target}"
venv="${CCXT_VENV:-$target/ccxt-venv}"
requirements_hash=$(sha256sum "$suite/requirements.txt" | cut -d' ' -f1)

if [ "$(cat "$venv/requirements.sha256" 2>/dev/null)" != "$requirements_hash" ] \
  || ! "$venv/bin/python" -c 'import ccxt.pro, pytest_asyncio, pytest_timeout' 2>/dev/null; then
  echo "ccxt suite: building $venv from requirements.txt" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$suite/requirements.txt"
  echo "$requirements_hash" >"$venv/requirements.sha256"
fi

# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
export EXCHANGE_BINARY="${EXCHANGE_BINARY:-$target/debug/exchange}"
cd "$suite"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
