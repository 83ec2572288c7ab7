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

# A scratch cluster for checks that need a cluster nothing else has touched
# (no roles or databases left by other tests): initdb in a new directory under
# /tmp, reachable only through a socket in that directory (no TCP, so no port
# can clash). `sf_scratch_start PGBIN`, `sf_scratch_psql ARGS`, `sf_scratch_stop`
# (removes it); PGHOST/PGPORT for other clients: $SF_SCRATCH and 5432.
SF_SCRATCH=
SF_SCRATCH_BIN=
sf_scratch_start() {  # bin directory of the PostgreSQL to run
    SF_SCRATCH_BIN=$1
    SF_SCRATCH=$(mktemp -d /tmp/salesflow-scratch.XXXXXX) || return 1
    chmod 755 "$SF_SCRATCH"
    if [ "$(id -u)" = 0 ]; then chown "$SF_SERVER_USER" "$SF_SCRATCH"; fi
    sf_as_server "$SF_SCRATCH_BIN/initdb" -D "$SF_SCRATCH/data" -U "$SF_SERVER_USER" --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null &&
    sf_as_server "$SF_SCRATCH_BIN/pg_ctl" -D "$SF_SCRATCH/data" -l "$SF_SCRATCH/postgres.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$SF_SCRATCH' -c port=5432" start >/dev/null
}
sf_scratch_stop() {
    [ -n "$SF_SCRATCH" ] || return 0
    sf_as_server "$SF_SCRATCH_BIN/pg_ctl" -D "$SF_SCRATCH/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$SF_SCRATCH"
    SF_SCRATCH=
}
sf_scratch_psql() { "$SF_SCRATCH_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$SF_SCRATCH" -p 5432 -U "$SF_SERVER_USER" "$@"; }
