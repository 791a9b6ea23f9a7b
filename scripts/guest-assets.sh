#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch and build what a real Linux guest needs for qdev's guest tests
# (qdev_tests::guest):
#
#   - Debian bookworm's kernel: `linux-image-amd64` is a metapackage; its
#     dependency `linux-image-<abi>-amd64` holds `vmlinuz` and the modules.
#     Kept: vmlinuz, its config, modules.builtin/order, and the module
#     directories the tests use (MODULE_DIRS below, plus every module they
#     depend on).
#   - `busybox-static`: the guest's whole userland.
#   - the guest programs in tests/guest/*.c, built with `gcc -static`.
#
# Everything goes under ${QDEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qdev}/guest.
# Packages are fetched with `apt-get download` (no root needed, nothing is
# installed on the host) and unpacked with `dpkg -x`.
#
# Idempotent: a second run finds the manifest and its files and only checks
# that the guest programs are up to date. Prints progress on stderr and, on
# stdout, the path of the manifest (KEY=VALUE lines) the harness reads.
#
# Options:
#   --refresh   forget the cached kernel and busybox and fetch the current
#               candidates again (after `apt-get update`)
set -euo pipefail

say() { printf 'guest-assets: %s\n' "$*" >&2; }
die() { printf 'guest-assets: error: %s\n' "$*" >&2; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${QDEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qdev}"
GUEST="$CACHE/guest"
MANIFEST="$GUEST/assets.env"
PROGRAM_SRC="$ROOT/tests/guest"

# Module directories (relative to /lib/modules/<ver>/kernel) kept from the
# kernel package. The harness packs only the modules a test asks for, so
# keeping more costs disk space, not boot time.
MODULE_DIRS=(
    drivers/uio
    drivers/watchdog
    drivers/virtio
    drivers/char/hw_random
    drivers/char/virtio_console.ko
    drivers/gpio
    drivers/i2c
    drivers/spi
    drivers/misc
)

refresh=0
for arg in "$@"; do
    case "$arg" in
        --refresh) refresh=1 ;;
        -h|--help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done

