// SPDX-License-Identifier: GPL-2.0-or-later
//! The i6300esb-compatible watchdog inside QEMU: programmed through its
//! config-space registers and BAR, it keeps quiet while pinged and fires the
//! machine's watchdog action when not, seen from the host as QMP events.

use std::time::{Duration, Instant};

use qdev_tests::modules::rust_module;
use qdev_tests::{Bar, PciFunction, Qemu};

fn start(action: &str) -> (Qemu, PciFunction) {
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-i6300esb").unwrap())
        .device("qdev-i6300esb")
        .args(["-action", &format!("watchdog={action}")])
        .start()
        .unwrap();
    let f = q
        .pci_find(0x8086, 0x25ab)
        .unwrap()
        .expect("the watchdog enumerates");
    (q, f)
}

fn unlock(bar: &Bar) {
    bar.writew(0x0c, 0x80).unwrap();
    bar.writew(0x0c, 0x86).unwrap();
}

/// 1 MHz clock, both stages `preload << 5` ticks of 30 ns, then enable.
fn arm(q: &Qemu, f: &PciFunction, bar: &Bar, preload: u32) {
    q.pci_config_writew(f.bdf, 0x60, 1 << 2).unwrap();
    unlock(bar);
    bar.writel(0x00, preload).unwrap();
    unlock(bar);
    bar.writel(0x04, preload).unwrap();
    q.pci_config_writeb(f.bdf, 0x68, 1 << 1).unwrap();
}

#[test]
fn an_unfed_watchdog_fires_the_configured_action() {
    let (q, f) = start("pause");
    let bar = q.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    assert_eq!(
        q.pci_config_readb(f.bdf, 0x68).unwrap(),
        0,
        "disabled at reset"
    );
    q.resume().unwrap();
    let started = Instant::now();
    arm(&q, &f, &bar, 10_000); // 10_000 << 5 * 30 ns = 9.6 ms per stage
    let event = q
        .wait_qmp_event("WATCHDOG", Duration::from_secs(10))
        .unwrap();
    let took = started.elapsed();
    assert_eq!(event.data["action"].as_str(), Some("pause"));
    assert!(
        took >= Duration::from_millis(15),
        "fired after {took:?}, before two stages"
    );
    q.wait_qmp_event("STOP", Duration::from_secs(5)).unwrap();
}

#[test]
fn pings_keep_it_quiet_and_reset_is_the_default_action() {
    let (q, f) = start("reset");
    let bar = q.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    q.resume().unwrap();
    arm(&q, &f, &bar, 100_000); // 96 ms per stage
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        unlock(&bar);
        bar.writew(0x0c, 1 << 8).unwrap(); // ping
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        q.qmp_events().iter().all(|e| e.name != "WATCHDOG"),
        "fired while pinged"
    );
    let event = q
        .wait_qmp_event("WATCHDOG", Duration::from_secs(10))
        .unwrap();
    assert_eq!(event.data["action"].as_str(), Some("reset"));
    q.wait_qmp_event("RESET", Duration::from_secs(5)).unwrap();
}
