#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prepare a Debian 12 (bookworm) machine to build and test qdev modules.
#
# Idempotent: every step first checks whether it is needed, says what it
# changes, and does nothing when all is in place. On a system it does not
# know how to prepare it stops and names what the user must provide instead.
set -euo pipefail

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

CACHE="${QDEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qdev}"
QEMU_SERIES="10.0"

unsupported() {
    cat >&2 <<MSG
bootstrap: error: this script prepares Debian 12 (bookworm) only; found: $1.
On another system, provide these yourself, then run \`cargo qdev sdk\`:
  - QEMU ${QEMU_SERIES}.x system emulators (qemu-system-x86_64, qemu-system-aarch64)
    built with module support (the binary must export its symbols)
  - the source tarball of exactly that QEMU version
    (pass it with \`cargo qdev sdk --source-tarball FILE\`)
  - libclang (for bindgen), glib-2.0 and pixman development files,
    libfdt, pkg-config, ninja, flex, bison, bzip2, python3 with venv,
    gcc, make, cpio, busybox (static) for guest tests
MSG
    exit 1
}

[ -r /etc/os-release ] || unsupported "no /etc/os-release"
# shellcheck disable=SC1091
. /etc/os-release
[ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ] \
    || unsupported "${PRETTY_NAME:-unknown}"
[ "$(dpkg --print-architecture)" = amd64 ] \
    || unsupported "Debian bookworm on $(dpkg --print-architecture) (only amd64 hosts are tested)"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: run this script as root once"
    SUDO="sudo"
fi

# --- apt sources: bookworm-backports (deb + deb-src) and deb-src for bookworm
SRC=/etc/apt/sources.list.d/qdev-bookworm.sources
want_sources='Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
apt_updated=0
if [ ! -f "$SRC" ] || [ "$(cat "$SRC")" != "$want_sources" ]; then
    say "adding apt sources for bookworm-backports and deb-src in $SRC"
    printf '%s\n' "$want_sources" | $SUDO tee "$SRC" >/dev/null
    say "running apt-get update"
    $SUDO apt-get update -qq
    apt_updated=1
fi

# --- Debian packages
PKGS=(
    # building the SDK: QEMU's configure and its generated headers
    libglib2.0-dev libpixman-1-dev libfdt-dev pkg-config ninja-build flex bison
    bzip2 xz-utils python3 python3-venv curl ca-certificates
    # bindgen, the C baseline
    libclang-dev gcc make
    # guest tests and benchmarks (libc6-dev: static guest programs, gcc -static)
    cpio busybox-static valgrind socat libc6-dev gdb
)
BACKPORT_PKGS=(qemu-system-x86 qemu-system-arm)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
qemu_ok=1
for p in "${BACKPORT_PKGS[@]}"; do
    v=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null || true)
    case "$v" in
        "install ok installed 1:${QEMU_SERIES}."*) ;;
        *) qemu_ok=0 ;;
    esac
done
if [ ${#missing[@]} -gt 0 ] || [ $qemu_ok -eq 0 ]; then
    [ $apt_updated -eq 1 ] || { say "running apt-get update"; $SUDO apt-get update -qq; }
    export DEBIAN_FRONTEND=noninteractive
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing: ${missing[*]}"
        $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ $qemu_ok -eq 0 ]; then
        say "installing QEMU ${QEMU_SERIES}.x from bookworm-backports: ${BACKPORT_PKGS[*]}"
        $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports \
            "${BACKPORT_PKGS[@]}" >/dev/null
    fi
fi

# --- meson for QEMU's configure (the +ds tarball has no python/wheels)
VENV="$CACHE/python"
if ! "$VENV/bin/python3" -c 'import mesonbuild, pycotap' 2>/dev/null \
    || [ "$("$VENV/bin/meson" --version 2>/dev/null)" != 1.5.0 ]; then
    say "creating a Python venv with meson 1.5.0 and pycotap in $VENV"
    mkdir -p "$CACHE"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check meson==1.5.0 pycotap
fi

v=$(qemu-system-x86_64 --version | head -n1)
say "ready: $v"
