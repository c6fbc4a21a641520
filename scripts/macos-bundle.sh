#!/usr/bin/env bash
# Builds target/macos/cargo-confirm-gui.app and signs it for the hardened runtime (macOS only).
#
#   scripts/macos-bundle.sh                                  # ad-hoc signature, with a warning
#   scripts/macos-bundle.sh --identity "Developer ID Application: NAME (TEAMID)"
#   scripts/macos-bundle.sh --identity "…" --notarize PROFILE  # notarytool keychain profile
#
# With an identity, the bundle gets entitlements/cargo-confirm-gui.entitlements (App Sandbox,
# no network, read-only home, a keychain access group of the team): the helper then keeps
# tokens in the data-protection keychain with user-presence access control (Touch ID or the
# password on every read, enforced by macOS). Ad-hoc, it gets the same sandbox without the
# access group and falls back to a legacy login-keychain item, which is weaker.
#
# Then, in ~/.cargo/config.toml:
#   [registry]
#   global-credential-providers = ["/Applications/cargo-confirm-gui.app/Contents/MacOS/cargo-confirm-gui"]
set -euo pipefail
cd "$(dirname "$0")/.."

identity=""
profile=""
while (($#)); do
    case "$1" in
        --identity) identity=$2; shift 2 ;;
        --notarize) profile=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "macos-bundle: unknown argument $1" >&2; exit 2 ;;
    esac
done
die() { echo "macos-bundle: $*" >&2; exit 1; }
[ "$(uname -s)" = Darwin ] || die "this builds a macOS app bundle; run it on macOS"
[ -z "$profile" ] || [ -n "$identity" ] || die "--notarize needs --identity (Apple notarizes Developer ID signatures only)"

cargo build --release --locked
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
app=target/macos/cargo-confirm-gui.app
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp target/release/cargo-confirm-gui "$app/Contents/MacOS/cargo-confirm-gui"
sed "s/@VERSION@/$version/g" assets/Info.plist > "$app/Contents/Info.plist"
plutil -lint "$app/Contents/Info.plist"

# The icon: one PNG, every size iconutil wants.
iconset=$(mktemp -d)/AppIcon.iconset
mkdir -p "$iconset"
for s in 16 32 128 256 512; do
    sips -z "$s" "$s" assets/icon.png --out "$iconset/icon_${s}x${s}.png" >/dev/null
    d=$((s * 2))
    sips -z "$d" "$d" assets/icon.png --out "$iconset/icon_${s}x${s}@2x.png" >/dev/null
done
iconutil -c icns -o "$app/Contents/Resources/AppIcon.icns" "$iconset"

entitlements=$(mktemp)
if [ -z "$identity" ]; then
    echo "macos-bundle: WARNING: no --identity, so the bundle is signed ad-hoc. macOS will not" >&2
    echo "macos-bundle: WARNING: honour a keychain access group: the helper uses a legacy login-keychain" >&2
    echo "macos-bundle: WARNING: item, which is weaker (SECURITY.md, Platforms)." >&2
    cp entitlements/cargo-confirm-gui.adhoc.entitlements "$entitlements"
    codesign --force --options runtime --entitlements "$entitlements" --sign - "$app"
else
    team=$(printf '%s' "$identity" | sed -n 's/.*(\([A-Z0-9]\{10\}\))$/\1/p')
    [ -n "$team" ] || die "cannot read the team ID from the identity \"$identity\" (expected \"… (TEAMID)\")"
    sed "s/@TEAM_ID@/$team/g" entitlements/cargo-confirm-gui.entitlements > "$entitlements"
    codesign --force --timestamp --options runtime --entitlements "$entitlements" \
        --sign "$identity" "$app"
fi
plutil -lint "$entitlements"
codesign --verify --strict --verbose=2 "$app"
codesign --display --entitlements - "$app"

if [ -n "$profile" ]; then
    zip=target/macos/cargo-confirm-gui.zip
    ditto -c -k --keepParent "$app" "$zip"
    xcrun notarytool submit "$zip" --keychain-profile "$profile" --wait
    xcrun stapler staple "$app"
    spctl --assess --type execute --verbose "$app"
fi
echo "macos-bundle: built $app"
