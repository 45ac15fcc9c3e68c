#!/usr/bin/env bash
# Validates the shipped monitoring configuration with Prometheus' own checker: the scrape
# configuration (`promtool check config`, which also checks the rule files it names) and the
# alert rules (`promtool check rules`). Installs promtool (Debian package `prometheus`) with
# apt-get when it is missing, so CI needs no manual step. The Grafana dashboards are parsed,
# and every metric they and the rules query checked exported by a running server, in
# integration-tests/tests/metrics_catalogue.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v promtool >/dev/null; then
  echo "monitoring: installing promtool (Debian package prometheus)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # --no-install-recommends: promtool only, not the exporters; the service it ships is not
  # started in containers (no systemd) and is not needed.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus >/dev/null
fi

promtool check config config/prometheus/prometheus.yml
promtool check rules config/prometheus/alerts.yml
# Each threshold fires above its value and stays quiet below it.
promtool test rules config/prometheus/alerts_test.yml
