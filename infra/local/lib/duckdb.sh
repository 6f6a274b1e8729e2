# shellcheck shell=bash
# DuckDB CLI and its httpfs extension from PyPI, laid out for offline loading.
# Not a service: `up` only installs it and prints where it is.
#
# The extension loads only into the exact DuckDB build it was made for, so the
# CLI, the extension and @duckdb/node-api must share one version. The folder
# name under duckdb-extensions/ must equal what `PRAGMA version` reports.
DUCKDB_VERSION="1.5.5"

DUCKDB_VENV="$CACHE_DIR/duckdb-venv"
DUCKDB_EXTENSION_DIR="$CACHE_DIR/duckdb-extensions"
DUCKDB_PLATFORM="linux_amd64"
# A link to the real executable: the venv's bin/duckdb is only a Python launcher.
DUCKDB_CLI="$CACHE_DIR/bin/duckdb"

# duckdb_installed : the CLI of the pinned version and its httpfs extension are
# in place.
duckdb_installed() {
  [[ -x "$DUCKDB_CLI" && "$(cat "$DUCKDB_VENV/.version" 2>/dev/null)" == "$DUCKDB_VERSION" &&
    -f "$DUCKDB_EXTENSION_DIR/v$DUCKDB_VERSION/$DUCKDB_PLATFORM/httpfs.duckdb_extension" ]]
}

# duckdb_install : a venv holds duckdb-cli and duckdb-extension-httpfs of the
# pinned version; $DUCKDB_CLI points at the CLI binary and the extension sits at
# $DUCKDB_EXTENSION_DIR/v<version>/linux_amd64/httpfs.duckdb_extension, checked
# by loading it with the network unused.
duckdb_install() {
  duckdb_installed && return 0
  need python3 "install Python 3 with venv (apt-get install python3-venv)"
  local site ext_src ext_dst reported
  rm -rf "$DUCKDB_VENV"
  # --no-deps: the extension package requires the Python duckdb module, which only
  # its Python loader uses; the CLI needs just the two binaries.
  with_progress "installing DuckDB CLI $DUCKDB_VERSION and httpfs from PyPI" "$LOG_DIR/duckdb-install.log" \
    bash -c "python3 -m venv '$DUCKDB_VENV' && '$DUCKDB_VENV/bin/pip' install -q --disable-pip-version-check \
      --no-deps 'duckdb-cli==$DUCKDB_VERSION' 'duckdb-extension-httpfs==$DUCKDB_VERSION'"
  site="$("$DUCKDB_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  mkdir -p "$(dirname "$DUCKDB_CLI")"
  ln -sfn "$site/duckdb_cli/duckdb" "$DUCKDB_CLI"

  reported="$("$DUCKDB_CLI" -noheader -list -c 'PRAGMA version' | cut -d'|' -f1)"
  [[ "$reported" == "v$DUCKDB_VERSION" ]] ||
    die "duckdb: the CLI reports $reported, expected v$DUCKDB_VERSION"

  ext_src="$(find "$site/duckdb_extension_httpfs" -name httpfs.duckdb_extension | head -n 1)"
  [[ -n "$ext_src" ]] || die "duckdb: no httpfs.duckdb_extension inside duckdb-extension-httpfs"
  ext_dst="$DUCKDB_EXTENSION_DIR/$reported/$DUCKDB_PLATFORM"
  mkdir -p "$ext_dst"
  cp "$ext_src" "$ext_dst/httpfs.duckdb_extension"

  # Signature checks stay on: a LOAD that succeeds proves the binary is DuckDB's signed build.
  "$DUCKDB_CLI" -c "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;
    SET extension_directory='$DUCKDB_EXTENSION_DIR'; LOAD httpfs; SELECT 1;" >/dev/null ||
    die "duckdb: LOAD httpfs from $DUCKDB_EXTENSION_DIR failed"
  printf '%s\n' "$DUCKDB_VERSION" >"$DUCKDB_VENV/.version"
  log "DuckDB $reported with httpfs ready ($DUCKDB_CLI)"
}
