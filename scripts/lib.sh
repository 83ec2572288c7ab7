# Shared settings for the scripts/ commands. Source it; do not run it.
#
# The private cluster lives in .salesflow/ (git-ignored): data/, run/ (the
# Unix socket), log/. PostgreSQL refuses to run as root, so when the scripts
# run as root (CI does) the server runs as the `postgres` system user that
# Debian's postgresql-common creates; the clients keep running as root.

SF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SF_HOME=${SALESFLOW_HOME:-$SF_ROOT/.salesflow}
SF_PGBIN=${SALESFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
SF_PORT=${SALESFLOW_PORT:-5499}
SF_DB=${SALESFLOW_DB:-salesflow}
export PGHOST=$SF_HOME/run
export PGPORT=$SF_PORT

if [ "$(id -u)" = 0 ]; then
    SF_SERVER_USER=postgres
else
    SF_SERVER_USER=$(id -un)
fi
export PGUSER=$SF_SERVER_USER
export PGDATABASE=$SF_DB

sf_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
sf_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as the server's user.
sf_as_server() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$SF_SERVER_USER" -- "$@"
    else
        "$@"
    fi
}

# Runs a command as root (directly, or through sudo).
sf_as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        sf_die "need root for: $*"
    fi
}

sf_psql() { "$SF_PGBIN/psql" -X -v ON_ERROR_STOP=1 "$@"; }

# Real public data sets beside the checkout (tests and benchmarks read them).
SALESFLOW_DATA_DIR=${SALESFLOW_DATA_DIR:-$(cd "$SF_ROOT/../shared/data" 2>/dev/null && pwd || echo "$SF_ROOT/../shared/data")}
export SALESFLOW_DATA_DIR
export SALESFLOW_REPO_DIR=$SF_ROOT

# TAP output of the check scripts (scripts/upgrade-check, scripts/package):
# `sf_tap STATUS DESCRIPTION` prints "ok N - ..." (STATUS 0) or "not ok N - ...";
# `sf_tap_done` prints the plan and returns non-zero if any check failed.
sf_tap_n=0
sf_tap_failed=0
sf_tap() {
    sf_tap_n=$((sf_tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $sf_tap_n - $2"
    else
        echo "not ok $sf_tap_n - $2"; sf_tap_failed=$((sf_tap_failed + 1))
    fi
}
sf_tap_done() { echo "1..$sf_tap_n"; [ "$sf_tap_failed" -eq 0 ]; }
