#!/usr/bin/env bash
# Runs every test: formatting, lints, the engine's tests (the comparisons with
# the real iptables/ipset/kernel run when root), and the WebAssembly build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages iptables:iptables ipset:ipset nft:nftables conntrack:conntrack ip:iproute2 python3:python3 nfacct:nfacct
ensure_rust_target wasm32-unknown-unknown

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
log "engine tests"
cargo test -p engine
log "engine builds for wasm32"
cargo build -p engine --lib --no-default-features --target wasm32-unknown-unknown
log "all tests passed"
