#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite: set up this machine (once), build the SDK (once),
# then formatting, lints and every test, including those that start the
# stock QEMU with modules preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cargo qdev sdk
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
