# Shared by scripts/backup-db.sh and scripts/restore-db.sh (sourced, not run).

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# need COMMAND PACKAGE: installs the Debian PACKAGE when COMMAND is missing.
need() {
  command -v "$1" >/dev/null && return 0
  echo "$(basename "$0"): installing $2" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# sqlite_path URL: sqlite://PATH?options -> PATH (as the exchange reads it: relative paths from
# the working directory, sqlite:///abs for absolute ones).
sqlite_path() { local rest=${1#sqlite://}; echo "${rest%%\?*}"; }
