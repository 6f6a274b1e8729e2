# shellcheck shell=bash
# MinIO, single drive, built from source with `go install` (the community
# edition ships no binaries any more).
#
# Pin: the repository's RELEASE.* tags are not semantic versions, so the Go
# module proxy refuses them; the pseudo-version below is the final commit of
# the archived repository (2026-02-11, README only), i.e. the code of
# RELEASE.2025-10-15T17-29-55Z plus the later fixes (PostPolicy tagging,
# conditional-put quorum). It builds with Go 1.24+.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

MINIO_USER="cryptolake"
MINIO_PASSWORD="cryptolake-secret"
MINIO_BUCKET="cryptolake"
MINIO_REGION="us-east-1"

MINIO_BIN="$CACHE_DIR/bin/minio"
MINIO_DATA="$STATE_DIR/minio/data"
MINIO_LOG="$LOG_DIR/minio.log"

# minio_installed : the binary of the pinned version is in the cache.
minio_installed() {
  [[ -x "$MINIO_BIN" && "$(cat "$MINIO_BIN.version" 2>/dev/null)" == "$MINIO_VERSION" ]]
}

# minio_go : runs the go command with every Go folder inside the cache, so a
# second build reuses downloaded modules and compiled packages.
minio_go() {
  env GOPATH="$CACHE_DIR/go" GOBIN="$CACHE_DIR/bin" GOCACHE="$CACHE_DIR/go/cache" \
    GOMODCACHE="$CACHE_DIR/go/pkg/mod" GOTOOLCHAIN=local CGO_ENABLED=0 \
    GOFLAGS="-buildvcs=false -modcacherw" go "$@"
}

# minio_install : the pinned MinIO binary exists ($MINIO_BIN). The first build
# takes about 3 minutes on 2 cores (module downloads included).
minio_install() {
  minio_installed && return 0
  need go "install Go 1.24 or newer"
  mkdir -p "$CACHE_DIR/bin"
  with_progress "building MinIO $MINIO_VERSION with go install (a few minutes)" \
    "$LOG_DIR/minio-build.log" minio_go install "$MINIO_MODULE@$MINIO_VERSION"
  printf '%s\n' "$MINIO_VERSION" >"$MINIO_BIN.version"
}

# minio_running : the recorded MinIO process is alive.
minio_running() {
  pid_of minio "$MINIO_BIN" >/dev/null
}

# minio_healthy : the server answers its liveness probe.
minio_healthy() {
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$MINIO_PORT/minio/health/live" 2>/dev/null
}

# minio_start : a MinIO process is running (started if needed); does not wait
# for health. Fails if the port is held by a process that is not ours.
minio_start() {
  minio_running && return 0
  port_open "$MINIO_PORT" && die "minio: 127.0.0.1:$MINIO_PORT is already in use by another process"
  minio_install
  mkdir -p "$MINIO_DATA"
  log "starting MinIO on 127.0.0.1:$MINIO_PORT (console $MINIO_CONSOLE_PORT)"
  spawn minio "$MINIO_LOG" env MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" \
    MINIO_SITE_REGION="$MINIO_REGION" MINIO_UPDATE=off MINIO_BROWSER=on \
    "$MINIO_BIN" server "$MINIO_DATA" \
    --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT"
}

# minio_wait : blocks until MinIO is healthy and the bucket exists, or exits
# with the log tail.
minio_wait() {
  wait_healthy minio minio_healthy "$MINIO_LOG"
  minio_ensure_bucket
}

# minio_ensure_bucket : the bucket $MINIO_BUCKET exists. Uses curl's own AWS
# SigV4 signing, so no S3 client is needed.
minio_ensure_bucket() {
  local url="http://127.0.0.1:$MINIO_PORT/$MINIO_BUCKET" code
  local sign=(--aws-sigv4 "aws:amz:$MINIO_REGION:s3" --user "$MINIO_USER:$MINIO_PASSWORD"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --max-time 10 -s -o /dev/null -w '%{http_code}')
  code="$(curl "${sign[@]}" -I "$url")" || code=000
  [[ "$code" == 200 ]] && return 0
  code="$(curl "${sign[@]}" -X PUT "$url")" || code=000
  case "$code" in
    200 | 409) log "created bucket $MINIO_BUCKET" ;;
    *) fail_with_log "minio: creating bucket $MINIO_BUCKET answered HTTP $code" "$MINIO_LOG" ;;
  esac
}

# minio_stop : no MinIO process is running.
minio_stop() {
  stop_pid minio "$MINIO_BIN" 20
}
