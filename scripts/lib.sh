# Shared settings for the scripts/ commands. Source it; do not run it.
#
# The private cluster (data/, run/ with the Unix socket, log/, test-files/)
# lives in .salesflow/ of the checkout (git-ignored). PostgreSQL refuses to
# run as root, so when the scripts run as root (CI does) the server runs as
# the `postgres` system user that Debian's postgresql-common creates; the
# clients keep running as root. When that user cannot enter the checkout (a
# clone in /root, mode 700), the cluster lives in
# /var/lib/salesflow/<hash of the checkout path> instead, owned by postgres.
# Test logs and other client output stay in the checkout (.salesflow/).
#
# The port: SALESFLOW_PORT if given (when it is taken, `scripts/cluster
# start` fails naming what holds it); otherwise the port the cluster was last
# started on, first 5499; when that is taken, `scripts/cluster start` moves
# the cluster to the next free port and remembers it in the cluster's
# postgresql.conf, where `scripts/cluster env/psql` find it again.

SF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SF_PGBIN=${SALESFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
SF_DB=${SALESFLOW_DB:-salesflow}
SF_DEFAULT_PORT=5499
SF_PORT_RANGE=100          # ports tried from the default when it is taken
# What the clients write (test logs, the package, upgrade-check output) stays
# in the checkout even when the cluster lives elsewhere.
SF_WORK=$SF_ROOT/.salesflow
SF_LOGS=$SF_WORK/test-logs

if [ "$(id -u)" = 0 ]; then
    SF_SERVER_USER=postgres
else
    SF_SERVER_USER=$(id -un)
fi

sf_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
sf_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as the server's user (as root: from /, since that user may
# not be able to enter the current directory; pass absolute paths).
sf_as_server() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$SF_SERVER_USER" -- "$@")
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

# The cluster directory: SALESFLOW_HOME, else .salesflow/ in the checkout when
# the server user can enter the checkout (or a cluster is already there), else
# a directory of its own under /var/lib/salesflow.
sf_cluster_home() {
    local local_home=$SF_ROOT/.salesflow
    if [ -n "${SALESFLOW_HOME:-}" ]; then echo "$SALESFLOW_HOME"; return; fi
    if [ "$(id -u)" != 0 ] || [ -f "$local_home/data/PG_VERSION" ] ||
       ! id "$SF_SERVER_USER" >/dev/null 2>&1 ||    # before scripts/deps created it
       runuser -u "$SF_SERVER_USER" -- test -x "$SF_ROOT" 2>/dev/null; then
        echo "$local_home"
    else
        echo "/var/lib/salesflow/$(printf '%s' "$SF_ROOT" | sha256sum | cut -c1-12)"
    fi
}
SF_HOME=$(sf_cluster_home)

# The port in the cluster's postgresql.conf (empty before initdb).
sf_conf_port() {
    [ -f "$SF_HOME/data/postgresql.conf" ] || return 0
    sed -n 's/^port = \([0-9][0-9]*\).*/\1/p' "$SF_HOME/data/postgresql.conf" | tail -n 1
}

if [ -n "${SALESFLOW_PORT:-}" ]; then
    SF_PORT=$SALESFLOW_PORT
    SF_PORT_GIVEN=1
else
    SF_PORT=$(sf_conf_port)
    SF_PORT=${SF_PORT:-$SF_DEFAULT_PORT}
    SF_PORT_GIVEN=
fi

# Prints what holds port $1 other than this cluster and succeeds, or fails
# when the port is free: a TCP listener (any address), or another
# PostgreSQL server's Unix socket .s.PGSQL.<port> (another checkout's
# cluster, the system's cluster in /var/run/postgresql).
sf_port_conflict() {
    local port=$1 hex found=1 line who
    hex=$(printf '%04X' "$port")
    if awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
        who=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 |
              sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/\1, pid \2/')
        echo "a TCP listener on port $port${who:+ ($who)}"
        found=0
    fi
    while read -r line; do
        [ "$line" = "$SF_HOME/run/.s.PGSQL.$port" ] && continue
        echo "the PostgreSQL socket $line"
        found=0
    done < <(awk -v s="/.s.PGSQL.$port" 'substr($NF, length($NF) - length(s) + 1) == s { print $NF }' /proc/net/unix 2>/dev/null | sort -u)
    return $found
}

# The first port from $1 on that nothing holds (empty when none in range).
sf_free_port() {
    local p
    for ((p = $1; p < $1 + SF_PORT_RANGE; p++)); do
        if ! sf_port_conflict "$p" >/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

export PGHOST=$SF_HOME/run
export PGPORT=$SF_PORT
export PGUSER=$SF_SERVER_USER
export PGDATABASE=$SF_DB

# Test inputs the server itself reads (pg_regress COPY, pgTAP import_file /
# pg_read_file): scripts/cluster start copies test/data (decompressed),
# test/fixtures and dashboards/ here, where the server user can read them.
export SALESFLOW_TEST_FILES=$SF_HOME/test-files
# Real public data sets beside the checkout: optional, for benchmarks only.
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
