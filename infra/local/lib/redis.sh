# shellcheck shell=bash
# Redis from Debian's redis-server package, in memory only (no RDB, no AOF).

REDIS_DIR="$STATE_DIR/redis"
REDIS_LOG="$LOG_DIR/redis.log"

# redis_install : redis-server and redis-cli are on the PATH (installed with
# apt-get when missing; needs root, as on the project's machines).
redis_install() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  need apt-get "install redis-server by hand"
  with_progress "installing redis-server with apt-get" "$LOG_DIR/redis-install.log" \
    bash -c 'export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -q redis-server || { apt-get update -q && apt-get install -y -q redis-server; }'
}

# redis_running : the recorded redis-server process is alive.
redis_running() {
  pid_of redis redis-server >/dev/null
}

# redis_healthy : the server answers PING.
redis_healthy() {
  [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

# redis_start : a redis-server process is running (started if needed); does
# not wait for health. Fails if the port is held by a process that is not ours.
redis_start() {
  redis_running && return 0
  port_open "$REDIS_PORT" && die "redis: 127.0.0.1:$REDIS_PORT is already in use by another process"
  redis_install
  mkdir -p "$REDIS_DIR"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  # In the foreground under spawn (not --daemonize), so the pid file is ours
  # from the first instant and the process detaches the same way as the others.
  spawn redis "$REDIS_LOG" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save '' --appendonly no --dir "$REDIS_DIR" --daemonize no
}

# redis_wait : blocks until Redis answers PING, or exits with the log tail.
redis_wait() {
  wait_healthy redis redis_healthy "$REDIS_LOG"
}

# redis_stop : no redis-server process is running.
redis_stop() {
  stop_pid redis redis-server 10
}
