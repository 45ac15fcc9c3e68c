#!/usr/bin/env bash
# Backs up the exchange's database to one file, while the exchange runs.
#
#   scripts/backup-db.sh DATABASE_URL BACKUP_FILE
#
# PostgreSQL (postgres://...): pg_dump in custom format (compressed; restore with
# scripts/restore-db.sh, which runs pg_restore). pg_dump reads one snapshot, so the backup is
# consistent while the exchange writes.
# SQLite (sqlite://PATH[?...]): sqlite3's online `.backup`, which copies a consistent state of
# the database, WAL included, while the exchange writes (a plain `cp` of a WAL-mode database is
# not consistent).
# Installs the client (postgresql-client or sqlite3) with apt-get when missing.
set -euo pipefail

usage() { echo "usage: $0 DATABASE_URL BACKUP_FILE" >&2; exit 2; }
[ $# -eq 2 ] || usage
url=$1 backup=$2

# shellcheck source=scripts/db-tools.sh
source "$(dirname "$0")/db-tools.sh"

case $url in
  postgres://* | postgresql://*)
    need pg_dump postgresql-client
    pg_dump --format=custom --no-owner --file="$backup" "$url"
    ;;
  sqlite://*)
    need sqlite3 sqlite3
    path=$(sqlite_path "$url")
    [ -f "$path" ] || { echo "backup: no SQLite database at $path" >&2; exit 1; }
    rm -f "$backup"
    sqlite3 "$path" ".timeout 30000" ".backup '$backup'"
    ;;
  *)
    echo "backup: unsupported database URL (postgres:// or sqlite://)" >&2
    exit 2
    ;;
esac
echo "backup: wrote $backup ($(wc -c <"$backup") bytes)"
