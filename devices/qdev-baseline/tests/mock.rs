// SPDX-License-Identifier: GPL-2.0-or-later
//! The baseline device on the mocked bus: the behaviour the QEMU tests in
//! `tests/tests/baseline.rs` check, without QEMU.

use qdev_baseline::{Baseline, BASELINE_ID};
use qdev_runtime::log::LogClass;
use qdev_runtime::mock::{LineEvent, MockDevice};
use qdev_runtime::LineRef;

#[test]
fn id_reads_qdev_and_ignores_writes() {
    let mut dev = MockDevice::<Baseline>::new().unwrap();
    assert_eq!(dev.readl(0x00), BASELINE_ID);
    dev.writel(0x00, 0);
    assert_eq!(dev.readl(0x00), BASELINE_ID);
    let log = dev.take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].class, LogClass::GuestError);
    assert!(
        log[0].message.contains("read-only register ID"),
        "{:?}",
        log[0]
    );
}

#[test]
fn scratch_reads_back_and_resets_to_zero() {
    let mut dev = MockDevice::<Baseline>::new().unwrap();
    dev.writel(0x04, 0xdead_beef);
    assert_eq!(dev.readl(0x04), 0xdead_beef);
    dev.writeb(0x05, 0x12);
    assert_eq!(
        dev.readl(0x04),
        0xdead_12ef,
        "a byte write changes one lane"
    );
    dev.reset();
    assert_eq!(dev.readl(0x04), 0);
}

#[test]
fn raise_and_ack_drive_intx_in_order() {
    let mut dev = MockDevice::<Baseline>::new().unwrap();
    dev.writel(0x0c, 1);
    assert_eq!(dev.readl(0x08), 1);
    assert!(dev.line_level(LineRef::Intx));
    dev.writel(0x10, 1);
    assert_eq!(dev.readl(0x08), 0);
    assert_eq!(
        dev.take_line_events(),
        [
            LineEvent::new(LineRef::Intx, true),
            LineEvent::new(LineRef::Intx, false)
        ]
    );
}

#[test]
fn unknown_offset_reads_zero_and_logs_a_guest_error() {
    let mut dev = MockDevice::<Baseline>::new().unwrap();
    assert_eq!(dev.readl(0x40), 0);
    let log = dev.take_log();
    assert_eq!(
        log[0].message,
        "qdev-baseline: read (4 bytes) from unmapped offset 0x40 of region 'mmio'"
    );
}

#[test]
fn write_only_registers_read_as_zero() {
    let mut dev = MockDevice::<Baseline>::new().unwrap();
    assert_eq!(dev.readl(0x0c), 0);
    assert!(dev.take_log()[0]
        .message
        .contains("write-only register IRQ_RAISE"));
}
