# shellcheck shell=bash
# Grafana with the monitoring profile's provisioning (infra/monitoring/grafana): the Prometheus
# data source and the pipeline dashboard. No registry this machine reaches ships a Grafana server
# (Debian has no grafana package; PyPI's and npm's `grafana` are placeholders; the Go module is
# AGPL-licensed, which the project does not build from), so it is started only when a Grafana
# installed by hand is found: `grafana` (or `grafana-server`) on the PATH, or GRAFANA_HOME.

GRAFANA_DIR="$STATE_DIR/grafana"
GRAFANA_LOG="$LOG_DIR/grafana.log"
GRAFANA_MISSING="Grafana is not installed and no package registry reachable here has it: install Grafana 11 or newer by hand (grafana.com .deb or tarball; set GRAFANA_HOME to the tarball's folder), then start it with 'stack.sh start-service grafana'"

# grafana_binary : prints the path of the Grafana server binary found, or returns 1.
grafana_binary() {
  local candidate
  for candidate in "${GRAFANA_HOME:+$GRAFANA_HOME/bin/grafana}" "$(command -v grafana 2>/dev/null)" "$(command -v grafana-server 2>/dev/null)"; do
    [[ -n "$candidate" && -x "$candidate" ]] && { printf '%s' "$candidate"; return 0; }
  done
  return 1
}

# grafana_install : Grafana is installed, or exits naming what to do (nothing installs it here).
grafana_install() {
  grafana_binary >/dev/null || die "$GRAFANA_MISSING"
}

# grafana_running : the recorded Grafana process is alive.
grafana_running() {
  pid_of grafana --homepath >/dev/null
}

# grafana_healthy : Grafana's health endpoint answers.
grafana_healthy() {
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$GRAFANA_PORT/api/health" 2>/dev/null
}

# grafana_start : a Grafana process is running (started if needed), reading the provisioning of
# the monitoring profile, with anonymous viewers; does not wait for health.
grafana_start() {
  local binary home
  grafana_running && return 0
  port_open "$GRAFANA_PORT" && die "grafana: 127.0.0.1:$GRAFANA_PORT is already in use by another process"
  grafana_install
  binary="$(grafana_binary)"
  # The .deb keeps its files in /usr/share/grafana; a tarball beside its bin/ folder.
  home="${GRAFANA_HOME:-$(dirname "$(dirname "$binary")")}"
  if [[ -z "${GRAFANA_HOME:-}" && -d /usr/share/grafana ]]; then home=/usr/share/grafana; fi
  mkdir -p "$GRAFANA_DIR/data" "$GRAFANA_DIR/plugins"
  log "starting Grafana on http://127.0.0.1:$GRAFANA_PORT (data source http://127.0.0.1:$PROMETHEUS_PORT)"
  local argv=("$binary")
  [[ "$binary" == */grafana ]] && argv+=(server)
  spawn grafana "$GRAFANA_LOG" env \
    GF_PATHS_DATA="$GRAFANA_DIR/data" GF_PATHS_LOGS="$LOG_DIR" GF_PATHS_PLUGINS="$GRAFANA_DIR/plugins" \
    GF_PATHS_PROVISIONING="$MONITORING_DIR/grafana/provisioning" \
    GF_SERVER_HTTP_ADDR=127.0.0.1 GF_SERVER_HTTP_PORT="$GRAFANA_PORT" \
    GF_AUTH_ANONYMOUS_ENABLED=true GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer \
    GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH="$MONITORING_DIR/grafana/dashboards/cryptolake-pipeline.json" \
    PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT" GRAFANA_DASHBOARDS_DIR="$MONITORING_DIR/grafana/dashboards" \
    "${argv[@]}" --homepath "$home"
}

# grafana_wait : blocks until Grafana answers, or exits with the log tail.
grafana_wait() {
  wait_healthy grafana grafana_healthy "$GRAFANA_LOG"
}

# grafana_stop : no Grafana process is running.
grafana_stop() {
  stop_pid grafana --homepath 30
}
