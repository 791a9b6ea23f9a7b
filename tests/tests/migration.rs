// SPDX-License-Identifier: GPL-2.0-or-later
//! Devices keep their state across migration: QEMU migrates to a file, a
//! second QEMU loads it, and the registers (and what the device saves
//! beyond them) read the same there.

use std::time::Duration;

use qdev_tests::modules::{rust_module, target_dir};
use qdev_tests::{Json, Qemu, QemuBuilder};

fn wait_for(q: &Qemu, what: &str, mut done: impl FnMut(&Json) -> bool, command: &str) {
    q.wait_until(what, Duration::from_secs(30), || {
        let r = q.qmp(command, None)?;
        Ok(done(&r))
    })
    .unwrap();
}

/// Migrates `src` to a file and starts `dst` from it.
fn migrate(src: Qemu, dst: QemuBuilder, tag: &str) -> Qemu {
    let file = target_dir().join(format!("migration-{tag}-{}.bin", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let uri = format!("exec:cat > {}", file.display());
    src.qmp(
        "migrate",
        Some(Json::object([("uri", Json::from(uri.as_str()))])),
    )
    .unwrap();
    wait_for(
        &src,
        "the migration completes",
        |r| r["status"].as_str() == Some("completed"),
        "query-migrate",
    );
    drop(src);
    let dst = dst
        .args(["-incoming", &format!("exec:cat {}", file.display())])
        .start()
        .unwrap();
    wait_for(
        &dst,
        "the incoming migration is loaded",
        |r| r["status"].as_str() != Some("inmigrate"),
        "query-status",
    );
    std::fs::remove_file(&file).unwrap();
    dst
}

const BASE: u64 = 0xfed0_1000;

fn gpio() -> QemuBuilder {
    Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-gpio").unwrap())
        .device(format!("qdev-gpio,id=gpio0,mmio={BASE:#x},irq=5"))
}

#[test]
fn sysbus_device_registers_and_saved_state_survive_migration() {
    let src = gpio().start().unwrap();
    src.writel(BASE, 0x5a).unwrap(); // DATA_OUT
    src.writel(BASE + 0x0c, 0x6).unwrap(); // INT_MASK
    src.writel(BASE + 0x20 + 4 * 2, 1).unwrap(); // PIN_CFG[2]: rising
    src.writel(BASE + 0x10, 1).unwrap(); // CTRL.ENABLE
    src.writeb(BASE + 0x40, 0x33).unwrap(); // SCRATCH
    src.set_irq_in("/machine/peripheral/gpio0", Some("in"), 2, 1)
        .unwrap();
    assert_eq!(src.readl(BASE + 0x08).unwrap(), 0x4, "INT_STATUS before");
    let dst = migrate(src, gpio(), "gpio");
    assert_eq!(dst.readl(BASE).unwrap(), 0x5a, "DATA_OUT");
    assert_eq!(dst.readl(BASE + 0x0c).unwrap(), 0x6, "INT_MASK");
    assert_eq!(dst.readl(BASE + 0x20 + 4 * 2).unwrap(), 1, "PIN_CFG[2]");
    assert_eq!(dst.readl(BASE + 0x08).unwrap(), 0x4, "INT_STATUS");
    assert_eq!(dst.readb(BASE + 0x40).unwrap(), 0x33, "SCRATCH");
    assert_eq!(
        dst.readl(BASE + 0x04).unwrap(),
        0x4,
        "DATA_IN: the save hook's state"
    );
    assert_eq!(
        dst.readl(BASE + 0x18).unwrap(),
        1,
        "CHANGES (clear on read)"
    );
}

fn baseline() -> QemuBuilder {
    Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-baseline").unwrap())
        .device("qdev-baseline")
}

#[test]
fn pci_device_config_space_and_registers_survive_migration() {
    let src = baseline().start().unwrap();
    let f = src.pci_find(0x1234, 0xbacf).unwrap().unwrap();
    let bar = src.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    bar.writel(0x04, 0xfeed_f00d).unwrap();
    bar.writel(0x0c, 1).unwrap(); // IRQ_RAISE
    let dst = migrate(src, baseline(), "baseline");
    let f = dst.pci_find(0x1234, 0xbacf).unwrap().unwrap();
    assert_eq!(
        dst.pci_config_readl(f.bdf, 0x10).unwrap() & !0xf,
        0xfe00_0000,
        "BAR 0 as the guest programmed it"
    );
    assert_eq!(dst.readl(0xfe00_0004).unwrap(), 0xfeed_f00d, "SCRATCH");
    assert_eq!(dst.readl(0xfe00_0008).unwrap(), 1, "IRQ_STATUS");
}

#[test]
fn a_running_watchdog_timer_keeps_counting_after_migration() {
    let wdt = || {
        Qemu::builder()
            .machine("pc")
            .module(rust_module("qdev-i6300esb").unwrap())
            .device("qdev-i6300esb")
            .args(["-action", "watchdog=pause"])
    };
    let src = wdt().start().unwrap();
    let f = src.pci_find(0x8086, 0x25ab).unwrap().unwrap();
    let bar = src.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    // 1 kHz clock, preloads of 512: about 0.5 s per stage, 1 s in all.
    for reg in [0x00, 0x04] {
        bar.writew(0x0c, 0x80).unwrap();
        bar.writew(0x0c, 0x86).unwrap();
        bar.writel(reg, 512).unwrap();
    }
    src.resume().unwrap();
    src.pci_config_writeb(f.bdf, 0x68, 1 << 1).unwrap(); // enable
    let dst = migrate(src, wdt(), "wdt");
    assert_eq!(
        dst.pci_config_readb(f.bdf, 0x68).unwrap() & (1 << 1),
        1 << 1,
        "still enabled"
    );
    dst.resume().unwrap();
    let event = dst
        .wait_qmp_event("WATCHDOG", Duration::from_secs(10))
        .expect("the migrated timer fires on the destination");
    assert_eq!(event.data["action"].as_str(), Some("pause"));
}

#[test]
fn a_panicking_save_hook_stops_qemu_naming_the_device_and_hook() {
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-fixture-two-devices").unwrap())
        .device("fixture-sysbus,mmio=0xfed02000")
        .start()
        .unwrap();
    q.writel(0xfed0_202c, 1).unwrap();
    let file = target_dir().join(format!("migration-panic-{}.bin", std::process::id()));
    let uri = format!("exec:cat > {}", file.display());
    let _ = q.qmp(
        "migrate",
        Some(Json::object([("uri", Json::from(uri.as_str()))])),
    );
    let status = q.wait_exit(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(1));
    let stderr = q.stderr();
    assert!(
        stderr.contains(
            "qdev: device fixture-sysbus panicked in its save hook (asked to fail while saving)"
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_file(&file);
}
