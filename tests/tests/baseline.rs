// SPDX-License-Identifier: GPL-2.0-or-later
//! The baseline device in C (built with the SDK's pkg-config file) and its
//! Rust twin (built with `#[qemu_device]`), loaded into the stock QEMU and
//! driven through qtest: the same register map, the same answers.

use std::path::PathBuf;
use std::time::Duration;

use qdev_tests::modules::{c_baseline, rust_module};
use qdev_tests::{IrqEvent, Qemu};

const ID: u32 = 0x7164_6576;

struct Twin {
    module: PathBuf,
    device: &'static str,
    device_id: u16,
    /// What the device logs for a read of an unknown offset 0x40.
    unknown_read_log: &'static str,
}

fn c_twin() -> Twin {
    Twin {
        module: c_baseline().expect("build the C baseline"),
        device: "qdev-c-baseline",
        device_id: 0xbace,
        unknown_read_log: "qdev-c-baseline: read of unknown register 0x40",
    }
}

fn rust_twin() -> Twin {
    Twin {
        module: rust_module("qdev-baseline").expect("build the Rust baseline"),
        device: "qdev-baseline",
        device_id: 0xbacf,
        unknown_read_log:
            "qdev-baseline: read (4 bytes) from unmapped offset 0x40 of region 'mmio'",
    }
}

fn answers_through_qtest(twin: Twin, machine: &str) {
    let qemu = Qemu::builder()
        .machine(machine)
        .module(&twin.module)
        .device(twin.device)
        .log("guest_errors")
        .start()
        .expect("QEMU starts with the module");
    let f = qemu
        .pci_find(0x1234, twin.device_id)
        .unwrap()
        .expect("the device enumerates on bus 0");
    assert_eq!(f.revision, 1);
    let bar = qemu.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    assert_eq!(bar.size(), 0x1000);

    assert_eq!(bar.readl(0x00).unwrap(), ID, "ID register");
    bar.writel(0x04, 0xdead_beef).unwrap();
    assert_eq!(bar.readl(0x04).unwrap(), 0xdead_beef, "scratch reads back");
    bar.writel(0x00, 0).unwrap();
    assert_eq!(bar.readl(0x00).unwrap(), ID, "ID is read-only");

    let gsi = qemu.pci_intx_gsi(&f).unwrap();
    qemu.irq_intercept_in("ioapic").unwrap();
    bar.writel(0x0c, 1).unwrap();
    assert!(qemu.irq_level(gsi), "IRQ raised");
    assert_eq!(bar.readl(0x08).unwrap(), 1, "IRQ_STATUS shows it");
    bar.writel(0x10, 1).unwrap();
    assert!(!qemu.irq_level(gsi), "IRQ lowered");
    let events: Vec<IrqEvent> = qemu
        .irq_events()
        .into_iter()
        .filter(|e| e.line == gsi)
        .collect();
    assert_eq!(
        events,
        [
            IrqEvent {
                line: gsi,
                level: true
            },
            IrqEvent {
                line: gsi,
                level: false
            }
        ]
    );

    assert_eq!(bar.readl(0x40).unwrap(), 0, "unknown offsets read 0");
    qemu.wait_stderr(twin.unknown_read_log, Duration::from_secs(5))
        .expect("the guest error is logged, naming the device and offset");
    assert!(
        qemu.try_exit_status().unwrap().is_none(),
        "QEMU is still running"
    );
}

#[test]
fn c_baseline_answers_on_pc() {
    answers_through_qtest(c_twin(), "pc");
}

#[test]
fn c_baseline_answers_on_q35() {
    answers_through_qtest(c_twin(), "q35");
}

#[test]
fn rust_baseline_answers_on_pc() {
    answers_through_qtest(rust_twin(), "pc");
}

#[test]
fn rust_baseline_answers_on_q35() {
    answers_through_qtest(rust_twin(), "q35");
}
