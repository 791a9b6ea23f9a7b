// SPDX-License-Identifier: GPL-2.0-or-later
//! A hostile guest: thousands of random accesses (every size, offsets in
//! and just past each region, random values, random config-space writes
//! past the standard header) to every example device in QEMU. QEMU must
//! keep running and the device must still answer afterwards.

use qdev_tests::modules::rust_module;
use qdev_tests::{Qemu, QemuBuilder};

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const ACCESSES: usize = 3000;

/// Random accesses to `[base, base + size + 16)`.
fn hammer(q: &Qemu, rng: &mut Rng, base: u64, size: u64, io: bool) {
    for _ in 0..ACCESSES {
        let r = rng.next();
        let width = [1u64, 2, 4, 8][(r & 3) as usize];
        let offset = (r >> 8) % (size + 16);
        let addr = base + (offset & !(width - 1));
        let value = rng.next();
        let write = r & 0x10 != 0;
        let ok = match (io, write, width) {
            (true, _, 8) => Ok(()),
            (true, true, 1) => q.outb(addr as u16, value as u8),
            (true, true, 2) => q.outw(addr as u16, value as u16),
            (true, true, _) => q.outl(addr as u16, value as u32),
            (true, false, 1) => q.inb(addr as u16).map(drop),
            (true, false, 2) => q.inw(addr as u16).map(drop),
            (true, false, _) => q.inl(addr as u16).map(drop),
            (false, true, 1) => q.writeb(addr, value as u8),
            (false, true, 2) => q.writew(addr, value as u16),
            (false, true, 4) => q.writel(addr, value as u32),
            (false, true, _) => q.writeq(addr, value),
            (false, false, 1) => q.readb(addr).map(drop),
            (false, false, 2) => q.readw(addr).map(drop),
            (false, false, 4) => q.readl(addr).map(drop),
            (false, false, _) => q.readq(addr).map(drop),
        };
        ok.unwrap_or_else(|e| panic!("QEMU stopped answering at {addr:#x}: {e}"));
    }
}

fn pci_device(
    builder: QemuBuilder,
    vendor: u16,
    device: u16,
    check: impl Fn(&Qemu, &qdev_tests::PciFunction),
) {
    let q = builder.start().unwrap();
    let f = q.pci_find(vendor, device).unwrap().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(device));
    // The device's own part of config space, then its BARs.
    for _ in 0..300 {
        let r = rng.next();
        let off = 0x40 + (r % 0xc0) as u8;
        q.pci_config_writeb(f.bdf, off, (r >> 16) as u8).unwrap();
        q.pci_config_readl(f.bdf, off & !3).unwrap();
    }
    let mut base = 0xfe00_0000u64;
    let mut port = 0xc000u64;
    for i in 0..6u8 {
        if let Some(info) = q.pci_bar_info(&f, i).unwrap() {
            let io = info.kind == qdev_tests::BarKind::Io;
            let addr = if io { port } else { base };
            let bar = q.pci_map_bar(&f, i, addr).unwrap();
            hammer(&q, &mut rng, bar.address(), info.size.min(0x1000), io);
            if io {
                port += info.size.max(0x100);
            } else {
                base += info.size.max(0x10_0000);
            }
        }
    }
    assert!(q.try_exit_status().unwrap().is_none(), "QEMU died");
    check(&q, &f);
}

#[test]
fn edu_survives_a_hostile_guest() {
    let b = Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-edu").unwrap())
        .device("qdev-edu");
    pci_device(b, 0x1234, 0x11e8, |q, f| {
        // Re-map BAR 0 where the test can find it and read the ID.
        let bar = q.pci_map_bar(f, 0, 0xfd00_0000).unwrap();
        assert_eq!(bar.readl(0).unwrap(), 0x0100_00ed);
    });
}

#[test]
fn uart16550_survives_a_hostile_guest() {
    let b = Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-16550").unwrap())
        .device("qdev-16550");
    pci_device(b, 0x1234, 0x1655, |q, f| {
        let io = q.pci_map_bar(f, 0, 0xd000).unwrap();
        io.writeb(3, 0).unwrap(); // DLAB off
        io.writeb(7, 0x5a).unwrap();
        assert_eq!(io.readb(7).unwrap(), 0x5a, "scratch register");
    });
}

#[test]
fn watchdog_survives_a_hostile_guest() {
    let b = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-i6300esb").unwrap())
        .device("qdev-i6300esb")
        .args(["-action", "watchdog=none"]);
    pci_device(b, 0x8086, 0x25ab, |q, f| {
        assert!(q.pci_config_readw(f.bdf, 0x00).unwrap() == 0x8086);
    });
}

#[test]
fn sysbus_devices_survive_a_hostile_guest() {
    const GPIO: u64 = 0xfed0_1000;
    const PL011: u64 = 0xfed0_4000;
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-gpio").unwrap())
        .module(rust_module("qdev-pl011").unwrap())
        .device(format!("qdev-gpio,mmio={GPIO:#x},irq=5"))
        .device(format!("qdev-pl011,mmio={PL011:#x},irq=6"))
        .start()
        .unwrap();
    let mut rng = Rng(42);
    hammer(&q, &mut rng, GPIO, 0x110, false);
    hammer(&q, &mut rng, PL011, 0x1000, false);
    assert!(q.try_exit_status().unwrap().is_none(), "QEMU died");
    assert_eq!(q.readl(GPIO + 0x14).unwrap(), 0x0001_0000, "gpio VERSION");
    assert_eq!(q.readl(PL011 + 0xfe0).unwrap(), 0x11, "pl011 PeriphID0");
}
