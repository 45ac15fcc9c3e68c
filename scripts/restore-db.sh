#!/usr/bin/env bash
# Restores a backup made by scripts/backup-db.sh into an EMPTY database; the exchange started
# on it afterwards rebuilds its books and account shards from the restored journal.
#
#   scripts/restore-db.sh BACKUP_FILE DATABASE_URL
#
# PostgreSQL: pg_restore into the (created, empty) database DATABASE_URL names, in one
# transaction: a failed restore leaves it empty. SQLite: the file PATH of sqlite://PATH must
# not exist yet; sqlite3 `.restore` writes it. Refuses a target that already holds tables, so
# a live database is never overwritten. Stop the exchange before restoring.
set -euo pipefail

usage() { echo "usage: $0 BACKUP_FILE DATABASE_URL" >&2; exit 2; }
[ $# -eq 2 ] || usage
backup=$1 url=$2
[ -f "$backup" ] || { echo "restore: no backup file $backup" >&2; exit 1; }

# shellcheck source=scripts/db-tools.sh
source "$(dirname "$0")/db-tools.sh"

case $url in
  postgres://* | postgresql://*)
    need pg_restore postgresql-client
    tables=$(psql "$url" -qtAc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    if [ "$tables" != "0" ]; then
      echo "restore: the target database already has $tables tables; restore into an empty one" >&2
      exit 1
    fi
    pg_restore --no-owner --exit-on-error --single-transaction --dbname="$url" "$backup"
    ;;
  sqlite://*)
    need sqlite3 sqlite3
    path=$(sqlite_path "$url")
    if [ -s "$path" ]; then
      echo "restore: $path exists; restore into a new file" >&2
      exit 1
    fi
    mkdir -p "$(dirname "$path")"
    sqlite3 "$path" ".restore '$backup'" "PRAGMA integrity_check;" | grep -qx ok ||
      { echo "restore: $path fails sqlite's integrity check" >&2; exit 1; }
    ;;
  *)
    echo "restore: unsupported database URL (postgres:// or sqlite://)" >&2
    exit 2
    ;;
esac
echo "restore: $backup restored into the database"
