# shellcheck shell=bash
# DuckDB CLI and the extensions the lake needs, from PyPI, laid out for offline loading.
# Not a service: `up` only installs it and prints where it is.
#
# An extension loads only into the exact DuckDB build it was made for, so the
# CLI, the extensions and @duckdb/node-api must share one version. The folder
# name under duckdb-extensions/ must equal what `PRAGMA version` reports.
DUCKDB_VERSION="1.5.5"
# httpfs reads and writes S3; ducklake is the table format; postgres_scanner and
# sqlite_scanner open its catalog databases. Each comes from the PyPI package
# duckdb-extension-<name, with - for _>, which holds <name>.duckdb_extension.
DUCKDB_EXTENSIONS=(httpfs ducklake postgres_scanner sqlite_scanner)

DUCKDB_VENV="$CACHE_DIR/duckdb-venv"
DUCKDB_EXTENSION_DIR="$CACHE_DIR/duckdb-extensions"
DUCKDB_PLATFORM="linux_amd64"
# A link to the real executable: the venv's bin/duckdb is only a Python launcher.
DUCKDB_CLI="$CACHE_DIR/bin/duckdb"

# duckdb_extension_file NAME : path of extension NAME where DuckDB looks for it.
duckdb_extension_file() {
  printf '%s/v%s/%s/%s.duckdb_extension' "$DUCKDB_EXTENSION_DIR" "$DUCKDB_VERSION" "$DUCKDB_PLATFORM" "$1"
}

# duckdb_installed : the CLI of the pinned version and every extension are in place.
duckdb_installed() {
  local name
  [[ -x "$DUCKDB_CLI" && "$(cat "$DUCKDB_VENV/.version" 2>/dev/null)" == "$DUCKDB_VERSION" ]] || return 1
  for name in "${DUCKDB_EXTENSIONS[@]}"; do
    [[ -f "$(duckdb_extension_file "$name")" ]] || return 1
  done
}

# duckdb_install : a venv holds duckdb-cli and the extension packages of the pinned
# version; $DUCKDB_CLI points at the CLI binary and each extension sits at
# $DUCKDB_EXTENSION_DIR/v<version>/linux_amd64/<name>.duckdb_extension, checked by
# loading it with the network unused. An existing venv is added to, not replaced,
# so the CLI stays usable while a cache from before an extension was added upgrades.
duckdb_install() {
  duckdb_installed && return 0
  need python3 "install Python 3 with venv (apt-get install python3-venv)"
  local site reported name src dst
  local -a packages=("duckdb-cli==$DUCKDB_VERSION")
  for name in "${DUCKDB_EXTENSIONS[@]}"; do
    packages+=("duckdb-extension-${name//_/-}==$DUCKDB_VERSION")
  done
  # --no-deps: the extension packages require the Python duckdb module, which only
  # their Python loader uses; the CLI needs just the binaries.
  with_progress "installing DuckDB CLI $DUCKDB_VERSION and ${DUCKDB_EXTENSIONS[*]} from PyPI" \
    "$LOG_DIR/duckdb-install.log" \
    bash -c "{ [[ -x '$DUCKDB_VENV/bin/pip' ]] || python3 -m venv '$DUCKDB_VENV'; } &&
      '$DUCKDB_VENV/bin/pip' install -q --disable-pip-version-check --no-deps ${packages[*]}"
  site="$("$DUCKDB_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  mkdir -p "$(dirname "$DUCKDB_CLI")"
  ln -sfn "$site/duckdb_cli/duckdb" "$DUCKDB_CLI"

  reported="$("$DUCKDB_CLI" -noheader -list -c 'PRAGMA version' | cut -d'|' -f1)"
  [[ "$reported" == "v$DUCKDB_VERSION" ]] ||
    die "duckdb: the CLI reports $reported, expected v$DUCKDB_VERSION"

  mkdir -p "$DUCKDB_EXTENSION_DIR/v$DUCKDB_VERSION/$DUCKDB_PLATFORM"
  for name in "${DUCKDB_EXTENSIONS[@]}"; do
    src="$(find "$site/duckdb_extension_$name" -name "$name.duckdb_extension" | head -n 1)"
    [[ -n "$src" ]] || die "duckdb: no $name.duckdb_extension inside duckdb-extension-${name//_/-}"
    dst="$(duckdb_extension_file "$name")"
    # Copy, then rename: a process loading the extension meanwhile never reads half a file.
    cp "$src" "$dst.new"
    mv -f "$dst.new" "$dst"
    # Signature checks stay on: a LOAD that succeeds proves the binary is DuckDB's signed build.
    "$DUCKDB_CLI" -c "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;
      SET extension_directory='$DUCKDB_EXTENSION_DIR'; LOAD $name; SELECT 1;" >/dev/null ||
      die "duckdb: LOAD $name from $DUCKDB_EXTENSION_DIR failed"
  done
  printf '%s\n' "$DUCKDB_VERSION" >"$DUCKDB_VENV/.version"
  log "DuckDB $reported with ${DUCKDB_EXTENSIONS[*]} ready ($DUCKDB_CLI)"
}
