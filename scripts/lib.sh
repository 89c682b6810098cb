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
