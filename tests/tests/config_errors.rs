// SPDX-License-Identifier: GPL-2.0-or-later
//! Configuration errors stop QEMU at start, with a non-zero exit status
//! and a message naming the device and the property: a mistyped value, an
//! out-of-range one, an unknown property, a missing required chardev, a
//! chardev id that does not exist, and two devices at one address (sysbus
//! placement over another device, over one of the board's, and two PCI
//! functions in one slot).

use qdev_tests::modules::rust_module;
use qdev_tests::{Qemu, QemuBuilder};

/// Starts QEMU expecting it to refuse; returns its standard error.
fn refused(b: QemuBuilder) -> String {
    match b.start() {
        Ok(q) => panic!(
            "QEMU started, but should have refused: {}",
            q.command_line()
        ),
        Err(e) => {
            assert!(e.is_exited(), "QEMU should exit at start: {e}");
            let status = e.exit_status().expect("QEMU's exit status");
            assert_eq!(status.code(), Some(1), "{e}");
            e.stderr().unwrap_or_default().to_string()
        }
    }
}

fn gpio() -> QemuBuilder {
    Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-gpio").unwrap())
}

fn assert_names(stderr: &str, needles: &[&str]) {
    for n in needles {
        assert!(stderr.contains(n), "missing {n:?} in:\n{stderr}");
    }
}

#[test]
fn a_mistyped_value_names_the_device_and_property() {
    let err = refused(gpio().device("qdev-gpio,id=g,ngpio=many"));
    assert_names(&err, &["qdev-gpio", "ngpio", "many"]);
}

#[test]
fn an_out_of_range_value_names_the_device_and_property() {
    let err = refused(gpio().device("qdev-gpio,id=g,ngpio=0"));
    assert_names(
        &err,
        &[
            "-device qdev-gpio,id=g,ngpio=0",
            "property 'ngpio' must be between 1 and 8, not 0",
        ],
    );
}

#[test]
fn an_unknown_property_names_the_device_and_property() {
    let err = refused(gpio().device("qdev-gpio,id=g,colour=blue"));
    assert_names(&err, &["qdev-gpio.colour", "not found"]);
}

#[test]
fn a_missing_required_chardev_names_the_device_and_property() {
    let err = refused(
        Qemu::builder()
            .machine("pc")
            .module(rust_module("qdev-fixture-fifo-uart").unwrap())
            .device("fixture-tx-only,mmio=0xfe000000"),
    );
    assert_names(
        &err,
        &["-device fixture-tx-only", "property 'chardev' is required"],
    );
}

#[test]
fn a_required_chardev_given_is_used() {
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-fixture-fifo-uart").unwrap())
        .arg("-chardev")
        .arg("null,id=host")
        .device("fixture-tx-only,mmio=0xfe000000,chardev=host")
        .start()
        .expect("QEMU starts with a chardev given");
    q.writel(0xfe00_0000, u32::from(b'x')).unwrap();
    assert!(q.try_exit_status().unwrap().is_none());
}

#[test]
fn an_unknown_chardev_id_names_the_device_and_property() {
    let err = refused(
        Qemu::builder()
            .machine("pc")
            .module(rust_module("qdev-16550").unwrap())
            .device("qdev-16550,chardev=nope"),
    );
    assert_names(&err, &["qdev-16550.chardev", "nope"]);
}

#[test]
fn two_sysbus_devices_at_one_address_are_refused() {
    let err = refused(
        gpio()
            .device("qdev-gpio,id=first,mmio=0xfe000000")
            .device("qdev-gpio,id=second,mmio=0xfe000080"),
    );
    assert_names(
        &err,
        &[
            "-device qdev-gpio,id=second,mmio=0xfe000080",
            "property 'mmio': region 'regs' at 0xfe000080..0xfe00017f overlaps 'qdev-gpio-regs' of /machine/peripheral/first",
        ],
    );
}

#[test]
fn a_sysbus_device_over_a_board_device_is_refused() {
    // The PC's HPET lives at 0xfed00000.
    let err = refused(gpio().device("qdev-gpio,id=g,mmio=0xfed00000"));
    assert_names(
        &err,
        &[
            "-device qdev-gpio,id=g",
            "property 'mmio'",
            "overlaps 'hpet'",
        ],
    );
}

#[test]
fn sysbus_devices_side_by_side_are_fine() {
    let q = gpio()
        .device("qdev-gpio,id=first,mmio=0xfe000000")
        .device("qdev-gpio,id=second,mmio=0xfe001000")
        .start()
        .expect("adjacent devices do not overlap");
    assert!(q.try_exit_status().unwrap().is_none());
}

#[test]
fn two_pci_devices_in_one_slot_are_refused() {
    let err = refused(
        Qemu::builder()
            .machine("pc")
            .module(rust_module("qdev-edu").unwrap())
            .device("qdev-edu,id=a,addr=5")
            .device("qdev-edu,id=b,addr=5"),
    );
    assert_names(
        &err,
        &[
            "-device qdev-edu,id=b,addr=5",
            "slot 5 function 0 not available",
            "in use by qdev-edu",
        ],
    );
}
