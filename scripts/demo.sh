#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job: set up this machine (once), build the QEMU device SDK for
# the installed QEMU (once), then run a Rust device inside the stock QEMU
# and show what it answers.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cargo qdev sdk
cargo run --quiet -p qdev-tests --example demo
