#!/usr/bin/env bash
# Runs every test: formatting, lints, the engine's tests (the comparisons with
# the real iptables/ipset/kernel run when root), the WebAssembly build, and
# the web app's tests (model tests, component tests in headless Chromium,
# end-to-end tests of the built app with playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
# Nothing here reads the terminal; a real `nc -lk` listener would send on
# its first connection whatever it read (the tests also close it themselves).
exec </dev/null

ensure_packages iptables:iptables ipset:ipset nft:nftables conntrack:conntrack ip:iproute2 python3:python3 nfacct:nfacct \
    nmap:nmap hping3:hping3 tcpdump:tcpdump nc:netcat-openbsd
ensure_rust_target wasm32-unknown-unknown
ensure_web_tools
ensure_browser_tools

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
log "engine tests"
cargo test -p engine
log "engine builds for wasm32"
cargo build -p engine --lib --no-default-features --target wasm32-unknown-unknown
log "web app: clippy for wasm32"
cargo clippy -p playground --target wasm32-unknown-unknown --all-targets -- -D warnings
log "web app: model tests"
cargo test -p playground
log "web app: component tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test -p playground --target wasm32-unknown-unknown
log "web app: release build (trunk)"
trunk build --release --offline
log "web app: page weight (gzip)"
node scripts/page-weight.mjs
log "web app: end-to-end tests in Chromium (screenshots in test-artifacts/)"
node --test tests/web/
log "all tests passed"
