// SPDX-License-Identifier: GPL-2.0-or-later
//! The main job: a device written in Rust with `#[qemu_device]`, loaded into
//! the stock QEMU of this machine, answering a guest's accesses. Run with
//! `./scripts/demo.sh` (which sets everything up first).

use std::time::Duration;

use qdev_tests::modules::rust_module;
use qdev_tests::Qemu;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let module = rust_module("qdev-baseline")?;
    let qemu = Qemu::builder()
        .machine("q35")
        .module(&module)
        .device("qdev-baseline")
        .log("guest_errors")
        .start()?;
    let info =
        qdev_tool::modinfo::ModuleInfo::read(&module)?.ok_or("module has no build record")?;
    println!("qdev demo: a Rust device inside the stock QEMU");
    println!(
        "  QEMU     {} (QEMU {})",
        qemu.binary().path.display(),
        qemu.binary().describe()
    );
    println!("  module   {} (built for {info})", module.display());
    println!("  command  {}", qemu.command_line());

    let f = qemu
        .pci_find(0x1234, 0xbacf)?
        .ok_or("qdev-baseline did not enumerate")?;
    println!(
        "  PCI {}  {:04x}:{:04x}  class {:06x}  rev {}",
        f.bdf, f.vendor_id, f.device_id, f.class_code, f.revision
    );
    let bar = qemu.pci_map_bar(&f, 0, 0xfe00_0000)?;
    println!("  BAR0 at {:#x}, {} bytes", bar.address(), bar.size());

    let id = bar.readl(0x00)?;
    let text: String = id.to_be_bytes().iter().map(|&b| b as char).collect();
    println!("  read  ID          -> {id:#010x} ({text:?})");
    bar.writel(0x04, 0xcafe_f00d)?;
    println!(
        "  write SCRATCH     <- 0xcafef00d, reads back {:#010x}",
        bar.readl(0x04)?
    );

    let gsi = qemu.pci_intx_gsi(&f)?;
    qemu.irq_intercept_in("ioapic")?;
    bar.writel(0x0c, 1)?;
    println!(
        "  write IRQ_RAISE   <- 1: GSI {gsi} is {}; IRQ_STATUS = {}",
        if qemu.irq_level(gsi) { "high" } else { "low" },
        bar.readl(0x08)?
    );
    bar.writel(0x10, 1)?;
    println!(
        "  write IRQ_ACK     <- 1: GSI {gsi} is {}",
        if qemu.irq_level(gsi) { "high" } else { "low" }
    );
    let v = bar.readl(0x40)?;
    let log = qemu.wait_stderr("unmapped offset 0x40", Duration::from_secs(5))?;
    let line = log.lines().find(|l| l.contains("0x40")).unwrap_or("");
    println!("  read  0x40        -> {v:#x}; QEMU's log: {line}");
    qemu.quit()?;
    println!("qdev demo: done");
    Ok(())
}
