#!/usr/bin/env bash
# The local service stack of cryptolake without Docker: Kafka (KRaft, one node),
# MinIO, Redis and PostgreSQL (the lake's catalog) as plain processes, plus the
# DuckDB CLI with httpfs.
#
#   bash infra/local/stack.sh up                  install what is missing, start, wait for health
#   bash infra/local/stack.sh down [--purge]      stop all; --purge also deletes the data
#   bash infra/local/stack.sh status              one line per service
#   bash infra/local/stack.sh start-service|stop-service|restart-service kafka|minio|redis|postgres
#
# `up` prints only NAME=value lines on stdout, for `eval "$(bash infra/local/stack.sh up)"`;
# progress and errors go to stderr. It is idempotent: running, healthy services are left alone.
#
# Environment:
#   CRYPTOLAKE_CACHE  downloads, builds, venv     (default ~/.cache/cryptolake)
#   CRYPTOLAKE_STATE  data, logs, pid files       (default ~/.local/state/cryptolake)
#   KAFKA_PORT (19092; controller on +1), MINIO_PORT (19000; console on +1), REDIS_PORT (16379),
#   POSTGRES_PORT (15432)
#   STACK_TIMEOUT_S   seconds to wait for each service to become healthy (120)
set -euo pipefail

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "$INFRA_DIR/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$INFRA_DIR/lib/kafka.sh"
# shellcheck source=lib/minio.sh
source "$INFRA_DIR/lib/minio.sh"
# shellcheck source=lib/redis.sh
source "$INFRA_DIR/lib/redis.sh"
# shellcheck source=lib/postgres.sh
source "$INFRA_DIR/lib/postgres.sh"
# shellcheck source=lib/duckdb.sh
source "$INFRA_DIR/lib/duckdb.sh"

# usage : prints the help on stderr and exits 2.
usage() {
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# take_lock : only one invocation of this script changes the stack at a time
# (parallel test runners may all call `up`). Spawned services close the lock fd.
take_lock() {
  exec 9>"$STATE_DIR/stack.lock"
  flock 9
}

# install_all : every binary and jar is in the cache. The MinIO build, by far the
# slowest step, runs in the background while the others install.
install_all() {
  local build_pid=""
  if ! minio_installed; then
    minio_install &
    build_pid=$!
  fi
  kafka_install
  redis_install
  postgres_install
  duckdb_install
  if [[ -n "$build_pid" ]]; then
    wait "$build_pid" || die "building MinIO failed (see above)"
  fi
}

# print_env : the connection settings, as NAME=value lines on stdout.
print_env() {
  env_line KAFKA_BROKERS "127.0.0.1:$KAFKA_PORT"
  env_line S3_ENDPOINT "http://127.0.0.1:$MINIO_PORT"
  env_line S3_BUCKET "$MINIO_BUCKET"
  env_line S3_REGION "$MINIO_REGION"
  env_line AWS_ACCESS_KEY_ID "$MINIO_USER"
  env_line AWS_SECRET_ACCESS_KEY "$MINIO_PASSWORD"
  env_line REDIS_URL "redis://127.0.0.1:$REDIS_PORT"
  env_line LAKE_CATALOG "$(postgres_catalog)"
  env_line POSTGRES_PORT "$POSTGRES_PORT"
  env_line DUCKDB_CLI "$DUCKDB_CLI"
  env_line DUCKDB_EXTENSION_DIR "$DUCKDB_EXTENSION_DIR"
  env_line KAFKA_CLASSPATH "$KAFKA_LIB/*"
}

# cmd_up : all services run and are healthy, then the settings are printed.
cmd_up() {
  local start=$SECONDS service
  install_all
  for service in "${SERVICES[@]}"; do "${service}_start"; done
  for service in "${SERVICES[@]}"; do "${service}_wait"; done
  log "stack is up ($((SECONDS - start))s); logs in $LOG_DIR"
  print_env
}

# cmd_down [--purge] : no service runs; with --purge the state folder is gone too.
cmd_down() {
  local service purge="${1:-}"
  [[ -z "$purge" || "$purge" == --purge ]] || usage
  for service in "${SERVICES[@]}"; do "${service}_stop"; done
  if [[ -n "$purge" ]]; then
    case "$STATE_DIR" in
      "" | / | "$HOME" | "$HOME/") die "refusing to purge state folder '$STATE_DIR'" ;;
    esac
    log "deleting $STATE_DIR"
    rm -rf "$STATE_DIR"
  fi
  log "stack is down"
}

# cmd_status : one line per service on stdout: name, running/stopped, address.
cmd_status() {
  local service state
  local -A address=([kafka]="127.0.0.1:$KAFKA_PORT" [minio]="http://127.0.0.1:$MINIO_PORT"
    [redis]="redis://127.0.0.1:$REDIS_PORT" [postgres]="postgres://$POSTGRES_SUPERUSER@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DB")
  for service in "${SERVICES[@]}"; do
    if "${service}_running"; then state=running; else state=stopped; fi
    printf '%-8s %-8s %s\n' "$service" "$state" "${address[$service]}"
  done
}

# check_service NAME : exits with usage unless NAME is one of the services.
check_service() {
  [[ " ${SERVICES[*]} " == *" ${1:-} "* ]] || {
    printf 'unknown service %s (expected one of: %s)\n' "'${1:-}'" "${SERVICES[*]}" >&2
    exit 2
  }
}

# service_command ACTION NAME : start, stop or restart one service; a start
# waits until the service is healthy.
service_command() {
  check_service "$2"
  take_lock
  case "$1" in
    start) "$2_start" ;;
    stop) "$2_stop" ;;
    restart) "$2_stop"; "$2_start" ;;
  esac
  [[ "$1" == stop ]] || "$2_wait"
}

# main COMMAND ARGS... : dispatches to the subcommands above. (No `a && b`
# chains: bash ignores `set -e` inside functions called on the left of &&.)
main() {
  local command="${1:-}"
  shift || true
  ensure_dirs
  case "$command" in
    up) take_lock; cmd_up ;;
    down) take_lock; cmd_down "$@" ;;
    status) cmd_status ;;
    start-service | stop-service | restart-service) service_command "${command%-service}" "${1:-}" ;;
    *) usage ;;
  esac
}

main "$@"
