// SPDX-License-Identifier: GPL-2.0-or-later
//! Devices keep their state across migration: QEMU migrates to a file, a
//! second QEMU loads it, and the registers (and what the device saves
//! beyond them) read the same there.

use std::time::Duration;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use qdev_tests::host::HostSocket;
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
    let dst = migrate_keeping_source(&src, dst, tag);
    drop(src);
    dst
}

/// Migrates `src` to a file and starts `dst` from it; `src` stays as it
/// was (stopped, its state untouched), a run that was never loaded.
fn migrate_keeping_source(src: &Qemu, dst: QemuBuilder, tag: &str) -> Qemu {
    let file = target_dir().join(format!("migration-{tag}-{}.bin", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let uri = format!("exec:cat > {}", file.display());
    src.qmp(
        "migrate",
        Some(Json::object([("uri", Json::from(uri.as_str()))])),
    )
    .unwrap();
    wait_for(
        src,
        "the migration completes",
        |r| r["status"].as_str() == Some("completed"),
        "query-migrate",
    );
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
    // 1 kHz clock, preloads of 2048: about 2 s per stage, 4 s in all, so
    // it cannot expire on the source while a loaded machine migrates.
    for reg in [0x00, 0x04] {
        bar.writew(0x0c, 0x80).unwrap();
        bar.writew(0x0c, 0x86).unwrap();
        bar.writel(reg, 2048).unwrap();
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
        .wait_qmp_event("WATCHDOG", Duration::from_secs(30))
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

/// The 16550's I/O BAR, as the test maps it on the source (the mapping
/// migrates with the PCI config space).
const UART: u16 = 0xc000;

fn uart(sock: &HostSocket) -> QemuBuilder {
    Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-16550").unwrap())
        .args(["-chardev", &sock.chardev_arg("s0")])
        .device("qdev-16550,id=uart0,chardev=s0")
}

/// Everything the guest and the host can observe of the UART after the
/// save point, as lines of text: every register (the divisor latch too),
/// the interrupt line at the I/O APIC while the FIFO is drained, the bytes
/// drained, a byte string from the host read back, and one sent to it.
fn observe(q: &Qemu, host: &mut UnixStream, gsi: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let rd = |off: u16| q.inb(UART + off).unwrap();
    let lcr = rd(3);
    seen.push(format!(
        "LCR={lcr:#04x} IER={:#04x} MCR={:#04x} LSR={:#04x} MSR={:#04x} SCR={:#04x}",
        rd(1),
        rd(4),
        rd(5),
        rd(6),
        rd(7)
    ));
    q.outb(UART + 3, lcr | 0x80).unwrap();
    seen.push(format!("DLL={:#04x} DLM={:#04x}", rd(0), rd(1)));
    q.outb(UART + 3, lcr).unwrap();
    seen.push(format!("IIR={:#04x}", rd(2)));
    q.irq_intercept_in("ioapic").unwrap();
    let mut drained = Vec::new();
    while rd(5) & 0x01 != 0 {
        drained.push(rd(0));
        assert!(drained.len() <= 16, "more bytes than a 16550A's FIFO holds");
    }
    seen.push(format!("drained {:?}", String::from_utf8_lossy(&drained)));
    seen.push(format!(
        "IIR after draining={:#04x} LSR={:#04x}",
        rd(2),
        rd(5)
    ));
    // The host side goes on working, both directions; its bytes raise the
    // interrupt again at the I/O APIC and reading them lowers it (qtest
    // reports changes from the moment it intercepts, so the line that was
    // high at the save point is seen from the next change on).
    host.write_all(b"after").unwrap();
    let mut got = Vec::new();
    q.wait_until("the host's bytes arrive", Duration::from_secs(20), || {
        while rd(5) & 0x01 != 0 {
            got.push(rd(0));
        }
        Ok(got.len() >= 5)
    })
    .unwrap();
    seen.push(format!("from host {:?}", String::from_utf8_lossy(&got)));
    // (The host's bytes may come in more than one piece: the line's
    // history is summed up, not listed.)
    let line: Vec<bool> = q
        .irq_events()
        .iter()
        .filter(|e| e.line == gsi)
        .map(|e| e.level)
        .collect();
    seen.push(format!(
        "interrupt line raised by the host's bytes: {}, low once they are read: {}",
        line.contains(&true),
        line.last() == Some(&false)
    ));
    for b in b"reply" {
        q.outb(UART, *b).unwrap();
    }
    let mut reply = [0u8; 5];
    host.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    host.read_exact(&mut reply).unwrap();
    seen.push(format!("to host {:?}", String::from_utf8_lossy(&reply)));
    seen
}

/// Issue 8's migration check: a UART saved with bytes in its receive FIFO
/// and its receive interrupt pending, loaded into a fresh QEMU, reads and
/// behaves exactly like the source it was saved from, which is never
/// loaded and goes on as if nothing had happened.
#[test]
fn a_uart_saved_mid_activity_behaves_as_if_never_saved() {
    let sock_a = HostSocket::new("mig-a");
    let src = uart(&sock_a).start().unwrap();
    let f = src.pci_find(0x1234, 0x1655).unwrap().unwrap();
    src.pci_map_bar(&f, 0, u64::from(UART)).unwrap();
    let gsi = src.pci_intx_gsi(&f).unwrap();
    let mut host_a = sock_a.connect(Duration::from_secs(20)).unwrap();
    let out = |off: u16, v: u8| src.outb(UART + off, v).unwrap();
    out(3, 0x83); // LCR: DLAB, 8 bits
    out(0, 0x0c); // DLL: 9600 baud
    out(1, 0x00); // DLM
    out(3, 0x1b); // LCR: 8 bits, even parity, DLAB off
    out(2, 0x07); // FCR: FIFO on, cleared
    out(7, 0x5a); // SCR
    out(4, 0x1b); // MCR: loopback, OUT2, RTS, DTR
    for b in b"mid-migration" {
        out(0, *b); // looped back into the receive FIFO
    }
    for _ in 0..3 {
        src.inb(UART).unwrap(); // the guest has read "mid"
    }
    out(4, 0x0b); // MCR: loopback off: the host is heard again
    out(1, 0x01); // IER: receive interrupt on
    assert_eq!(
        src.inb(UART + 2).unwrap() & 0x0f,
        0x04,
        "before saving: receive-data interrupt pending"
    );

    let sock_b = HostSocket::new("mig-b");
    let dst = migrate_keeping_source(&src, uart(&sock_b), "uart");
    let mut host_b = sock_b.connect(Duration::from_secs(20)).unwrap();

    let never_saved = observe(&src, &mut host_a, gsi);
    let loaded = observe(&dst, &mut host_b, gsi);
    assert_eq!(
        loaded, never_saved,
        "the loaded UART differs from the one never saved"
    );
    // And what both show is the UART's real state, not two equal mistakes.
    let text = loaded.join("\n");
    for want in [
        "LCR=0x1b IER=0x01 MCR=0x0b",
        "SCR=0x5a",
        "DLL=0x0c DLM=0x00",
        "IIR=0xc4",
        "drained \"-migration\"",
        "IIR after draining=0xc1",
        "interrupt line raised by the host's bytes: true, low once they are read: true",
        "from host \"after\"",
        "to host \"reply\"",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Snapshots: `savevm` with the 16550 mid-activity, more traffic, then
/// `loadvm` brings back the state at the snapshot (registers and FIFO).
#[test]
fn a_snapshot_brings_back_the_uart_as_it_was() {
    let disk = target_dir().join(format!("snapshot-{}.qcow2", std::process::id()));
    let _ = std::fs::remove_file(&disk);
    let made = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&disk)
        .arg("16M")
        .status()
        .expect("qemu-img runs");
    assert!(made.success(), "qemu-img create failed");
    let sock = HostSocket::new("snap");
    let q = uart(&sock)
        .args([
            "-drive",
            &format!("file={},if=none,id=snapdisk,format=qcow2", disk.display()),
        ])
        .start()
        .unwrap();
    let f = q.pci_find(0x1234, 0x1655).unwrap().unwrap();
    q.pci_map_bar(&f, 0, u64::from(UART)).unwrap();
    let out = |off: u16, v: u8| q.outb(UART + off, v).unwrap();
    out(2, 0x07); // FIFO on
    out(4, 0x1b); // loopback
    for b in b"snap" {
        out(0, *b);
    }
    out(7, 0x11); // SCR
    let saved = q.hmp("savevm before").unwrap();
    assert!(!saved.to_lowercase().contains("error"), "savevm: {saved}");
    // Move on: drain the FIFO, change the scratch register.
    while q.inb(UART + 5).unwrap() & 1 != 0 {
        q.inb(UART).unwrap();
    }
    out(7, 0x22);
    let loaded = q.hmp("loadvm before").unwrap();
    assert!(!loaded.to_lowercase().contains("error"), "loadvm: {loaded}");
    assert_eq!(q.inb(UART + 7).unwrap(), 0x11, "SCR as at the snapshot");
    let mut fifo = Vec::new();
    while q.inb(UART + 5).unwrap() & 1 != 0 {
        fifo.push(q.inb(UART).unwrap());
        assert!(fifo.len() <= 16);
    }
    assert_eq!(fifo, b"snap", "the FIFO as at the snapshot");
    drop(q);
    std::fs::remove_file(&disk).unwrap();
}

/// Reads `regs` (offset, size) at `base` on `q`, as text.
fn snapshot_regs(q: &Qemu, base: u64, regs: &[(u64, u32)]) -> Vec<String> {
    regs.iter()
        .map(|&(off, size)| {
            let v = match size {
                8 => q.readq(base + off).unwrap(),
                _ => u64::from(q.readl(base + off).unwrap()),
            };
            format!("{off:#05x}={v:#x}")
        })
        .collect()
}

#[test]
fn edu_registers_and_a_pending_interrupt_survive_migration() {
    let edu = || {
        Qemu::builder()
            .machine("q35")
            .module(rust_module("qdev-edu").unwrap())
            .device("qdev-edu")
    };
    let src = edu().start().unwrap();
    let f = src.pci_find(0x1234, 0x11e8).unwrap().unwrap();
    let bar = src.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    bar.writel(0x04, 0x1234_5678).unwrap(); // LIVENESS
    bar.writel(0x08, 10).unwrap(); // FACT
    bar.writel(0x20, 0x80).unwrap(); // STATUS: interrupt after a factorial
    bar.writel(0x60, 0x42).unwrap(); // IRQ_RAISE: pending
    bar.writeq(0x80, 0x4_0000).unwrap(); // DMA_SRC
    bar.writeq(0x88, 0x10_0000).unwrap(); // DMA_DST
    bar.writeq(0x90, 0x80).unwrap(); // DMA_CNT
    let regs = [
        (0x00, 4),
        (0x04, 4),
        (0x08, 4),
        (0x20, 4),
        (0x24, 4),
        (0x80, 8),
        (0x88, 8),
        (0x90, 8),
    ];
    let dst = migrate_keeping_source(&src, edu(), "edu");
    let before = snapshot_regs(&src, 0xfe00_0000, &regs);
    assert_eq!(snapshot_regs(&dst, 0xfe00_0000, &regs), before);
    let text = before.join(" ");
    for want in [
        "0x004=0xedcba987",
        "0x008=0x375f00",
        "0x024=0x42",
        "0x090=0x80",
    ] {
        assert!(text.contains(want), "missing {want} in {text}");
    }
}

#[test]
fn pl011_fifo_and_interrupt_state_survive_migration() {
    const BASE: u64 = 0xfed0_4000;
    let pl011 = || {
        Qemu::builder()
            .machine("pc")
            .module(rust_module("qdev-pl011").unwrap())
            .device(format!("qdev-pl011,mmio={BASE:#x},irq=6"))
    };
    let src = pl011().start().unwrap();
    src.writel(BASE + 0x02c, 1 << 4).unwrap(); // LCR_H: FIFO on
    src.writel(BASE + 0x030, 0x381).unwrap(); // CR: UARTEN, LBE (loopback), TXE, RXE
    src.writel(BASE + 0x038, 1 << 4).unwrap(); // IMSC: receive interrupt
    for b in b"pl011" {
        src.writel(BASE, u32::from(*b)).unwrap(); // looped back into the FIFO
    }
    let regs = [
        (0x018, 4),
        (0x02c, 4),
        (0x030, 4),
        (0x038, 4),
        (0x03c, 4),
        (0x040, 4),
    ];
    let dst = migrate_keeping_source(&src, pl011(), "pl011");
    let drain = |q: &Qemu| {
        let mut v = snapshot_regs(q, BASE, &regs);
        let mut bytes = Vec::new();
        while q.readl(BASE + 0x018).unwrap() & (1 << 4) == 0 {
            bytes.push(q.readl(BASE).unwrap() as u8); // DR
            assert!(bytes.len() <= 16);
        }
        v.push(format!("drained {:?}", String::from_utf8_lossy(&bytes)));
        v.extend(snapshot_regs(q, BASE, &regs));
        v
    };
    let never_saved = drain(&src);
    assert_eq!(drain(&dst), never_saved);
    assert!(
        never_saved.contains(&"drained \"pl011\"".to_string()),
        "{never_saved:?}"
    );
}

/// `fixture-sysbus`: migration version 3, loads versions 2 and 3; the
/// register at 0x34 is `since = 3` (reset 0x33); a non-zero register at
/// 0x38 makes its `post_load` hook refuse the state.
fn versioned() -> QemuBuilder {
    Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-fixture-two-devices").unwrap())
        .device("fixture-sysbus,mmio=0xfed02000")
}
const VERSIONED: u64 = 0xfed0_2000;

/// Saves `src` to a file; returns the stream.
fn save_stream(src: &Qemu, tag: &str) -> Vec<u8> {
    let file = target_dir().join(format!("stream-{tag}-{}.bin", std::process::id()));
    let uri = format!("exec:cat > {}", file.display());
    src.qmp(
        "migrate",
        Some(Json::object([("uri", Json::from(uri.as_str()))])),
    )
    .unwrap();
    wait_for(
        src,
        "the migration completes",
        |r| r["status"].as_str() == Some("completed"),
        "query-migrate",
    );
    let bytes = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    bytes
}

/// The offset of the device section's version in a stream: QEMU's
/// section header is `idstr`, then the instance id and the version
/// (big-endian 32 bits each). The first `fixture-sysbus` in the stream is
/// that header (the JSON description comes last).
fn version_at(stream: &[u8]) -> usize {
    let id = b"fixture-sysbus";
    let at = stream
        .windows(id.len())
        .position(|w| w == id)
        .expect("the device's section");
    at + id.len() + 4
}

/// Loads `stream` into a fresh QEMU: the running destination, or QEMU's
/// exit status and stderr when it refused the stream.
fn load_stream(stream: &[u8], tag: &str) -> Result<Qemu, (Option<i32>, String)> {
    let file = target_dir().join(format!("stream-{tag}-{}.bin", std::process::id()));
    std::fs::write(&file, stream).unwrap();
    let dst = versioned()
        .args(["-incoming", &format!("exec:cat {}", file.display())])
        .start()
        .unwrap();
    let mut loaded = false;
    let _ = dst.wait_until(
        "the incoming migration ends",
        Duration::from_secs(30),
        || {
            if dst.try_exit_status()?.is_some() {
                return Ok(true);
            }
            let r = dst.qmp("query-status", None)?;
            loaded = r["status"].as_str() != Some("inmigrate");
            Ok(loaded)
        },
    );
    std::fs::remove_file(&file).unwrap();
    if loaded {
        return Ok(dst);
    }
    let status = dst.wait_exit(Duration::from_secs(10)).unwrap();
    Err((status.code(), dst.stderr()))
}

#[test]
fn the_migration_version_reaches_qemu_and_older_streams_load_without_newer_state() {
    // QEMU knows the device's versions.
    let dump = target_dir().join(format!("vmstate-{}.json", std::process::id()));
    let q = versioned()
        .args(["-dump-vmstate", dump.to_str().unwrap()])
        .start();
    drop(q); // QEMU exits after dumping
    let json = std::fs::read_to_string(&dump).unwrap();
    std::fs::remove_file(&dump).unwrap();
    let at = json
        .find("\"fixture-sysbus\": {")
        .expect("the device in the dump");
    let desc = &json[at..at + 200];
    assert!(desc.contains("\"version_id\": 3"), "{desc}");
    assert!(desc.contains("\"minimum_version_id\": 2"), "{desc}");

    let src = versioned().start().unwrap();
    src.writel(VERSIONED + 0x08, 0x1234).unwrap(); // SRC
    src.writel(VERSIONED + 0x34, 0x77).unwrap(); // ADDED_IN_V3
    let stream = save_stream(&src, "v3");
    let v = version_at(&stream);
    assert_eq!(stream[v..v + 4], 3u32.to_be_bytes(), "saved as version 3");

    // As saved, it loads.
    let dst = load_stream(&stream, "v3").map_err(|e| e.1).unwrap();
    assert_eq!(dst.readl(VERSIONED + 0x08).unwrap(), 0x1234);
    assert_eq!(
        dst.readl(VERSIONED + 0x34).unwrap(),
        0x77,
        "version 3 carries it"
    );
    drop(dst);

    // The stream a module at version 2 would have written: no
    // ADDED_IN_V3. The device's section data is its state buffer's length
    // (32 bits, big-endian) and the buffer: eleven 32-bit registers, then
    // ADDED_IN_V3, REFUSE_LOAD and the timer (16 bytes).
    let len = u32::from_be_bytes(stream[v + 4..v + 8].try_into().unwrap());
    assert_eq!(len, 11 * 4 + 4 + 4 + 16, "the buffer as this test knows it");
    let mut v2 = stream[..v].to_vec();
    v2.extend(2u32.to_be_bytes());
    v2.extend((len - 4).to_be_bytes());
    let buf = v + 8;
    v2.extend(&stream[buf..buf + 44]);
    v2.extend(&stream[buf + 48..]);
    let dst = load_stream(&v2, "v2").map_err(|e| e.1).unwrap();
    assert_eq!(dst.readl(VERSIONED + 0x08).unwrap(), 0x1234, "loaded");
    assert_eq!(
        dst.readl(VERSIONED + 0x34).unwrap(),
        0x33,
        "since = 3: a version-2 stream leaves it at its reset value"
    );
    drop(dst);

    // Above the device's version, and below its minimum: QEMU refuses.
    for bad in [4u32, 1] {
        let mut s = stream.clone();
        s[v..v + 4].copy_from_slice(&bad.to_be_bytes());
        let Err((code, stderr)) = load_stream(&s, &format!("v{bad}")) else {
            panic!("a version-{bad} stream was loaded");
        };
        assert_ne!(code, Some(0), "{stderr}");
        assert!(stderr.contains("fixture-sysbus"), "{stderr}");
        // `unsupported version 4 for 'fixture-sysbus' v3`, `incoming
        // version_id 1 is too old for local minimum version_id  2`.
        assert!(
            stderr.contains(&format!("version {bad} "))
                || stderr.contains(&format!("version_id {bad} ")),
            "{stderr}"
        );
    }
}

#[test]
fn a_post_load_hook_refusing_the_state_fails_the_migration_naming_the_device() {
    let src = versioned().start().unwrap();
    src.writel(VERSIONED + 0x38, 0x5a).unwrap(); // REFUSE_LOAD
    let stream = save_stream(&src, "refuse");
    let Err((code, stderr)) = load_stream(&stream, "refuse") else {
        panic!("the destination loaded a state its post_load hook refuses");
    };
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "fixture-sysbus: cannot load its state: asked to refuse loading (REFUSE_LOAD = 0x5a)"
        ),
        "{stderr}"
    );
}
