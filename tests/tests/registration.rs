// SPDX-License-Identifier: GPL-2.0-or-later
//! One module may hold several device types; a PCI device's IDs, class and
//! BARs (memory and I/O) come from the DSL.

use qdev_tests::modules::rust_module;
use qdev_tests::{
    BarKind, Qemu, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX, PCI_COMMAND, PCI_COMMAND_MASTER,
    PCI_COMMAND_MEMORY,
};

/// QEMU with the two-device fixture module and one `-device`.
fn fixture(machine: &str, device: impl Into<String>) -> qdev_tests::QemuBuilder {
    Qemu::builder()
        .machine(machine)
        .module(rust_module("qdev-fixture-two-devices").unwrap())
        .device(device)
}

#[test]
fn one_module_registers_two_device_types_that_work_together() {
    let q = fixture("q35", "fixture-sysbus,mmio=0xfed02000")
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
    assert_eq!(
        (mem.kind, mem.size, mem.prefetchable),
        (BarKind::Memory64, 0x1000, true)
    );
    assert!(q.pci_bar_info(&f, 1).unwrap().is_none(), "BAR 1 is unused");
    assert!(
        q.pci_find_capability(&f, PCI_CAP_ID_EXP).unwrap().is_some(),
        "PCI Express"
    );

    let io = q.pci_map_bar(&f, 0, 0xc000).unwrap();
    assert_eq!(io.readb(0x4).unwrap(), 0x42);
    io.writeb(0x4, 0x17).unwrap();
    assert_eq!(io.readb(0x4).unwrap(), 0x17);
    let mem = q.pci_map_bar(&f, 2, 0xfe00_0000).unwrap();
    assert_eq!(mem.readl(0x0).unwrap(), 0x9c9c_9c9c);
}

#[test]
fn bar_sized_by_a_property() {
    let q = fixture("q35", "fixture-pci,mem-size=0x10000")
        .start()
        .unwrap();
    let f = q.pci_find(0x1234, 0xf1c5).unwrap().unwrap();
    assert_eq!(q.pci_bar_info(&f, 2).unwrap().unwrap().size, 0x10000);
}

#[test]
fn bar_size_property_must_be_a_power_of_two() {
    let Err(e) = fixture("q35", "fixture-pci,mem-size=0x3000").start() else {
        panic!("a BAR of 0x3000 bytes was accepted");
    };
    let stderr = e.stderr().unwrap_or_default();
    assert!(
        stderr.contains("property 'mem-size' must be a power of two (it sizes region 'mem')"),
        "{stderr}"
    );
}

#[test]
fn msix_messages_arrive_where_the_table_says() {
    let q = fixture("q35", "fixture-pci").start().unwrap();
    let f = q.pci_find(0x1234, 0xf1c5).unwrap().unwrap();
    let mem = q.pci_map_bar(&f, 2, 0xfe00_0000).unwrap();
    let table_bar = q.pci_map_bar(&f, 4, 0xfe10_0000).unwrap();
    let cap = q
        .pci_find_capability(&f, PCI_CAP_ID_MSIX)
        .unwrap()
        .expect("MSI-X capability");
    let table = q.pci_config_readl(f.bdf, cap + 4).unwrap();
    assert_eq!(table & 0x7, 4, "the table is in BAR 4");
    let table = u64::from(table & !0x7);
    // Vectors 1 and 3 each write their own data to their own address.
    for (vector, addr, data) in [(1u64, 0x30_0000u64, 0x1111u32), (3, 0x30_0100, 0x3333)] {
        let entry = table + vector * 16;
        table_bar.writel(entry, addr as u32).unwrap();
        table_bar.writel(entry + 4, (addr >> 32) as u32).unwrap();
        table_bar.writel(entry + 8, data).unwrap();
        table_bar.writel(entry + 12, 0).unwrap(); // unmasked
        q.memwrite(addr, &[0; 4]).unwrap();
    }
    let control = q.pci_config_readw(f.bdf, cap + 2).unwrap();
    q.pci_config_writew(f.bdf, cap + 2, (control | 0x8000) & !0x4000)
        .unwrap();
    let cmd = q.pci_config_readw(f.bdf, PCI_COMMAND).unwrap();
    q.pci_config_writew(
        f.bdf,
        PCI_COMMAND,
        cmd | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY,
    )
    .unwrap();

    mem.writel(0x8, 3).unwrap();
    assert_eq!(q.memread(0x30_0100, 4).unwrap(), 0x3333u32.to_le_bytes());
    assert_eq!(
        q.memread(0x30_0000, 4).unwrap(),
        [0; 4],
        "vector 1 not sent yet"
    );
    mem.writel(0x8, 1).unwrap();
    assert_eq!(q.memread(0x30_0000, 4).unwrap(), 0x1111u32.to_le_bytes());
}

