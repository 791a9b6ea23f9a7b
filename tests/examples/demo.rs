// SPDX-License-Identifier: GPL-2.0-or-later
//! The main job: devices written in Rust with `#[qemu_device]`, loaded into
//! the stock QEMU of this machine. First `qdev-baseline` answers register
//! accesses through qtest; then a real Linux guest boots with `qdev-edu`
//! and drives it with busybox tools. Run with `./scripts/demo.sh` (which
//! sets everything up first).

use std::time::Duration;

use qdev_tests::guest::Guest;
use qdev_tests::modules::rust_module;
use qdev_tests::Qemu;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    registers_through_qtest()?;
    edu_in_a_linux_guest()?;
    println!("qdev demo: done");
    Ok(())
}

fn registers_through_qtest() -> Result<(), Box<dyn std::error::Error>> {
    let module = rust_module("qdev-baseline")?;
    let qemu = Qemu::builder()
        .machine("q35")
        .module(&module)
        .device("qdev-baseline")
        .log("guest_errors")
        .start()?;
    let info =
        qdev_tool::modinfo::ModuleInfo::read(&module)?.ok_or("module has no build record")?;
    println!("qdev demo, part 1: a Rust device inside the stock QEMU, driven through qtest");
    println!(
        "  QEMU     {} (QEMU {})",
        qemu.binary().path.display(),
        qemu.binary().describe()
    );
    println!("  module   {} (built for {info})", module.display());

    let f = qemu
        .pci_find(0x1234, 0xbacf)?
        .ok_or("qdev-baseline did not enumerate")?;
    println!(
        "  PCI {}  {:04x}:{:04x}  class {:06x}  rev {}",
        f.bdf, f.vendor_id, f.device_id, f.class_code, f.revision
    );
    let bar = qemu.pci_map_bar(&f, 0, 0xfe00_0000)?;
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
    let raised = qemu.irq_level(gsi);
    bar.writel(0x10, 1)?;
    println!(
        "  write IRQ_RAISE, IRQ_ACK: GSI {gsi} went {} then {}",
        if raised { "high" } else { "LOW?" },
        if qemu.irq_level(gsi) { "HIGH?" } else { "low" }
    );
    let v = bar.readl(0x40)?;
    let log = qemu.wait_stderr("unmapped offset 0x40", Duration::from_secs(5))?;
    let line = log.lines().find(|l| l.contains("0x40")).unwrap_or("");
    println!("  read  0x40        -> {v:#x}; QEMU's log: {line}");
    qemu.quit()?;
    Ok(())
}

fn edu_in_a_linux_guest() -> Result<(), Box<dyn std::error::Error>> {
    println!();
    println!("qdev demo, part 2: Debian's Linux kernel boots under TCG with qdev-edu (Rust)");
    println!("  and a busybox script reads the device through sysfs and /dev/mem:");
    let run = Guest::builder()
        .machine("q35")
        .module(rust_module("qdev-edu")?)
        .device("qdev-edu")
        .script(include_str!("../guest/edu.sh"))
        .timeout(Duration::from_secs(90))
        .run()?;
    if let Some(line) = run.console.lines().find(|l| l.contains("Linux version")) {
        println!("  console: {}", line.trim());
    }
    for key in [
        "bdf",
        "vendor",
        "device",
        "class",
        "bar0",
        "id",
        "liveness",
        "fact5",
        "fact10",
        "irq_status_raised",
    ] {
        if let Some(v) = run.value(key) {
            println!("  guest: {key} = {v}");
        }
    }
    println!(
        "  guest exit status {} after {:.1} s in QEMU",
        run.exit_code,
        run.boot_time.as_secs_f64()
    );
    run.assert_success();
    Ok(())
}
