# shellcheck shell=bash
# PostgreSQL from Debian's postgresql package, the catalog database of the DuckLake lake: a private
# cluster run as a plain process on 127.0.0.1:$POSTGRES_PORT, TCP only, its data in the state
# folder. Debian's own cluster (the service the package may start on 5432) is never used or touched.
#
# initdb and postgres refuse to run as root: under root the cluster belongs to and runs as Debian's
# unprivileged `postgres` user. Authentication is `trust` on loopback, for the local stack only
# (docker compose and real deployments use a password).

POSTGRES_SUPERUSER="lake"
POSTGRES_DB="cryptolake"
POSTGRES_DIR="$STATE_DIR/postgres"
POSTGRES_DATA="$POSTGRES_DIR/data"
POSTGRES_LOG="$LOG_DIR/postgres.log"
POSTGRES_LIB="/usr/lib/postgresql"
# The command prefix that runs a program as the cluster's owner: `postgres` under root (setpriv
# execs in place, so a spawned server keeps the recorded pid), the caller otherwise.
if [[ "$(id -u)" == 0 ]]; then
  POSTGRES_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
else
  POSTGRES_AS=()
fi

# postgres_catalog : DuckLake's metadata connection string for this cluster, minus `ducklake:`.
postgres_catalog() {
  printf 'postgres:dbname=%s host=127.0.0.1 port=%s user=%s' "$POSTGRES_DB" "$POSTGRES_PORT" "$POSTGRES_SUPERUSER"
}

# postgres_bin_dir : prints the bin folder of the PostgreSQL major that owns the data folder, or of
# the newest installed major when there is no cluster yet; returns 1 when none is installed.
postgres_bin_dir() {
  local major
  if [[ -f "$POSTGRES_DATA/PG_VERSION" ]]; then
    major="$(cat "$POSTGRES_DATA/PG_VERSION")"
  else
    major="$(find "$POSTGRES_LIB" -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
      awk -F/ '{print $(NF - 2)}' | sort -n | tail -n 1)"
  fi
  [[ -n "$major" && -x "$POSTGRES_LIB/$major/bin/postgres" ]] || return 1
  printf '%s' "$POSTGRES_LIB/$major/bin"
}

# postgres_install : the server binaries are installed (Debian's postgresql with apt-get, after
# an update, when missing; needs root). A version kept in an existing data folder must be there.
postgres_install() {
  if [[ -f "$POSTGRES_DATA/PG_VERSION" ]] && ! postgres_bin_dir >/dev/null; then
    die "postgres: $POSTGRES_DATA was made by PostgreSQL $(cat "$POSTGRES_DATA/PG_VERSION"), which is not installed;" \
      "install it or delete the data with 'down --purge'"
  fi
  postgres_bin_dir >/dev/null && return 0
  need apt-get "install Debian's postgresql package by hand"
  with_progress "installing postgresql with apt-get" "$LOG_DIR/postgres-install.log" \
    bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q postgresql'
  postgres_bin_dir >/dev/null || die "postgres: apt-get installed no server under $POSTGRES_LIB/<major>/bin"
}

# postgres_reach : under root, the postgres user can enter $POSTGRES_DIR (which exists). A folder
# on the way that is closed to it (root's home is 0700) gets an ACL entry that lets that one user
# pass through (x), nothing more: no listing, no reading.
postgres_reach() {
  [[ "$(id -u)" == 0 ]] || return 0
  local dir="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${POSTGRES_DIR#/}"
  for part in "${parts[@]}"; do
    dir="$dir/$part"
    "${POSTGRES_AS[@]}" test -x "$dir" && continue
    if ! command -v setfacl >/dev/null 2>&1; then
      with_progress "installing acl with apt-get" "$LOG_DIR/postgres-install.log" \
        bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q acl'
    fi
    log "letting the postgres user pass through $dir (ACL u:postgres:x) to reach its data folder"
    setfacl -m u:postgres:x "$dir"
  done
}

# postgres_init : the data folder holds a cluster (initdb, once) owned by the server's user, with
# the superuser $POSTGRES_SUPERUSER and trust authentication.
postgres_init() {
  [[ -f "$POSTGRES_DATA/PG_VERSION" ]] && return 0
  local bin
  bin="$(postgres_bin_dir)"
  # A folder without PG_VERSION is an initdb that did not finish: start over.
  rm -rf "$POSTGRES_DATA"
  mkdir -m 700 "$POSTGRES_DATA"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres:postgres "$POSTGRES_DATA"
  fi
  log "creating a PostgreSQL $("$bin/postgres" --version | awk '{print $3}') cluster in $POSTGRES_DATA"
  "${POSTGRES_AS[@]}" "$bin/initdb" -D "$POSTGRES_DATA" -U "$POSTGRES_SUPERUSER" -A trust -E UTF8 --locale=C.UTF-8 \
    >>"$POSTGRES_LOG" 2>&1 || fail_with_log "postgres: initdb failed" "$POSTGRES_LOG"
}

# postgres_psql ARGS... : psql as the superuser against this cluster, quiet, no ~/.psqlrc.
postgres_psql() {
  PGCONNECT_TIMEOUT=3 "$(postgres_bin_dir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$POSTGRES_PORT" \
    -U "$POSTGRES_SUPERUSER" "$@"
}

# postgres_running : the recorded postgres server process is alive.
postgres_running() {
  pid_of postgres "-D $POSTGRES_DATA" >/dev/null
}

# postgres_healthy : the server accepts the superuser and answers a query.
postgres_healthy() {
  postgres_psql -d postgres -tAc 'select 1' >/dev/null 2>&1
}

# postgres_start : a postgres server process is running (started if needed); does not wait for
# health. Fails if the port is held by a process that is not ours.
postgres_start() {
  postgres_running && return 0
  port_open "$POSTGRES_PORT" && die "postgres: 127.0.0.1:$POSTGRES_PORT is already in use by another process"
  postgres_install
  mkdir -p "$POSTGRES_DIR"
  postgres_reach
  postgres_init
  log "starting PostgreSQL on 127.0.0.1:$POSTGRES_PORT"
  # No Unix socket: clients connect over TCP, and no socket folder is shared with Debian's cluster.
  spawn postgres "$POSTGRES_LOG" "${POSTGRES_AS[@]}" "$(postgres_bin_dir)/postgres" -D "$POSTGRES_DATA" \
    -p "$POSTGRES_PORT" -c listen_addresses=127.0.0.1 -c unix_socket_directories=
}

# postgres_wait : blocks until PostgreSQL is healthy and the database $POSTGRES_DB exists, or
# exits with the log tail.
postgres_wait() {
  wait_healthy postgres postgres_healthy "$POSTGRES_LOG"
  postgres_ensure_database
}

# postgres_ensure_database : the database $POSTGRES_DB exists.
postgres_ensure_database() {
  if [[ "$(postgres_psql -d postgres -tAc "select 1 from pg_database where datname = '$POSTGRES_DB'")" == 1 ]]; then
    return 0
  fi
  postgres_psql -d postgres -c "create database $POSTGRES_DB" 2>>"$POSTGRES_LOG" ||
    fail_with_log "postgres: creating database $POSTGRES_DB failed" "$POSTGRES_LOG"
  log "created database $POSTGRES_DB"
}

# postgres_stop : no postgres server process is running. SIGINT is PostgreSQL's fast shutdown:
# clients are disconnected and a checkpoint written (SIGTERM would wait for every client to leave).
postgres_stop() {
  stop_pid postgres "-D $POSTGRES_DATA" 60 INT
}
