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
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
cargo test --workspace
# The devices' own tests once more with no QEMU and no SDK in reach: the
# mocked bus needs neither.
QDEV_SDK=/nonexistent QDEV_QEMU=/nonexistent CARGO_TARGET_DIR=target/no-sdk \
    cargo test --no-default-features \
    $(for d in devices/*/Cargo.toml tests/fixtures/*/Cargo.toml; do
          sed -n 's/^name = "\(.*\)"/-p \1/p' "$d" | head -n 1
      done)
