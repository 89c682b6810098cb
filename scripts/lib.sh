# Shared setup steps for play.sh and test.sh: install what is missing, skip what is there.
# shellcheck shell=bash

log() { printf '==> %s\n' "$*" >&2; }

# Debian packages, installed only when a command is missing and we are root.
ensure_packages() {
    local missing=()
    local cmd pkg
    for pair in "$@"; do
        cmd=${pair%%:*}
        pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing ${missing[*]} (not root or no apt-get): tests that need them will say they skipped"
        return 0
    fi
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust_target() {
    rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
    log "adding Rust target $1"
    rustup target add "$1"
}

# --- Web app toolchain (trunk, wasm-bindgen, browser tests) ---------------

TRUNK_VERSION=0.21.14
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$PATH"

# The wasm-bindgen version pinned in Cargo.lock (trunk offline needs the same CLI).
wasm_bindgen_version() {
    awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# trunk and wasm-bindgen-cli at the versions the app needs; compiled once
# (about 25 minutes on 2 cores), skipped when present.
ensure_web_tools() {
    ensure_rust_target wasm32-unknown-unknown
    if ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
        log "installing trunk $TRUNK_VERSION (compiles for about 16 minutes)"
        nice cargo install --locked "trunk@$TRUNK_VERSION"
    fi
    local wbg
    wbg=$(wasm_bindgen_version)
    if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbg"; then
        # --locked fails for this crate (its lock names a webpki-roots release the registry lacks).
        log "installing wasm-bindgen-cli $wbg (compiles for about 7 minutes)"
        nice cargo install --force "wasm-bindgen-cli@$wbg"
    fi
}

# node and npm (apt), then the npm packages of package.json: binaryen's
# wasm-opt (Debian's is too old for what Rust emits, but its binaryen has the
# wasm-split npm's lacks) and playwright-core (it drives the system
# Chromium; no browser download).
ensure_node_modules() {
    ensure_packages node:nodejs npm:npm wasm-split:binaryen
    if command -v npm >/dev/null 2>&1 &&
        { [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] ||
            [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
        log "installing npm packages (npm ci)"
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
    fi
    export PATH="$PWD/node_modules/.bin:$PATH"
}

# Chromium and its driver for the browser tests.
ensure_browser_tools() {
    ensure_packages chromium:chromium chromedriver:chromium-driver
    ensure_node_modules
}
