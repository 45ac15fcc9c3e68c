#!/usr/bin/env bash
# Makes sure the local services the integration tests talk to are up: PostgreSQL
# (127.0.0.1:5432, trust auth, database `test`), RabbitMQ (127.0.0.1:5672, guest/guest) and
# Redis (127.0.0.1:6379). Starts a stopped one; installs a missing one with apt-get.
# Idempotent and quiet when everything already runs.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    port_open "$port" && return 0
    sleep 1
  done
  echo "services: $name did not open port $port within 60 s" >&2
  return 1
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  echo "services: installing $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

start_service() {
  as_root service "$1" start >/dev/null 2>&1 || as_root systemctl start "$1" >/dev/null 2>&1 || true
}

ensure_postgres() {
  if ! port_open 5432; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    start_service postgresql
    wait_for_port PostgreSQL 5432
  fi
  # Trust auth on 127.0.0.1 is the machine's convention; make sure the `test` database exists.
  if ! psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test' >/dev/null 2>&1 ||
      as_root -u postgres psql -qc 'CREATE DATABASE test' >/dev/null
  fi
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  start_service rabbitmq-server
  wait_for_port RabbitMQ 5672
}

ensure_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  start_service redis-server
  port_open 6379 || (redis-server --daemonize yes --save '' --bind 127.0.0.1 >/dev/null)
  wait_for_port Redis 6379
}

ensure_postgres
ensure_rabbitmq
ensure_redis
