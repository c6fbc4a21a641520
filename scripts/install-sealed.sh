#!/usr/bin/env bash
# Installs cargo-confirm-gui sealed (Linux; run once, as root):
#
#   PREFIX/cargo-confirm-gui   root:GROUP 2755  the helper, setgid to GROUP
#   PREFIX/sealed.toml         root:root  0644  names the store and the group
#   STORE/                     root:GROUP 1770  tokens; only GROUP may enter; STORE/<uid>/
#                                               is each user's own (0700), by real uid
#   LINK_DIR/cargo-confirm-gui -> PREFIX/cargo-confirm-gui
#   PAM_DIR/cargo-confirm-gui  root:root  0644  the PAM service that confirms who approves:
#                                               the system's usual auth and account stacks
#                                               (password, fingerprint, security key); an
#                                               existing file is kept as the admin left it
#
# GROUP is a system group with no members. Because the helper is setgid, the kernel runs it
# in secure mode: LD_PRELOAD is ignored and the user's own programs cannot trace it or read
# its memory; the user cannot list, read or replace the token files.
#
#   cargo build --release --locked
#   sudo scripts/install-sealed.sh [--bin target/release/cargo-confirm-gui]
#        [--prefix /opt/cargo-confirm-gui] [--store /var/lib/cargo-confirm-gui]
#        [--group cargo-confirm-gui] [--link-dir /usr/local/bin | --no-link]
#        [--pam-dir /etc/pam.d]
#
# Then move an existing token over, one confirmed step per registry:
#   cargo-confirm-gui --migrate [--registry NAME]
#
# The Debian package (scripts/deb.sh) ships this script beside the helper and runs it from
# its postinst with --bin pointing at the helper dpkg unpacked, so the two installs are the same.
set -euo pipefail

bin=""
prefix=/opt/cargo-confirm-gui
store=/var/lib/cargo-confirm-gui
group=cargo-confirm-gui
link_dir=/usr/local/bin
pam_dir=/etc/pam.d
while (($#)); do
    case "$1" in
        --bin) bin=$2; shift 2 ;;
        --prefix) prefix=$2; shift 2 ;;
        --store) store=$2; shift 2 ;;
        --group) group=$2; shift 2 ;;
        --link-dir) link_dir=$2; shift 2 ;;
        --no-link) link_dir=""; shift ;;
        --pam-dir) pam_dir=$2; shift 2 ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "install-sealed: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "install-sealed: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (sudo $0 ...)"
if [ -z "$bin" ]; then
    bin="$(cd "$(dirname "$0")/.." && pwd)/target/release/cargo-confirm-gui"
fi
[ -f "$bin" ] || die "no binary at $bin; build it first: cargo build --release --locked"
case "$prefix$store" in *\"*|*\\*) die "paths must not contain quotes or backslashes" ;; esac
[[ "$prefix" = /* && "$store" = /* ]] || die "--prefix and --store must be absolute paths"

if ! getent group "$group" >/dev/null; then
    groupadd --system "$group"
fi
members=$(getent group "$group" | cut -d: -f4)
[ -z "$members" ] || die "group $group has members ($members); nobody may be in it: gpasswd -d USER $group"

install -d -o root -g root -m 0755 "$prefix"
if [ "$bin" -ef "$prefix/cargo-confirm-gui" ]; then
    # Already in place (the Debian package's postinst: dpkg put it there): only the group and
    # the mode. chown clears setgid, so the file is never setgid to the wrong group.
    chown root:"$group" "$bin"
    chmod 2755 "$bin"
else
    # Replace the binary atomically: a half-written setgid file never exists under its name.
    install -o root -g "$group" -m 2755 "$bin" "$prefix/.cargo-confirm-gui.new"
    chmod 2755 "$prefix/.cargo-confirm-gui.new"   # some chown implementations clear setgid
    mv -f "$prefix/.cargo-confirm-gui.new" "$prefix/cargo-confirm-gui"
fi
printf 'store = "%s"\ngroup = "%s"\n' "$store" "$group" > "$prefix/.sealed.toml.new"
chown root:root "$prefix/.sealed.toml.new"
chmod 0644 "$prefix/.sealed.toml.new"
mv -f "$prefix/.sealed.toml.new" "$prefix/sealed.toml"
install -d -o root -g "$group" -m 1770 "$store"
chown root:"$group" "$store"
chmod 1770 "$store"
# The PAM service: after a person's Approve the sealed helper has the system confirm who
# approved, with the stacks everything else on this machine uses for a login, so that a
# fingerprint (pam_fprintd) or a security key (pam_u2f) works where it is set up. An existing
# file is the administrator's choice and stays; PAM itself must be able to read it.
pam_file="$pam_dir/cargo-confirm-gui"
if [ -e "$pam_file" ]; then
    echo "install-sealed: kept the existing PAM service $pam_file"
else
    if [ -e "$pam_dir/common-auth" ]; then
        stack=$'@include common-auth\n@include common-account'
    elif [ -e "$pam_dir/system-auth" ]; then
        stack=$'auth    include system-auth\naccount include system-auth'
    else
        stack=$'auth    required pam_unix.so\naccount required pam_unix.so'
    fi
    printf '# cargo-confirm-gui: after a person approves a registry token release in its window,\n# the sealed helper asks them to prove who they are through this service.\n%s\n' \
        "$stack" > "$pam_dir/.cargo-confirm-gui.new"
    chown root:root "$pam_dir/.cargo-confirm-gui.new"
    chmod 0644 "$pam_dir/.cargo-confirm-gui.new"
    mv -f "$pam_dir/.cargo-confirm-gui.new" "$pam_file"
    echo "install-sealed: wrote the PAM service $pam_file"
fi
if [ -n "$link_dir" ]; then
    install -d -o root -g root -m 0755 "$link_dir"
    ln -sfn "$prefix/cargo-confirm-gui" "$link_dir/cargo-confirm-gui"
fi

echo "install-sealed: installed $prefix/cargo-confirm-gui (setgid $group), store $store"
# The helper checks its own install every time it starts; ask it, as an unprivileged user
# (as root it skips the checks that only matter to users: that it started with its group,
# e.g. on a nosuid mount). On an unsafe install a command prints the helper's refusal with
# the fixes, and --help names the Secret Service instead of the sealed store.
as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups env -i PATH=/usr/bin:/bin)
if ! said=$("${as_nobody[@]}" "$prefix/cargo-confirm-gui" __check-install 2>&1); then
    echo "$said" >&2
    die "the installed helper refuses its install (above); fix it and run this again"
fi
"${as_nobody[@]}" "$prefix/cargo-confirm-gui" --help | grep -F "Token store: the sealed store $store " \
    || die "the installed helper does not say it runs sealed with the store $store: $prefix/cargo-confirm-gui --help"
