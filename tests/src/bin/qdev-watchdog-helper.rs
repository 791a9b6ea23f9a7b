// SPDX-License-Identifier: GPL-2.0-or-later
//! Starts a QEMU through the harness, prints its pid and socket directory,
//! then sleeps until killed. The harness self-test kills this process with
//! SIGKILL (no destructors run) and checks that the watchdog took QEMU down.

use std::time::Duration;

use qdev_tests::Qemu;

fn main() {
    let qemu = Qemu::builder().machine("pc").start().expect("QEMU starts");
    println!("QEMU_PID={} {}", qemu.pid(), qemu.temp_dir().display());
    std::thread::sleep(Duration::from_secs(60));
}
