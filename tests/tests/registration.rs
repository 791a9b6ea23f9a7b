// SPDX-License-Identifier: GPL-2.0-or-later
//! One module may hold several device types; a PCI device's IDs, class and
//! BARs (memory and I/O) come from the DSL.

use qdev_tests::modules::rust_module;
use qdev_tests::{BarKind, Qemu};

#[test]
fn one_module_registers_two_device_types_that_work_together() {
    let q = Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-fixture-two-devices").unwrap())
        .device("fixture-sysbus,mmio=0xfed02000")
        .device("fixture-pci")
        .start()
        .unwrap();
    assert_eq!(q.readl(0xfed0_2000).unwrap(), 0x5b5b_5b5b);
    let f = q
        .pci_find(0x1234, 0xf1c5)
        .unwrap()
        .expect("fixture-pci enumerates");
    assert_eq!(f.class_code, 0x08_80_01, "class, subclass, prog-if");
    assert_eq!(f.revision, 3);
    assert_eq!((f.subsystem_vendor_id, f.subsystem_id), (0x1af4, 0x1100));
    assert_eq!(f.interrupt_pin, 0, "no #[irq], no interrupt pin");

    let io = q.pci_bar_info(&f, 0).unwrap().expect("BAR 0");
    assert_eq!((io.kind, io.size), (BarKind::Io, 0x10));
    let mem = q.pci_bar_info(&f, 2).unwrap().expect("BAR 2");
    assert_eq!((mem.kind, mem.size), (BarKind::Memory32, 0x1000));
    assert!(q.pci_bar_info(&f, 1).unwrap().is_none(), "BAR 1 is unused");

    let io = q.pci_map_bar(&f, 0, 0xc000).unwrap();
    assert_eq!(io.readb(0x4).unwrap(), 0x42);
    io.writeb(0x4, 0x17).unwrap();
    assert_eq!(io.readb(0x4).unwrap(), 0x17);
    let mem = q.pci_map_bar(&f, 2, 0xfe00_0000).unwrap();
    assert_eq!(mem.readl(0x0).unwrap(), 0x9c9c_9c9c);
}
