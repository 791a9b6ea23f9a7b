#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qdev's performance benchmarks: the Rust baseline device (devices/qdev-baseline)
# against its C twin (devices/c-baseline) in the stock QEMU, and the costs
# around them. Prints tables and a summary against the targets, and writes
# the same as Markdown to target/bench/report.md. See docs/performance.md.
#
#   bench/run.sh [--quick] [--build-4096] [SECTION...]
#
# Sections (default: all): dispatch e2e scaling startup build mock
#   dispatch  instructions in the MMIO callbacks per access (callgrind, qtest)
#   e2e       MMIO accesses per second from a Linux guest under TCG
#   scaling   dispatch cost of generated devices with 8..4096 registers
#   startup   QEMU start-up with and without the module; stripped .so size
#   build     time to expand and compile generated devices
#   mock      accesses per second on the mocked bus
# --quick       fewer accesses and repetitions (a smoke run, ~2 minutes warm)
# --build-4096  also time the 4096-register build (about 10 minutes more)
# --registers LIST  the register counts of the scaling section (default
#               8,64,512,4096)
#
# Environment:
#   QDEV_BENCH_ROOT  build the modules from another qdev tree (e.g. a copy
#                    with a proposed runtime change, see bench/try-patch.sh);
#                    default: this one
#   QDEV_BENCH_DIR   work directory: profiles, generated devices, report.md
#                    (default: target/bench of the tree the modules come from)
#   QDEV_QEMU        the QEMU binary (default: qemu-system-x86_64)
#
# Needs: the SDK (`cargo qdev sdk`), valgrind, gcc (with a static libc for
# the guest program), make, pkg-config, strip; the guest assets
# (scripts/guest-assets.sh, fetched on first use) for e2e.
# The benchmarks are not part of scripts/test.sh: they print figures and
# fail only when something cannot be measured.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in valgrind cc make pkg-config strip; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is needed" >&2; exit 1; }
done

# The SDK for the installed QEMU (a no-op once built).
cargo qdev sdk >/dev/null

# The benchmark driver: a Cargo project of its own (not a workspace member),
# built into target/bench/cargo, in both profiles (the dev build measures the
# mocked bus the way `cargo test` runs it).
target="$PWD/target/bench/cargo"
cargo build --quiet --release --manifest-path bench/Cargo.toml --target-dir "$target"
cargo build --quiet --manifest-path bench/Cargo.toml --target-dir "$target"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the wall-clock figures want an idle machine)" >&2
"$target/release/qdev-bench" --debug-tool "$target/debug/qdev-bench" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
