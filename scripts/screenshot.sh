#!/usr/bin/env bash
# Regenerates assets/screenshot.png: the real confirm window of the demo (examples/demo.rs),
# on a private Xvfb with a private D-Bus session and gnome-keyring. Needs: xvfb xdotool
# gnome-keyring dbus imagemagick (the real one, for `import`).
# The helper opens windows only on a display server that is a person's screen; an Xvfb you
# start yourself is not one (README, "Which screen"). So Xvfb runs as the user ccg-person
# (created here, as the tests do), the way a display manager's server runs as another user:
# as root through setpriv, else through sudo. It offers no XTEST, which the helper refuses.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin cargo-confirm-gui --example demo
bin="$PWD/target/debug/cargo-confirm-gui"
demo_bin="$PWD/target/debug/examples/demo"
out="$PWD/assets/screenshot.png"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work"/{home,data,runtime} && chmod 700 "$work/runtime"

exec 3<> "$work/displayfd"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
id ccg-person >/dev/null 2>&1 ||
    $sudo useradd --system --no-create-home --shell /usr/sbin/nologin ccg-person
person=$(id -u ccg-person)
$sudo setpriv --reuid="$person" --regid="$person" --clear-groups -- \
    Xvfb -displayfd 3 -ac -extension XTEST -screen 0 1000x700x24 -nolisten tcp -noreset \
    3>"$work/displayfd" &
for _ in $(seq 50); do [ -s "$work/displayfd" ] && break; sleep 0.1; done
export DISPLAY=":$(head -n1 "$work/displayfd")"

# The keyring gets a private HOME; cargo (through rustup) still needs the real toolchain.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
# The session's script is a file: a multi-line `bash -c` would stand in the process chain
# with its newlines, which the window rightly flags.
cat > "$work/session.sh" <<'SESSION'
    printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$3" --provider "$1" &
    demo=$!
    win=$(xdotool search --sync --onlyvisible --name "cargo-confirm-gui")
    sleep 2   # let the countdown finish and the crate check arrive, as a person would see it
    import -window "$win" "$2"
    xdotool windowclose "$win"   # no XTEST to press Escape with: the window goes, nothing is published
    wait $demo || true
SESSION
HOME="$work/home" XDG_DATA_HOME="$work/data" XDG_RUNTIME_DIR="$work/runtime" \
dbus-run-session -- bash "$work/session.sh" "$bin" "$out" "$demo_bin"
echo "wrote $out"
