#!/usr/bin/env bash
# The local service stack of cryptolake without Docker: Kafka (KRaft, one node),
# MinIO, Redis and PostgreSQL (the lake's catalog) as plain processes, plus the
# DuckDB CLI with the httpfs, ducklake, postgres_scanner and sqlite_scanner extensions.
#
#   bash infra/local/stack.sh up [--monitoring]   install what is missing, start, wait for health;
#                                                 --monitoring adds Prometheus (and Grafana when installed)
#   bash infra/local/stack.sh down [--purge]      stop all; --purge also deletes the data
#   bash infra/local/stack.sh status              one line per service
#   bash infra/local/stack.sh start-service|stop-service|restart-service kafka|minio|redis|postgres|prometheus|grafana
#   bash infra/local/stack.sh --help              this text
#
# `up` prints only `export NAME=value` lines on stdout, so that one line sets up a shell:
#   eval "$(npm run -s stack -- up)"
# Progress and errors go to stderr. `up` is idempotent: running, healthy services are left alone.
# A wrong command, flag or service name exits with status 2.
#
# Environment:
#   CRYPTOLAKE_CACHE  downloads, builds, venv     (default ~/.cache/cryptolake)
#   CRYPTOLAKE_STATE  data, logs, pid files       (default ~/.local/state/cryptolake)
#   KAFKA_PORT (19092; controller on +1), MINIO_PORT (19000; console on +1), REDIS_PORT (16379),
#   POSTGRES_PORT (15432), PROMETHEUS_PORT (19090), GRAFANA_PORT (13000)
#   PROMETHEUS_LAKE_QUERY_TARGET (127.0.0.1:8080), PROMETHEUS_SCRAPER_TARGET (127.0.0.1:9101),
#   PROMETHEUS_PROCESSOR_TARGET (127.0.0.1:9102), PROMETHEUS_SCRAPE_INTERVAL (15s): what Prometheus scrapes
#   GRAFANA_HOME      a Grafana installed by hand (no registry reachable here ships one)
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
# shellcheck source=lib/prometheus.sh
source "$INFRA_DIR/lib/prometheus.sh"
# shellcheck source=lib/grafana.sh
source "$INFRA_DIR/lib/grafana.sh"

# usage : prints the help (the comment at the top of this file) on stdout and exits 0.
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"
  exit 0
}

# bad_usage MESSAGE : prints MESSAGE and where the help is, as one line on stderr; exits 2.
bad_usage() {
  printf 'stack.sh: %s (see --help)\n' "$1" >&2
  exit 2
}

# no_more_args COMMAND [ARG...] : exits with bad_usage if COMMAND was given any argument.
no_more_args() {
  [[ $# -gt 1 ]] || return 0
  if [[ "$2" == -* ]]; then
    bad_usage "unknown flag '$2' for $1"
  fi
  bad_usage "unexpected argument '$2' for $1"
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

# print_env : the connection settings, as `export NAME=value` lines on stdout.
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

# cmd_up [--monitoring] : all services run and are healthy, then the settings are printed. With
# --monitoring, Prometheus too, and Grafana when one is installed (else a line says why not).
cmd_up() {
  local start=$SECONDS service monitoring=()
  if [[ "${1:-}" == --monitoring ]]; then
    monitoring=(prometheus)
    if grafana_binary >/dev/null; then monitoring+=(grafana); else log "not starting Grafana: $GRAFANA_MISSING"; fi
  fi
  install_all
  for service in "${SERVICES[@]}" "${monitoring[@]}"; do "${service}_start"; done
  for service in "${SERVICES[@]}" "${monitoring[@]}"; do "${service}_wait"; done
  log "stack is up ($((SECONDS - start))s); logs in $LOG_DIR"
  print_env
  for service in "${monitoring[@]}"; do
    case "$service" in
      prometheus) env_line PROMETHEUS_URL "http://127.0.0.1:$PROMETHEUS_PORT" ;;
      grafana) env_line GRAFANA_URL "http://127.0.0.1:$GRAFANA_PORT" ;;
    esac
  done
}

# cmd_down [--purge] : no service runs; with --purge the state folder is gone too.
cmd_down() {
  local service purge="${1:-}"
  for service in "${MONITORING_SERVICES[@]}" "${SERVICES[@]}"; do "${service}_stop"; done
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
    [redis]="redis://127.0.0.1:$REDIS_PORT" [postgres]="postgres://$POSTGRES_SUPERUSER@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DB"
    [prometheus]="http://127.0.0.1:$PROMETHEUS_PORT" [grafana]="http://127.0.0.1:$GRAFANA_PORT")
  for service in "${SERVICES[@]}"; do
    if "${service}_running"; then state=running; else state=stopped; fi
    printf '%-8s %-8s %s\n' "$service" "$state" "${address[$service]}"
  done
  # The monitoring services are listed while they run (they are optional).
  for service in "${MONITORING_SERVICES[@]}"; do
    "${service}_running" && printf '%-10s %-8s %s\n' "$service" running "${address[$service]}"
  done
  return 0
}

# check_service NAME : exits with bad_usage unless NAME is one of the services.
check_service() {
  [[ -n "${1:-}" ]] || bad_usage "no service given, expected one of: ${SERVICES[*]}"
  [[ " ${SERVICES[*]} ${MONITORING_SERVICES[*]} " == *" $1 "* ]] ||
    bad_usage "unknown service '$1', expected one of: ${SERVICES[*]} ${MONITORING_SERVICES[*]}"
}

# service_command ACTION NAME : start, stop or restart one service; a start
# waits until the service is healthy.
service_command() {
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
  local command="${1:-}" arg
  for arg in "$@"; do
    case "$arg" in -h | --help | help) usage ;; esac
  done
  shift || true
  case "$command" in
    up)
      [[ -z "${1:-}" || "$1" == --monitoring ]] || bad_usage "unknown flag '$1' for up, which takes only --monitoring"
      no_more_args "$command" "${@:2}"
      ;;
    status) no_more_args "$command" "$@" ;;
    down)
      [[ -z "${1:-}" || "$1" == --purge ]] || bad_usage "unknown flag '$1' for down, which takes only --purge"
      no_more_args "$command" "${@:2}"
      ;;
    start-service | stop-service | restart-service)
      check_service "${1:-}"
      no_more_args "$command" "${@:2}"
      ;;
    "") bad_usage "no command given" ;;
    -*) bad_usage "unknown flag '$command'" ;;
    *) bad_usage "unknown command '$command'" ;;
  esac
  ensure_dirs
  case "$command" in
    up) take_lock; cmd_up "$@" ;;
    down) take_lock; cmd_down "$@" ;;
    status) cmd_status ;;
    *) service_command "${command%-service}" "$1" ;;
  esac
}

main "$@"
