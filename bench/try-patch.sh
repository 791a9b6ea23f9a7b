#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Measures a proposed change to qdev without touching this tree:
#
#   bench/try-patch.sh PATCH[,PATCH...] [bench/run.sh arguments...]
#   bench/try-patch.sh bench/proposals/measure-floor.patch --quick dispatch
#
# copies the tracked files of this checkout (as they are on disk) into a new
# directory ($QDEV_BENCH_TRY_DIR, else a fresh /tmp/qdev-try.XXXXXX), applies
# the patches there in order (patch -p1), and runs bench/run.sh with QDEV_BENCH_ROOT set to
# the copy: the modules are built from the patched copy, the C baseline is
# the same, and the report goes to the copy's target/bench/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
IFS=, read -r -a patches <<< "$1"
shift
dir="${QDEV_BENCH_TRY_DIR:-$(mktemp -d /tmp/qdev-try.XXXXXX)}"
mkdir -p "$dir"
git ls-files -z | xargs -0 cp --parents -t "$dir"
cp Cargo.lock "$dir/"
for p in "${patches[@]}"; do
    patch -d "$dir" -p1 --forward --quiet < "$(realpath "$p")"
    echo "bench/try-patch.sh: $p applied in $dir" >&2
done
QDEV_BENCH_ROOT="$dir" exec bench/run.sh "$@"
