#!/usr/bin/env bash
# Builds the Debian package of the sealed install (Cargo.toml [package.metadata.deb] and the
# maintainer scripts in debian/) with cargo-deb, and prints the package's path:
#
#   bash scripts/deb.sh [cargo-deb options, e.g. --fast]
#   sudo apt install ./target/debian/cargo-confirm-gui_*.deb
#
# A release build (`cargo deb --locked` runs `cargo build --release --locked`). Installs
# cargo-deb when it is missing or older than 3 (symlink assets): scripts/tools.sh deb.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/tools.sh deb >&2
# Shell completions and the man page, generated from the helper's own clap tree (the same
# source the package's binary is built from; a debug build is enough to write them).
cargo run --locked --quiet --bin cargo-confirm-gui -- __generate target/generated >&2
# cargo-deb writes the package's path as the last line of its stdout; everything else goes to
# stderr.
deb=$(cargo deb --locked "$@" | tail -n 1)
[ -f "$deb" ] || { echo "deb: cargo deb reported no package file (got: $deb)" >&2; exit 1; }
echo "$deb"
