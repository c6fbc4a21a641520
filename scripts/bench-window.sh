#!/usr/bin/env bash
# The window benchmark: the publish window against pinentry-gtk-2 on one Xvfb, interleaved,
# first frame and peak RSS, and the full-redraw time. Installs what it needs when missing
# (pinentry-gtk2 and the test packages) and runs as root, like the test suite: the X server
# belongs to another user, the person, as on a real desktop.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(pinentry-gtk2 xvfb gnome-keyring dbus dbus-x11 libsecret-tools util-linux passwd)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
exec cargo bench --locked --bench window
