#!/usr/bin/env bash
# The presence benchmark: what the sealed helper's PAM step costs beyond the person's
# typing, against unix_chkpwd alone, side by side (benches/presence.rs). Runs as root, like
# the sealed tests: a test person gets a password in a private copy of /etc/shadow, inside a
# private mount namespace; the machine's own files are not touched.
#
#   sudo scripts/bench-presence.sh            (CCG_BENCH_ROUNDS=N, default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-presence: run as root (sudo $0)" >&2; exit 1; }
missing=()
for p in openssl util-linux passwd; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
exec cargo bench --locked --bench presence
