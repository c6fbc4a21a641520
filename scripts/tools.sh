#!/usr/bin/env bash
# Installs the cargo tools the test command and the packaging scripts use, each only when it
# is missing (or too old), from crates.io:
#
#   bash scripts/tools.sh [deny] [deb] [fuzz]      (all three when none is named)
#
#   deny  cargo-deny: the shipped tree's bans, licenses and sources (deny.toml)
#   deb   cargo-deb 3 or later (symlink assets): scripts/deb.sh
#   fuzz  cargo-fuzz and the nightly toolchain libFuzzer needs: scripts/fuzz.sh
#
# Built with --debug: each tool does seconds of work on a tree this size, while an optimised
# build of cargo-deny alone (fat LTO, one codegen unit) took 4 of a CI run's minutes. On this
# machine, one at a time: cargo-deny 67 s, cargo-deb 29 s, cargo-fuzz 21 s, and
# `cargo deny check` runs in 2.5 s instead of 1.
set -euo pipefail

install() {
    echo "==> cargo install $1 --locked --debug"
    cargo install "$1" --locked --debug --quiet
}

tools=("$@")
((${#tools[@]})) || tools=(deny deb fuzz)
for t in "${tools[@]}"; do
    case "$t" in
        deny)
            cargo deny --version >/dev/null 2>&1 || install cargo-deny
            ;;
        deb)
            version=$(cargo deb --version 2>/dev/null | awk '{ print $2 }' || true)
            if [ -z "$version" ] || [ "${version%%.*}" -lt 3 ]; then
                install cargo-deb
            fi
            ;;
        fuzz)
            if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
                echo "==> rustup toolchain install nightly (libFuzzer needs it)"
                rustup toolchain install nightly --profile minimal
            fi
            cargo fuzz --version >/dev/null 2>&1 || install cargo-fuzz
            ;;
        *)
            echo "usage: $0 [deny] [deb] [fuzz]" >&2
            exit 2
            ;;
    esac
done
