# shellcheck shell=bash
# Prometheus from Debian's prometheus package, with the monitoring profile's own configuration
# (infra/monitoring/prometheus/prometheus.yml) pointed at the parts on 127.0.0.1.

MONITORING_DIR="$(cd "$INFRA_DIR/../monitoring" && pwd)"
PROMETHEUS_DIR="$STATE_DIR/prometheus"
PROMETHEUS_LOG="$LOG_DIR/prometheus.log"
# Where the parts serve /metrics: lake-query (or `npm start`, every part in one) on its PORT, a
# scraper or processor run on its own on its HEALTH_PORT.
PROMETHEUS_SCRAPER_TARGET="${PROMETHEUS_SCRAPER_TARGET:-127.0.0.1:9101}"
PROMETHEUS_PROCESSOR_TARGET="${PROMETHEUS_PROCESSOR_TARGET:-127.0.0.1:9102}"
PROMETHEUS_LAKE_QUERY_TARGET="${PROMETHEUS_LAKE_QUERY_TARGET:-127.0.0.1:8080}"
PROMETHEUS_SCRAPE_INTERVAL="${PROMETHEUS_SCRAPE_INTERVAL:-15s}"

# prometheus_install : prometheus is on the PATH (Debian's package, without the exporters it
# recommends; the package's own service is left alone).
prometheus_install() {
  command -v prometheus >/dev/null 2>&1 && return 0
  need apt-get "install Debian's prometheus package by hand"
  with_progress "installing prometheus with apt-get" "$LOG_DIR/prometheus-install.log" \
    bash -c 'export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -q --no-install-recommends prometheus ||
        { apt-get update -q && apt-get install -y -q --no-install-recommends prometheus; }'
}

# prometheus_configure : writes the monitoring profile's prometheus.yml into the state folder with
# the compose service names replaced by the local targets, the scrape interval, and the bearer
# token file (API_TOKEN, empty when unset) that lake-query's /metrics asks for.
prometheus_configure() {
  mkdir -p "$PROMETHEUS_DIR/data"
  (umask 077; printf '%s' "${API_TOKEN:-}" >"$PROMETHEUS_DIR/api-token")
  sed -e "s#'scraper:9101'#'$PROMETHEUS_SCRAPER_TARGET'#" \
    -e "s#'processor:9102'#'$PROMETHEUS_PROCESSOR_TARGET'#" \
    -e "s#'lake-query:8080'#'$PROMETHEUS_LAKE_QUERY_TARGET'#" \
    -e "s#credentials_file: /tmp/api-token#credentials_file: $PROMETHEUS_DIR/api-token#" \
    -e "s#scrape_interval: 15s#scrape_interval: $PROMETHEUS_SCRAPE_INTERVAL#" \
    "$MONITORING_DIR/prometheus/prometheus.yml" >"$PROMETHEUS_DIR/prometheus.yml"
}

# prometheus_running : the recorded prometheus process is alive.
prometheus_running() {
  pid_of prometheus "$PROMETHEUS_DIR/prometheus.yml" >/dev/null
}

# prometheus_healthy : Prometheus says it is ready to serve queries.
prometheus_healthy() {
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 2>/dev/null
}

# prometheus_start : a prometheus process is running (started if needed); does not wait for health.
prometheus_start() {
  prometheus_running && return 0
  port_open "$PROMETHEUS_PORT" && die "prometheus: 127.0.0.1:$PROMETHEUS_PORT is already in use by another process"
  prometheus_install
  prometheus_configure
  log "starting Prometheus on 127.0.0.1:$PROMETHEUS_PORT (scraping $PROMETHEUS_LAKE_QUERY_TARGET, $PROMETHEUS_SCRAPER_TARGET, $PROMETHEUS_PROCESSOR_TARGET)"
  spawn prometheus "$PROMETHEUS_LOG" prometheus \
    --config.file="$PROMETHEUS_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=15d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --web.console.libraries=/usr/share/prometheus/console_libraries \
    --web.console.templates=/usr/share/prometheus/consoles
}

# prometheus_wait : blocks until Prometheus is ready, or exits with the log tail.
prometheus_wait() {
  wait_healthy prometheus prometheus_healthy "$PROMETHEUS_LOG"
}

# prometheus_stop : no prometheus process is running.
prometheus_stop() {
  stop_pid prometheus "$PROMETHEUS_DIR/prometheus.yml" 30
}
