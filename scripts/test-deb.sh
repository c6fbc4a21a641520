#!/usr/bin/env bash
# The Debian package's whole life on this machine (as root; CI runs it from scripts/test.sh):
#
#  1. build it (scripts/deb.sh; from the test suite's debug build of the helper unless
#     CCG_DEB_RELEASE=1) and install it with dpkg, twice (the second is the upgrade
#     path: prerm upgrade, unpack under the statoverride, postinst configure);
#  2. check what dpkg and the postinst left: owners, modes, group, statoverride, the PATH link,
#     the PAM service, and that the helper, run as an unprivileged user through that link,
#     runs sealed;
#  3. make the install unsafe in a way the install script does not repair (/opt writable by
#     its group) and check that the postinst then fails with the helper's own refusal;
#  4. run the sealed tests (tests/sealed.rs) against the installed helper (CCG_SEALED_EXE);
#  5. remove it: the binary goes, the store (with the tests' tokens), the group and the PAM
#     service stay;
#  6. purge it: the store, the group, the statoverride and the PAM service go too.
#
#   sudo bash scripts/test-deb.sh
#
# It refuses to start where cargo-confirm-gui is installed already, by the package or by
# scripts/install-sealed.sh at the default paths: its purge would delete those tokens.
set -euo pipefail
cd "$(dirname "$0")/.."

package=cargo-confirm-gui
prefix=/opt/cargo-confirm-gui
exe=$prefix/cargo-confirm-gui
link=/usr/bin/cargo-confirm-gui
store=/var/lib/cargo-confirm-gui
pam=/etc/pam.d/cargo-confirm-gui
group=cargo-confirm-gui
die() { echo "test-deb: FAILED: $*" >&2; exit 1; }
step() { echo "==> test-deb: $*"; }
started=$SECONDS

if [ "$(id -u)" != 0 ]; then
    echo "test-deb: not root: the package cannot be installed here; nothing tested" >&2
    exit 0
fi
status() { dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true; }
case "$(status)" in
    "" | *not-installed) ;;
    *) die "$package is installed here ($(status)); purging it would delete its stored tokens. Run this where it is not installed" ;;
esac
for p in "$prefix" "$store" "$link" "$pam"; do
    if [ -e "$p" ] || [ -L "$p" ]; then
        die "$p exists (a sealed install made by hand?); purging the package would delete it. Run this where it is not installed"
    fi
done
! getent group "$group" >/dev/null || die "the group $group exists already; run this where cargo-confirm-gui is not installed"

opt_mode=""   # /opt's mode while step 3 changes it
cleanup() {
    # Whatever failed, leave no package, store or group behind, and /opt as it was.
    if [ -n "$opt_mode" ]; then chmod "$opt_mode" /opt; fi
    case "$(status)" in
        "" | *not-installed) ;;
        *) dpkg --purge "$package" >/dev/null 2>&1 || echo "test-deb: could not purge $package; run: dpkg --purge $package" >&2 ;;
    esac
}
trap cleanup EXIT

target_dir=${CARGO_TARGET_DIR:-target}
if [ "${CCG_DEB_RELEASE:-}" = 1 ]; then
    step "build: scripts/deb.sh's release build"
    deb=$(bash scripts/deb.sh --fast -o "$target_dir/debian-test/")
else
    # The helper the test suite built (and tests/sealed.rs installs by itself), packaged as
    # it is: a release build costs about 10 CPU minutes, which CI's two cores cannot spare.
    # `cargo test --no-run` is a no-op after scripts/test.sh's `cargo test`. The package goes
    # to its own directory, so that scripts/deb.sh's release package is never replaced.
    step "build: the package of the test suite's helper (CCG_DEB_RELEASE=1: the release build)"
    cargo test --locked --test sealed --no-run
    mkdir -p "$target_dir/deb-test"
    cp "$target_dir/debug/cargo-confirm-gui" "$target_dir/deb-test/"
    deb=$(bash scripts/deb.sh --no-build --profile deb-test --fast -o "$target_dir/debian-test/")
fi
built=$SECONDS
step "dpkg -i $deb (install, then again: the upgrade path)"
dpkg -i "$deb"
dpkg -i "$deb"