# --- the guest programs (also on a warm run: their sources may change)
build_programs() {
    local src name hash out
    mkdir -p "$GUEST/bin"
    shopt -s nullglob
    local sources=("$PROGRAM_SRC"/*.c)
    shopt -u nullglob
    [ ${#sources[@]} -gt 0 ] || return 0
    command -v gcc >/dev/null || die "gcc is needed to build the guest programs in $PROGRAM_SRC (run scripts/bootstrap.sh)"
    local list=""
    for src in "${sources[@]}"; do
        name="$(basename "$src" .c)"
        # Named by the source's hash: work trees sharing the cache never
        # pick up each other's builds.
        hash="$(sha256sum "$src" | cut -c1-16)"
        out="$GUEST/bin/$name-$hash"
        if [ ! -x "$out" ]; then
            say "building guest program $name (gcc -static) from $src"
            local log
            if ! log="$(gcc -static -O2 -Wall -Wextra -o "$out.tmp" "$src" 2>&1)"; then
                rm -f "$out.tmp"
                printf '%s\n' "$log" >&2
                if printf '%s' "$log" | grep -q 'cannot find -lc'; then
                    die "gcc -static found no static C library: install libc6-dev (scripts/bootstrap.sh does)"
                fi
                die "building $src failed"
            fi
            [ -z "$log" ] || printf '%s\n' "$log" >&2
            mv "$out.tmp" "$out"
            # Older builds of the same program are of no use any more.
            find "$GUEST/bin" -maxdepth 1 -name "$name-*" ! -name "$name-$hash" -delete
        fi
        list+="program.$name=$out"$'\n'
    done
    printf '%s' "$list"
}

manifest_ok() {
    [ -f "$MANIFEST" ] || return 1
    local kernel modules busybox
    kernel="$(sed -n 's/^KERNEL=//p' "$MANIFEST")"
    modules="$(sed -n 's/^MODULES=//p' "$MANIFEST")"
    busybox="$(sed -n 's/^BUSYBOX=//p' "$MANIFEST")"
    [ -n "$kernel" ] && [ -f "$kernel" ] && [ -n "$modules" ] && [ -f "$modules/modules.builtin" ] \
        && [ -n "$busybox" ] && [ -x "$busybox" ]
}

# The package name of the real kernel behind the metapackage.
kernel_package() {
    local dep
    dep="$(apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)"
    [ -n "$dep" ] || die "apt knows no linux-image-amd64 with a linux-image-<abi>-amd64 dependency; run \`apt-get update\` (as root) and retry"
    printf '%s\n' "$dep"
}

# apt-get download PKG into $1 (as root, apt's sandbox user cannot write
# into a home directory, so do without it).
download() {
    local dir="$1"; shift
    local opts=()
    [ "$(id -u)" -ne 0 ] || opts=(-o APT::Sandbox::User=root)
    local log
    if ! log="$(cd "$dir" && apt-get download -q "${opts[@]}" "$@" 2>&1)"; then
        printf '%s\n' "$log" >&2
        die "apt-get download $* failed; if apt's lists are stale, run \`apt-get update\` (as root) and retry"
    fi
}

# The module's dependencies, from its .modinfo section.
module_depends() {
    tr '\0' '\n' < "$1" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}

# The ELF vmlinux inside a bzImage: the payload after the first xz header
# that decompresses to an ELF image (what the kernel's
# scripts/extract-vmlinux does). An ELF vmlinux with Xen's PVH note boots
# directly (-kernel), with no decompression stub to run under TCG.
extract_vmlinux() {
    local bz="$1" out="$2" off
    command -v xz >/dev/null || die "xz is needed to extract vmlinux (install xz-utils; scripts/bootstrap.sh does)"
    for off in $(LC_ALL=C grep -aboF "$(printf '\3757zXZ')" "$bz" | cut -d: -f1); do
        # xz reports the bzImage's tail as trailing garbage: judge by the result.
        tail -c +"$((off + 1))" "$bz" | xz -dc > "$out.tmp" 2>/dev/null || true
        if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
            mv "$out.tmp" "$out"
            return 0
        fi
    done
    rm -f "$out.tmp"
    die "found no xz-compressed ELF image in $bz (CONFIG_KERNEL_XZ expected)"
}

fetch() {
    command -v apt-get >/dev/null && command -v dpkg >/dev/null \
        || die "apt-get and dpkg are needed (Debian bookworm; see scripts/bootstrap.sh)"
    local start=$SECONDS
    local work
    work="$(mktemp -d "$GUEST/.fetch.XXXXXX")"
    trap 'rm -rf "$work"' EXIT

    local kpkg
    kpkg="$(kernel_package)"
    say "downloading $kpkg (the kernel behind linux-image-amd64) and busybox-static with apt-get download"
    download "$work" "$kpkg" busybox-static
    local kdeb bdeb
    kdeb="$(ls "$work"/linux-image-*.deb)"
    bdeb="$(ls "$work"/busybox-static_*.deb)"
    local kver bver
    kver="${kpkg#linux-image-}"
    bver="$(dpkg-deb -f "$bdeb" Version)"
    local kpkgver
    kpkgver="$(dpkg-deb -f "$kdeb" Version)"

    say "unpacking $(basename "$kdeb")"
    dpkg -x "$kdeb" "$work/k"
    [ -f "$work/k/boot/vmlinuz-$kver" ] || die "$(basename "$kdeb") has no boot/vmlinuz-$kver"
    local kmods="$work/k/lib/modules/$kver"
    [ -d "$kmods/kernel" ] || die "$(basename "$kdeb") has no lib/modules/$kver/kernel"

    local kdir="$GUEST/kernel-$kver-$kpkgver"
    rm -rf "$kdir.tmp"
    mkdir -p "$kdir.tmp/modules/$kver"
    cp "$work/k/boot/vmlinuz-$kver" "$kdir.tmp/vmlinuz"
    say "extracting the uncompressed vmlinux from vmlinuz (QEMU boots it through PVH, skipping decompression under TCG)"
    extract_vmlinux "$kdir.tmp/vmlinuz" "$kdir.tmp/vmlinux"
    cp "$work/k/boot/config-$kver" "$kdir.tmp/config"
    cp "$kmods"/modules.builtin "$kmods"/modules.order "$kdir.tmp/modules/$kver/"
    [ ! -f "$kmods/modules.builtin.modinfo" ] || cp "$kmods/modules.builtin.modinfo" "$kdir.tmp/modules/$kver/"

    say "keeping modules under: ${MODULE_DIRS[*]} (and what they depend on)"
    local d
    for d in "${MODULE_DIRS[@]}"; do
        if [ -e "$kmods/kernel/$d" ]; then
            (cd "$kmods" && cp -a --parents "kernel/$d" "$kdir.tmp/modules/$kver/")
        else
            say "note: $kver has no kernel/$d; skipped"
        fi
    done
    # Close over dependencies: a kept module must find what it needs.
    local index="$work/index"
    (cd "$kmods" && find kernel -name '*.ko' | awk -F/ '{n=$NF; sub(/\.ko$/,"",n); gsub(/-/,"_",n); print n, $0}') > "$index"
    local changed=1 ko dep path
    while [ $changed -eq 1 ]; do
        changed=0
        while IFS= read -r ko; do
            for dep in $(module_depends "$ko"); do
                dep="${dep//-/_}"
                path="$(awk -v n="$dep" '$1 == n {print $2; exit}' "$index")"
                if [ -z "$path" ]; then
                    grep -q "/${dep}.ko\$" "$kmods/modules.builtin" 2>/dev/null \
                        || grep -q "/${dep//_/-}.ko\$" "$kmods/modules.builtin" 2>/dev/null \
                        || say "warning: $(basename "$ko") depends on $dep, which is neither a module nor built in"
                    continue
                fi
                if [ ! -f "$kdir.tmp/modules/$kver/$path" ]; then
                    (cd "$kmods" && cp -a --parents "$path" "$kdir.tmp/modules/$kver/")
                    changed=1
                fi
            done
        done < <(find "$kdir.tmp/modules/$kver/kernel" -name '*.ko')
    done
    local nmods
    nmods="$(find "$kdir.tmp/modules/$kver/kernel" -name '*.ko' | wc -l)"
    rm -rf "$kdir"
    mv "$kdir.tmp" "$kdir"

    say "unpacking $(basename "$bdeb")"
    dpkg -x "$bdeb" "$work/b"
    [ -x "$work/b/bin/busybox" ] || die "$(basename "$bdeb") has no bin/busybox"
    local bdir="$GUEST/busybox-${bver#*:}"
    mkdir -p "$bdir"
    cp "$work/b/bin/busybox" "$bdir/busybox.tmp"
    mv "$bdir/busybox.tmp" "$bdir/busybox"

    cat > "$MANIFEST.tmp" <<EOF
# written by scripts/guest-assets.sh; \`scripts/guest-assets.sh --refresh\` fetches again
KERNEL_PACKAGE=$kpkg
KERNEL_PACKAGE_VERSION=$kpkgver
KERNEL_VERSION=$kver
KERNEL=$kdir/vmlinux
BZIMAGE=$kdir/vmlinuz
KERNEL_CONFIG=$kdir/config
MODULES=$kdir/modules/$kver
BUSYBOX=$bdir/busybox
BUSYBOX_VERSION=$bver
EOF
    mv "$MANIFEST.tmp" "$MANIFEST"
    # Earlier kernels and busyboxes in the cache are no longer named.
    find "$GUEST" -maxdepth 1 \( -name 'kernel-*' ! -name "$(basename "$kdir")" \
        -o -name 'busybox-*' ! -name "$(basename "$bdir")" \) -exec rm -rf {} +
    rm -rf "$work"
    trap - EXIT
    say "kernel $kver ($kpkg $kpkgver, $nmods modules kept) and busybox $bver ready in $((SECONDS - start)) s"
}

mkdir -p "$GUEST"
# One run at a time (parallel test processes share the cache).
exec 9>"$GUEST/.lock"
if command -v flock >/dev/null; then
    flock -w 600 9 || die "another guest-assets.sh run holds $GUEST/.lock for over 10 minutes"
fi

if [ $refresh -eq 1 ]; then
    say "--refresh: forgetting $MANIFEST"
    rm -f "$MANIFEST"
fi
if manifest_ok; then
    :
else
    [ ! -f "$MANIFEST" ] || say "$MANIFEST names missing files; fetching again"
    say "fetching the guest kernel and busybox into $GUEST"
    fetch
fi

programs="$(build_programs)"
# The manifest's program lines follow the build (sources may change between runs).
new="$(grep -v '^program\.' "$MANIFEST")"
[ -z "$programs" ] || new+=$'\n'"$programs"
if [ "$(cat "$MANIFEST"; echo .)" != "$new"$'\n.' ]; then
    printf '%s\n' "$new" > "$MANIFEST.tmp"
    mv "$MANIFEST.tmp" "$MANIFEST"
fi
printf '%s\n' "$MANIFEST"
