#!/usr/bin/env bash
# Sets everything up and runs the playground. Until the browser app lands,
# this builds `iptplay` and runs the built-in example lab script on it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

log "building iptplay"
cargo build --release -p engine --bin iptplay
log "running static/examples/first-steps.sh"
exec target/release/iptplay run static/examples/first-steps.sh
