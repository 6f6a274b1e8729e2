# shellcheck shell=bash
# Shared settings and helpers for infra/local/stack.sh.
# Sourced, never run. Everything human-readable goes to stderr: stdout is
# reserved for the `export NAME=value` lines of `up`, the table of `status` and the help.

# Folders. Nothing the stack writes lands inside the repository.
CACHE_DIR="${CRYPTOLAKE_CACHE:-$HOME/.cache/cryptolake}"   # downloads, builds, venv
STATE_DIR="${CRYPTOLAKE_STATE:-$HOME/.local/state/cryptolake}" # data, logs, pids
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/logs"

# Ports, all on 127.0.0.1. The secondary ports follow the primary ones.
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
MINIO_PORT="${MINIO_PORT:-19000}"
MINIO_CONSOLE_PORT="${MINIO_CONSOLE_PORT:-$((MINIO_PORT + 1))}"
REDIS_PORT="${REDIS_PORT:-16379}"
POSTGRES_PORT="${POSTGRES_PORT:-15432}"
# The optional monitoring services (`up --monitoring`).
PROMETHEUS_PORT="${PROMETHEUS_PORT:-19090}"
GRAFANA_PORT="${GRAFANA_PORT:-13000}"

# How long `up` waits for one service to become healthy, in seconds.
STACK_TIMEOUT_S="${STACK_TIMEOUT_S:-120}"

# shellcheck disable=SC2034 # used by stack.sh
SERVICES=(kafka minio redis postgres)
# shellcheck disable=SC2034 # used by stack.sh
MONITORING_SERVICES=(prometheus grafana)

# log MESSAGE... : one progress line on stderr.
log() {
  printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# die MESSAGE... : prints the message on stderr and exits 1.
die() {
  printf '[stack %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# need COMMAND HINT : exits with HINT unless COMMAND is on the PATH.
need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed: $2"
}

# ensure_dirs : the cache and state folders exist.
ensure_dirs() {
  mkdir -p "$CACHE_DIR" "$RUN_DIR" "$LOG_DIR"
}

# pid_file NAME : path of the pid file of service NAME.
pid_file() {
  printf '%s/%s.pid' "$RUN_DIR" "$1"
}

# pid_of NAME MATCH : prints the pid recorded for NAME if that process is alive
# and its command line contains MATCH (so a recycled pid is never mistaken for
# the service); returns 1 otherwise.
pid_of() {
  local file pid
  file="$(pid_file "$1")"
  [[ -s "$file" ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [[ -n "$pid" ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  printf '%s' "$pid"
}

# port_open PORT : succeeds when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# spawn NAME LOGFILE COMMAND... : starts COMMAND detached from this shell (own
# session, stdin closed, output appended to LOGFILE) and records its pid.
spawn() {
  local name="$1" logfile="$2"
  shift 2
  # fd 9 is the stack lock (see take_lock): the service must not keep it.
  setsid nohup "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  printf '%s\n' "$!" >"$(pid_file "$name")"
}

# alive PID : the process exists and is not a zombie (an unreaped zombie still
# answers `kill -0`, and PID 1 on some sandboxes reaps late).
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# stop_pid NAME MATCH GRACE_S [SIGNAL] : sends SIGNAL (default TERM) to the
# recorded process of NAME, waits up to GRACE_S seconds, then SIGKILL. Afterwards
# the process is gone and the pid file removed. Only the recorded pid is ever signalled.
stop_pid() {
  local name="$1" match="$2" grace="$3" signal="${4:-TERM}" pid ticks=0
  if ! pid="$(pid_of "$name" "$match")"; then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill "-$signal" "$pid" 2>/dev/null || true
  while alive "$pid" && ((ticks < grace * 10)); do
    sleep 0.1
    ticks=$((ticks + 1))
  done
  if alive "$pid"; then
    log "$name did not stop within ${grace}s, killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    ticks=0
    while alive "$pid" && ((ticks < 100)); do
      sleep 0.1
      ticks=$((ticks + 1))
    done
    alive "$pid" && die "$name (pid $pid) survived SIGKILL"
  fi
  rm -f "$(pid_file "$name")"
}

# wait_healthy NAME CHECK_FN LOGFILE... : polls CHECK_FN until it succeeds; on
# timeout (STACK_TIMEOUT_S) or if the process dies, exits with an error naming
# the service and the tail of its logs.
wait_healthy() {
  local name="$1" check="$2" start=$SECONDS
  shift 2
  until "$check"; do
    if ! "${name}_running"; then
      fail_with_log "$name exited while starting" "$@"
    fi
    if ((SECONDS - start >= STACK_TIMEOUT_S)); then
      fail_with_log "$name did not become healthy within ${STACK_TIMEOUT_S}s" "$@"
    fi
    sleep 0.5
  done
  log "$name is healthy ($((SECONDS - start))s)"
}

# fail_with_log MESSAGE LOGFILE... : exits 1 after printing MESSAGE and the
# last 30 lines of each LOGFILE that exists, on stderr.
fail_with_log() {
  local message="$1" file
  shift
  printf '[stack %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$message" >&2
  for file in "$@"; do
    [[ -s "$file" ]] || continue
    # The root cause of a Java failure sits under a long stack trace: name it first.
    if grep -qE '^Caused by:|ERROR|FATAL' "$file"; then
      printf '  likely cause (from %s):\n' "$file" >&2
      grep -E '^Caused by:|ERROR|FATAL' "$file" | tail -n 3 | cut -c1-400 | sed 's/^/    /' >&2
    fi
    printf '  last lines of %s:\n' "$file" >&2
    tail -n 30 "$file" | sed 's/^/    /' >&2
  done
  exit 1
}

# with_progress LABEL LOGFILE COMMAND... : runs COMMAND with its output in
# LOGFILE, printing a still-working line every 30 s; on failure exits with the
# tail of LOGFILE.
with_progress() {
  local label="$1" logfile="$2" pid start=$SECONDS next=30
  shift 2
  log "$label (output in $logfile)"
  "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - start >= next)); then
      log "$label: still working ($((SECONDS - start))s)"
      next=$((next + 30))
    fi
  done
  wait "$pid" || fail_with_log "$label failed" "$logfile"
  log "$label: done in $((SECONDS - start))s"
}

# env_line NAME VALUE : prints `export NAME=VALUE` on stdout, the value in single
# quotes if it holds characters that an eval would otherwise interpret (a space, say).
env_line() {
  if [[ "$2" =~ ^[A-Za-z0-9_./:@%+=,*-]*$ ]]; then
    printf 'export %s=%s\n' "$1" "$2"
  else
    printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"
  fi
}