step "what the package installed"
expect() { # what path want
    local got
    got=$(stat -c '%U:%G %a %F' "$2")
    [ "$got" = "$3" ] || die "$1 $2 is $got, want $3"
}
expect "the helper" "$exe" "root:$group 2755 regular file"
expect "its directory" "$prefix" "root:root 755 directory"
expect "its config" "$prefix/sealed.toml" "root:root 644 regular file"
expect "the store" "$store" "root:$group 1770 directory"
[ "$(cat "$prefix/sealed.toml")" = "$(printf 'store = "%s"\ngroup = "%s"' "$store" "$group")" ] \
    || die "$prefix/sealed.toml says: $(cat "$prefix/sealed.toml")"
[ "$(readlink "$link")" = "$exe" ] || die "$link -> $(readlink "$link"), want $exe"
expect "the PAM service" "$pam" "root:root 644 regular file"
expect "the man page" /usr/share/man/man1/cargo-confirm-gui.1.gz "root:root 644 regular file"
zcat /usr/share/man/man1/cargo-confirm-gui.1.gz | grep -q "credential provider" \
    || die "the man page does not say what the helper is"
expect "the bash completions" /usr/share/bash-completion/completions/cargo-confirm-gui "root:root 644 regular file"
grep -q uninstall /usr/share/bash-completion/completions/cargo-confirm-gui \
    || die "the bash completions do not know the commands"
grep -qx '@include common-auth' "$pam" || die "$pam does not use the system's auth stack: $(cat "$pam")"
members=$(getent group "$group" | cut -d: -f4)
[ -z "$members" ] || die "the group $group has members: $members"
[ "$(getent group "$group" | cut -d: -f3)" -lt 1000 ] || die "$group is not a system group"
[ "$(dpkg-statoverride --list "$exe")" = "root $group 2755 $exe" ] \
    || die "statoverride: $(dpkg-statoverride --list "$exe" || echo none)"
# As a user, by the name cargo finds on PATH (`cargo confirm-gui`): the helper's own check.
setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups env -i PATH=/usr/bin:/bin \
    cargo-confirm-gui --help | grep -F "Token store: the sealed store $store " \
    || die "the helper run through $link does not say it is sealed"

step "an unsafe install fails the postinst with the helper's refusal"
opt_mode=$(stat -c %a /opt)
chmod g+w /opt
if said=$("/var/lib/dpkg/info/$package.postinst" configure 2>&1); then
    die "the postinst accepted /opt writable by its group: $said"
fi
chmod "$opt_mode" /opt
opt_mode=""
grep -qF "/opt must be owned by root and writable by nobody else" <<<"$said" \
    || die "the postinst failed without the helper's reason: $said"
"/var/lib/dpkg/info/$package.postinst" configure >/dev/null

step "the sealed tests against the installed helper"
CCG_SEALED_EXE=$exe cargo test --locked --test sealed -- --include-ignored

step "dpkg --remove: the helper goes; the store, its tokens and the group stay"
dpkg --remove "$package"
for p in "$exe" "$link" "$prefix"; do
    if [ -e "$p" ] || [ -L "$p" ]; then die "$p is still there after remove"; fi
done
expect "the store after remove" "$store" "root:$group 1770 directory"
tokens=$(find "$store" -name '*.token' | wc -l)
[ "$tokens" -gt 0 ] || die "remove left no tokens in $store (the sealed tests stored some)"
getent group "$group" >/dev/null || die "remove deleted the group $group"
[ -f "$pam" ] || die "remove deleted the PAM service $pam"

step "dpkg --purge: the store, the group and the statoverride go, and it says so first"
said=$(dpkg --purge "$package" 2>&1)
grep -qF "purge deletes the sealed store $store: $tokens stored registry token(s)" <<<"$said" \
    || die "purge did not say what it deletes: $said"
[ ! -e "$store" ] || die "$store is still there after purge"
[ ! -e "$pam" ] || die "$pam is still there after purge"
! getent group "$group" >/dev/null || die "the group $group is still there after purge"
! dpkg-statoverride --list "$exe" >/dev/null || die "the statoverride of $exe is still there"
case "$(status)" in
    "" | *not-installed) ;;
    *) die "dpkg still knows $package: $(status)" ;;
esac
echo "test-deb: ok ($((built - started)) s to build, $((SECONDS - built)) s to install, test and purge)"
