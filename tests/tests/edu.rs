// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-edu` (a PCI device written with the DSL) inside the stock QEMU on
//! `pc` and `q35`: IDs and class, BAR, INTx, MSI arriving where the test
//! programmed it, and a timer-driven DMA round trip through guest memory.

use std::time::{Duration, Instant};

use qdev_tests::modules::rust_module;
use qdev_tests::{Bar, IrqEvent, PciFunction, Qemu};

const BAR0: u64 = 0xfe00_0000;
const RAM: u64 = 0x20_0000;

fn start(machine: &str) -> (Qemu, PciFunction) {
    let q = Qemu::builder()
        .machine(machine)
        .module(rust_module("qdev-edu").unwrap())
        .device("qdev-edu")
        .log("guest_errors")
        .start()
        .expect("QEMU starts with qdev-edu");
    let f = q.pci_find(0x1234, 0x11e8).unwrap().expect("edu enumerates");
    (q, f)
}

fn identifies_and_interrupts(machine: &str) {
    let (q, f) = start(machine);
    assert_eq!(f.class_code, 0x00ff00);
    assert_eq!(f.revision, 0x10);
    let bar: Bar = q.pci_map_bar(&f, 0, BAR0).unwrap();
    assert_eq!(bar.size(), 0x10_0000);
    assert_eq!(bar.readl(0x00).unwrap(), 0x0100_00ed);
    bar.writel(0x04, 0x5555_aaaa).unwrap();
    assert_eq!(bar.readl(0x04).unwrap(), 0xaaaa_5555);
    bar.writel(0x08, 12).unwrap();
    assert_eq!(bar.readl(0x08).unwrap(), 479_001_600);

    let gsi = q.pci_intx_gsi(&f).unwrap();
    q.irq_intercept_in("ioapic").unwrap();
    bar.writel(0x60, 0x42).unwrap();
    assert!(q.irq_level(gsi));
    assert_eq!(bar.readl(0x24).unwrap(), 0x42);
    bar.writel(0x64, 0x42).unwrap();
    assert!(!q.irq_level(gsi));
}

#[test]
fn identifies_and_interrupts_on_pc() {
    identifies_and_interrupts("pc");
}

#[test]
fn identifies_and_interrupts_on_q35() {
    identifies_and_interrupts("q35");
}

#[test]
fn msi_message_arrives_where_the_test_programmed_it() {
    for machine in ["pc", "q35"] {
        let (q, f) = start(machine);
        let bar = q.pci_map_bar(&f, 0, BAR0).unwrap();
        q.pci_enable(&f, true, false, true).unwrap();
        let target = RAM + 0x800;
        q.memwrite(target, &[0; 4]).unwrap();
        q.pci_enable_msi(&f, target, 0x4321).unwrap();
        bar.writel(0x60, 0x1).unwrap();
        assert_eq!(q.memread(target, 2).unwrap(), [0x21, 0x43], "on {machine}");
    }
}

#[test]
fn dma_round_trip_through_guest_memory_after_the_programmed_delay() {
    let (q, f) = start("q35");
    let bar = q.pci_map_bar(&f, 0, BAR0).unwrap();
    q.pci_enable(&f, true, false, true).unwrap();
    let gsi = q.pci_intx_gsi(&f).unwrap();
    q.irq_intercept_in("ioapic").unwrap();
    q.resume().unwrap(); // virtual time runs (the firmware is a halting stub)

    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    q.memwrite(RAM, &data).unwrap();
    let run = |src: u64, dst: u64, cmd: u64| -> Duration {
        bar.writeq(0x80, src).unwrap();
        bar.writeq(0x88, dst).unwrap();
        bar.writeq(0x90, data.len() as u64).unwrap();
        let started = Instant::now();
        bar.writeq(0x98, cmd | 0x1 | 0x4).unwrap();
        q.wait_irq(gsi, true, Duration::from_secs(10)).unwrap();
        let took = started.elapsed();
        assert_eq!(bar.readl(0x24).unwrap(), 0x100, "DMA-done interrupt value");
        assert_eq!(bar.readq(0x98).unwrap() & 1, 0, "transfer finished");
        bar.writel(0x64, 0x100).unwrap();
        q.wait_irq(gsi, false, Duration::from_secs(5)).unwrap();
        took
    };
    let to_device = run(RAM, 0x40000, 0);
    let to_ram = run(0x40000, RAM + 0x4000, 0x2);
    assert_eq!(q.memread(RAM + 0x4000, data.len()).unwrap(), data);
    // 100 ms of virtual time, which runs at about real time under TCG.
    for took in [to_device, to_ram] {
        assert!(took >= Duration::from_millis(90), "fired early: {took:?}");
        assert!(took < Duration::from_secs(5), "fired late: {took:?}");
    }
    let raises = q
        .irq_events()
        .into_iter()
        .filter(|e| {
            *e == IrqEvent {
                line: gsi,
                level: true,
            }
        })
        .count();
    assert_eq!(raises, 2);
}

#[test]
fn dma_without_bus_mastering_fails_and_is_reported() {
    let (q, f) = start("q35");
    let bar = q.pci_map_bar(&f, 0, BAR0).unwrap();
    q.pci_enable(&f, true, false, false).unwrap(); // no Bus Master Enable
    q.resume().unwrap();
    q.memwrite(RAM, &[0xab; 16]).unwrap();
    bar.writeq(0x80, 0x40000).unwrap();
    bar.writeq(0x88, RAM).unwrap();
    bar.writeq(0x90, 16).unwrap();
    bar.writeq(0x98, 0x1 | 0x2).unwrap();
    q.wait_stderr(
        "qdev-edu: DMA write of 16 bytes at 0x200000 failed",
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(
        q.memread(RAM, 16).unwrap(),
        [0xab; 16],
        "guest memory untouched"
    );
}

#[test]
fn dma_into_its_own_bar_is_blocked_not_reentered() {
    let q = Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-edu").unwrap())
        .device("qdev-edu,dma_mask=0xffffffff")
        .log("guest_errors")
        .start()
        .unwrap();
    let f = q.pci_find(0x1234, 0x11e8).unwrap().unwrap();
    let bar = q.pci_map_bar(&f, 0, BAR0).unwrap();
    q.pci_enable(&f, true, false, true).unwrap();
    q.resume().unwrap();
    bar.writel(0x04, 0).unwrap(); // LIVENESS holds !0
    let before = bar.readl(0x04).unwrap();
    // Device buffer -> "RAM" at the device's own LIVENESS register.
    bar.writeq(0x80, 0x40000).unwrap();
    bar.writeq(0x88, BAR0 + 0x04).unwrap();
    bar.writeq(0x90, 4).unwrap();
    bar.writeq(0x98, 0x1 | 0x2).unwrap();
    // The timer hook holds the device's re-entrancy guard, so QEMU's
    // memory core refuses the access to the device's own BAR.
    q.wait_stderr(
        "Blocked re-entrant IO on MemoryRegion: qdev-edu",
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(
        bar.readl(0x04).unwrap(),
        before,
        "the register was not written"
    );
}