#[test]
fn config_space_registers_of_the_device() {
    let q = fixture("q35", "fixture-pci").start().unwrap();
    let f = q.pci_find(0x1234, 0xf1c5).unwrap().unwrap();
    assert_eq!(q.pci_config_readl(f.bdf, 0x40).unwrap(), 0x1234_5678);
    q.pci_config_writel(f.bdf, 0x40, 0xcafe_f00d).unwrap();
    assert_eq!(q.pci_config_readl(f.bdf, 0x40).unwrap(), 0xcafe_f00d);
    q.pci_config_writeb(f.bdf, 0x44, 0x0f).unwrap();
    assert_eq!(
        q.pci_config_readb(f.bdf, 0x44).unwrap(),
        0xf0,
        "w1c in config space"
    );
    // The capabilities QEMU placed stay clear of the device's registers.
    let mut cap = q.pci_config_readb(f.bdf, 0x34).unwrap();
    while cap != 0 {
        assert!(
            !(0x40..0x45).contains(&cap),
            "a capability at {cap:#x} overlaps"
        );
        cap = q.pci_config_readb(f.bdf, cap + 1).unwrap();
    }
    // The standard header is QEMU's as before.
    assert_eq!(q.pci_config_readw(f.bdf, 0x00).unwrap(), 0x1234);
}

#[test]
fn sysbus_dma_and_a_periodic_timer_in_qemu() {
    const BASE: u64 = 0xfed0_2000;
    let q = fixture("pc", format!("fixture-sysbus,mmio={BASE:#x}"))
        .start()
        .unwrap();
    q.memwrite(0x10_0000, b"system memory").unwrap();
    q.writel(BASE + 0x08, 0x10_0000).unwrap();
    q.writel(BASE + 0x0c, 0x10_1000).unwrap();
    q.writel(BASE + 0x10, 13).unwrap();
    q.writel(BASE + 0x14, 1).unwrap();
    assert_eq!(q.readl(BASE + 0x18).unwrap(), 0);
    assert_eq!(q.memread(0x10_1000, 13).unwrap(), b"system memory");

    // A 1 ms periodic timer, with the VM running (virtual time follows
    // real time under TCG).
    q.resume().unwrap();
    q.writel(BASE + 0x20, 1_000_000).unwrap();
    let t0 = std::time::Instant::now();
    let before = q.readl(BASE + 0x24).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = q.readl(BASE + 0x24).unwrap();
    let elapsed_ms = t0.elapsed().as_millis() as u32;
    let ticks = after - before;
    assert!(
        ticks >= elapsed_ms / 2 && ticks <= elapsed_ms + 5,
        "{ticks} ticks of 1 ms in {elapsed_ms} ms"
    );
    q.writel(BASE + 0x20, 0).unwrap();
    let stopped = q.readl(BASE + 0x24).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(q.readl(BASE + 0x24).unwrap(), stopped, "stopped");
}

