#!/usr/bin/env bash
# Sets everything up and serves the browser playground on
# http://127.0.0.1:8080 with a built-in lab open. First run on a fresh
# machine compiles trunk and wasm-bindgen-cli (about 25 minutes); later
# runs start in about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_web_tools
ensure_node_modules
log "building and serving the playground on http://127.0.0.1:8080 (Ctrl-C stops)"
exec trunk serve --release --offline