#[test]
fn msi_vector_beyond_what_the_guest_enabled_is_refused_not_fatal() {
    let q = fixture("q35", "fixture-pci")
        .log("guest_errors")
        .start()
        .unwrap();
    let f = q.pci_find(0x1234, 0xf1c5).unwrap().unwrap();
    let mem = q.pci_map_bar(&f, 2, 0xfe00_0000).unwrap();
    q.memwrite(0x30_0000, &[0; 4]).unwrap();
    q.pci_enable_msi(&f, 0x30_0000, 0x5151).unwrap(); // one vector enabled
    mem.writel(0x8, 2).unwrap();
    q.wait_stderr(
        "fixture-pci: Msi vector 2 not sent: the guest enabled 1 vector(s)",
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(q.memread(0x30_0000, 2).unwrap(), [0, 0]);
    mem.writel(0x8, 0).unwrap();
    assert_eq!(q.memread(0x30_0000, 2).unwrap(), [0x51, 0x51]);
    assert!(q.try_exit_status().unwrap().is_none(), "QEMU still runs");
}

#[test]
fn a_panicking_device_stops_qemu_naming_the_device_and_hook() {
    const BASE: u64 = 0xfed0_2000;
    let q = fixture("pc", format!("fixture-sysbus,mmio={BASE:#x}"))
        .start()
        .unwrap();
    q.writel(BASE + 0x28, 1).unwrap();
    assert_eq!(q.readl(BASE + 0x24).unwrap(), 2, "in bounds: fine");
    let _ = q.writel(BASE + 0x28, 7); // out of bounds: a panic; no reply comes
    let status = q.wait_exit(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a non-zero exit status, not an abort"
    );
    let stderr = q.stderr();
    assert!(
        stderr.contains(
            "qdev: device fixture-sysbus panicked in its mmio_write hook (index out of bounds"
        ),
        "{stderr}"
    );
}

/// Issue 8, threads: device state is touched only with QEMU's big lock
/// held, and debug builds check it at every entry. Here the check runs on
/// a thread that does not hold the lock, inside QEMU: it stops QEMU naming
/// the device. (In the other tests the same check passes at every entry,
/// since their modules are debug builds.)
#[test]
fn the_big_lock_check_stops_qemu_on_a_thread_without_the_lock() {
    const BASE: u64 = 0xfed0_2000;
    let q = fixture("pc", format!("fixture-sysbus,mmio={BASE:#x}"))
        .start()
        .unwrap();
    let _ = q.writel(BASE + 0x30, 1); // no reply comes
    let status = q.wait_exit(std::time::Duration::from_secs(10)).unwrap();
    assert!(!status.success(), "{status:?}");
    let stderr = q.stderr();
    assert!(
        stderr.contains(
            "qdev: device fixture-sysbus entered in its test thread hook without QEMU's big lock held; stopping QEMU"
        ),
        "{stderr}"
    );
}

/// Re-entry through a path QEMU's memory core does not guard: the
/// device's interrupt is wired to its own GPIO input (`intc=` its own QOM
/// path), so driving the line from an MMIO write calls the device's input
/// handler while the write is still running. The runtime refuses that call
/// (the device's `&mut self` stays the only one) and logs it; QEMU goes
/// on, and an input change from outside is taken as usual.
#[test]
fn a_line_wired_back_to_the_device_is_refused_not_reentered() {
    const BASE: u64 = 0xfe00_0000;
    let q = fixture(
        "pc",
        format!("fixture-loop,id=loop,mmio={BASE:#x},irq=0,intc=/machine/peripheral/loop"),
    )
    .log("guest_errors")
    .start()
    .unwrap();
    q.writel(BASE, 1).unwrap(); // drives the line into its own input
    assert_eq!(
        q.readl(BASE + 4).unwrap(),
        0,
        "the input handler did not run"
    );
    q.wait_stderr(
        "fixture-loop: re-entrant access blocked (the device was already handling one)",
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    q.set_irq_in("/machine/peripheral/loop", None, 0, 1)
        .unwrap();
    assert_eq!(
        q.readl(BASE + 4).unwrap(),
        1,
        "an input from outside is taken"
    );
    assert!(q.try_exit_status().unwrap().is_none(), "QEMU still runs");
}
