// SPDX-License-Identifier: GPL-2.0-or-later
//! Self-tests of the qtest harness against devices built into QEMU (edu,
//! isa-debugcon, the RTC), with no qdev module.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qdev_tests::{BarKind, Bdf, HarnessError, IrqEvent, Json, LaunchError, Qemu, PCI_CAP_ID_MSI};

const EDU_VENDOR: u16 = 0x1234;
const EDU_DEVICE: u16 = 0x11e8;
const BAR_ADDR: u64 = 0xe000_0000;
const WAIT: Duration = Duration::from_secs(5);

type TestResult = Result<(), HarnessError>;

fn edu(machine: &str) -> Result<Qemu, HarnessError> {
    Qemu::builder().machine(machine).device("edu").start()
}

fn check_edu_basics(machine: &str) -> TestResult {
    let qemu = edu(machine)?;
    let devices = qemu.pci_devices()?;
    let f = qemu
        .pci_find(EDU_VENDOR, EDU_DEVICE)?
        .unwrap_or_else(|| panic!("no edu among {devices:#?}"));
    assert_eq!(f.class_code, 0x00ff00, "{f}");
    assert_eq!(f.revision, 0x10);
    assert_eq!(f.header_type, 0);
    assert_eq!(f.subsystem_vendor_id, 0x1af4);
    assert_eq!(f.subsystem_id, 0x1100);
    assert_eq!(f.interrupt_pin, 1);

    let info = qemu.pci_bar_info(&f, 0)?.expect("BAR0");
    assert_eq!(info.kind, BarKind::Memory32);
    assert_eq!(info.size, 1 << 20);
    assert!(!info.prefetchable);
    assert_eq!(qemu.pci_bar_size(&f, 0)?, 1 << 20);
    assert!(qemu.pci_bar_info(&f, 1)?.is_none());

    let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
    assert_eq!(bar.readl(0x00)?, 0x0100_00ed);
    for x in [0u32, 0x1234_5678, 0xffff_ffff, 0xdead_beef] {
        bar.writel(0x04, x)?;
        assert_eq!(bar.readl(0x04)?, !x);
    }
    // The same through the plain accessors.
    assert_eq!(qemu.readl(BAR_ADDR)?, 0x0100_00ed);
    assert!(
        bar.readl(1 << 20).is_err(),
        "offset past the BAR is refused"
    );

    let msi = qemu.pci_find_capability(&f, PCI_CAP_ID_MSI)?;
    assert!(msi.is_some(), "edu has an MSI capability");
    assert_eq!(qemu.pci_find_capability(&f, 0x11)?, None, "no MSI-X");
    Ok(())
}

#[test]
fn edu_on_pc() -> TestResult {
    check_edu_basics("pc")
}

#[test]
fn edu_on_q35() -> TestResult {
    check_edu_basics("q35")
}

#[test]
fn pci_scan_sees_the_chipsets() -> TestResult {
    let pc = edu("pc")?;
    let found: Vec<(u16, u16)> = pc
        .pci_devices()?
        .iter()
        .map(|f| (f.vendor_id, f.device_id))
        .collect();
    // i440FX host bridge, PIIX3 ISA bridge + its IDE/USB/ACPI functions, edu.
    assert!(found.contains(&(0x8086, 0x1237)), "{found:x?}");
    assert!(found.contains(&(0x8086, 0x7000)), "{found:x?}");
    assert!(
        found.contains(&(0x8086, 0x7113)),
        "PIIX4 ACPI at 00:01.3: {found:x?}"
    );
    assert!(found.contains(&(EDU_VENDOR, EDU_DEVICE)));
    let piix = pc.pci_function(Bdf::new(0, 1, 0))?.expect("PIIX3");
    assert!(piix.multifunction);
    assert_eq!(piix.class_code >> 8, 0x0601, "ISA bridge");

    let q35 = edu("q35")?;
    let lpc = q35.pci_function(Bdf::new(0, 31, 0))?.expect("ICH9 LPC");
    assert_eq!((lpc.vendor_id, lpc.device_id), (0x8086, 0x2918));
    assert!(lpc.multifunction);
    assert!(q35.pci_function(Bdf::new(0, 31, 2))?.is_some(), "ICH9 AHCI");
    Ok(())
}

fn check_intx(machine: &str, expected_gsi: u32) -> TestResult {
    let qemu = edu(machine)?;
    let f = qemu.pci_find(EDU_VENDOR, EDU_DEVICE)?.expect("edu");
    let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
    let gsi = qemu.pci_intx_gsi(&f)?;
    assert_eq!(gsi, expected_gsi, "{machine}: edu at {}", f.bdf);
    assert_eq!(
        qemu.pci_config_readb(f.bdf, qdev_tests::PCI_INTERRUPT_LINE)?,
        gsi as u8
    );
    qemu.irq_intercept_in("ioapic")?;
    assert!(!qemu.irq_level(gsi));

    bar.writel(0x60, 0x5)?; // raise
                            // The IRQ line precedes the command's reply: it is known already.
    assert!(qemu.irq_level(gsi));
    assert_eq!(bar.readl(0x24)?, 0x5);
    qemu.wait_irq(gsi, true, WAIT)?;
    bar.writel(0x64, 0x1)?; // still 0x4 pending: stays up
    assert!(qemu.irq_level(gsi));
    bar.writel(0x64, 0x4)?; // acknowledge all
    qemu.wait_irq(gsi, false, WAIT)?;
    assert_eq!(
        qemu.irq_events(),
        [
            IrqEvent {
                line: gsi,
                level: true
            },
            IrqEvent {
                line: gsi,
                level: false
            }
        ]
    );
    assert!(qemu.irq_events().is_empty(), "drained");

    let timeout = qemu
        .wait_irq(gsi, true, Duration::from_millis(50))
        .unwrap_err();
    assert!(timeout.is_timeout(), "{timeout}");
    // A second device cannot be intercepted.
    let err = qemu
        .irq_intercept_in("/machine/unattached/device[0]")
        .unwrap_err();
    assert!(err.to_string().contains("FAIL"), "{err}");
    Ok(())
}

#[test]
fn intx_on_pc_goes_through_piix_pirq_routing() -> TestResult {
    // edu lands in slot 2 (0 = host bridge, 1 = PIIX3): INTA -> PIRQB -> IRQ 10.
    check_intx("pc", 10)
}

#[test]
fn intx_on_q35_goes_to_gsi_20_to_23() -> TestResult {
    // edu lands in slot 1: INTA -> PIRQF -> GSI 21.
    check_intx("q35", 21)
}

#[test]
fn irq_intercept_of_unknown_device_fails_clearly() -> TestResult {
    let qemu = Qemu::builder().machine("pc").start()?;
    let err = qemu.irq_intercept_in("no-such-device").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("irq_intercept_in no-such-device"), "{text}");
    assert!(text.contains("FAIL Unknown device"), "{text}");
    Ok(())
}

#[test]
fn msi_lands_in_guest_memory() -> TestResult {
    let qemu = edu("q35")?;
    let f = qemu.pci_find(EDU_VENDOR, EDU_DEVICE)?.expect("edu");
    let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
    let mailbox = 0x8_0000;
    qemu.memwrite(mailbox, &[0; 8])?;
    qemu.pci_enable_msi(&f, mailbox, 0x4242)?;
    qemu.irq_intercept_in("ioapic")?;
    bar.writel(0x60, 1)?;
    assert_eq!(qemu.readl(mailbox)?, 0x4242);
    assert!(qemu.irq_events().is_empty(), "MSI does not touch INTx");
    Ok(())
}

#[test]
fn edu_dma_round_trip_on_pc() -> TestResult {
    check_edu_dma("pc")
}

#[test]
fn edu_dma_round_trip_on_q35() -> TestResult {
    check_edu_dma("q35")
}

fn check_edu_dma(machine: &str) -> TestResult {
    let qemu = edu(machine)?;
    let f = qemu.pci_find(EDU_VENDOR, EDU_DEVICE)?.expect("edu");
    let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
    qemu.pci_enable(&f, true, false, true)?;
    let gsi = qemu.pci_intx_gsi(&f)?;
    qemu.irq_intercept_in("ioapic")?;

    let src = 0x10_0000;
    let dst = 0x20_0000;
    let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
    qemu.memwrite(src, &data)?;
    qemu.memset(dst, data.len() as u64, 0)?;

    // The DMA engine runs from a virtual-time timer (100 ms): let the VM run.
    qemu.resume()?;
    let dma = |from: u64, to: u64, cmd: u64| -> TestResult {
        bar.writeq(0x80, from)?;
        bar.writeq(0x88, to)?;
        bar.writeq(0x90, data.len() as u64)?;
        bar.writeq(0x98, cmd)?;
        qemu.wait_until("the edu DMA finishes", WAIT, || {
            Ok(bar.readq(0x98)? & 1 == 0)
        })
    };
    dma(src, 0x40000, 0x1)?; // RAM -> device buffer
    dma(0x40000, dst, 0x1 | 0x2 | 0x4)?; // device buffer -> RAM, with IRQ
    assert_eq!(qemu.memread(dst, data.len())?, data);
    qemu.wait_irq(gsi, true, WAIT)?;
    assert_eq!(bar.readl(0x24)?, 0x100);
    qemu.pause()?;
    Ok(())
}

#[test]
fn memory_round_trips() -> TestResult {
    let qemu = Qemu::builder().machine("pc").start()?;
    for len in [1usize, 2, 3, 4, 5, 63, 64, 65, 1000] {
        let data: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ 0x5a)
            .collect();
        let addr = 0x1_0000 + len as u64 * 3;
        qemu.memwrite(addr, &data)?;
        assert_eq!(qemu.memread(addr, len)?, data, "len {len}");
    }
    // Larger than one b64 chunk.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    qemu.memwrite(0x40_0000, &big)?;
    assert_eq!(qemu.memread(0x40_0000, big.len())?, big);
    assert!(qemu.memread(0x1000, 0)?.is_empty());
    qemu.memwrite(0x1000, &[])?;

    qemu.writeq(0x2000, 0x0102_0304_0506_0708)?;
    assert_eq!(qemu.readb(0x2000)?, 0x08, "little-endian guest");
    assert_eq!(qemu.readw(0x2000)?, 0x0708);
    assert_eq!(qemu.readl(0x2004)?, 0x0102_0304);
    assert_eq!(qemu.readq(0x2000)?, 0x0102_0304_0506_0708);
    qemu.writeb(0x2001, 0xff)?;
    qemu.writew(0x2002, 0xeeee)?;
    qemu.writel(0x2004, 0xdddd_dddd)?;
    assert_eq!(qemu.readq(0x2000)?, 0xdddd_dddd_eeee_ff08);
    qemu.memset(0x2000, 8, 0xab)?;
    assert_eq!(qemu.memread(0x2000, 8)?, [0xab; 8]);
    Ok(())
}

#[test]
fn port_io_reaches_the_rtc_and_debugcon() -> TestResult {
    let qemu = Qemu::builder()
        .machine("pc")
        .args(["-chardev", "stdio,id=dbg"])
        .device("isa-debugcon,chardev=dbg,iobase=0xe9")
        .start()?;
    // CMOS RAM byte 0x40 through the RTC's index/data ports.
    qemu.outb(0x70, 0x40)?;
    qemu.outb(0x71, 0x5a)?;
    qemu.outb(0x70, 0x40)?;
    assert_eq!(qemu.inb(0x71)?, 0x5a);
    // 16/32-bit port accesses: PCI config space of the host bridge.
    qemu.outl(0xcf8, 0x8000_0000)?;
    assert_eq!(qemu.inl(0xcfc)?, 0x1237_8086);
    assert_eq!(qemu.inw(0xcfe)?, 0x1237);
    assert_eq!(qemu.pci_config_readw(Bdf::new(0, 0, 0), 2)?, 0x1237);
    assert!(
        qemu.pci_config_readw(Bdf::new(0, 0, 0), 1).is_err(),
        "unaligned"
    );

    for b in b"hello from qtest\n" {
        qemu.outb(0xe9, *b)?;
    }
    // Each byte reaches stdout on its own: wait for the last one.
    let out = qemu.wait_stdout("hello from qtest\n", WAIT)?;
    assert_eq!(out, "hello from qtest\n");
    assert!(qemu.stdout().starts_with("hello"));
    let err = qemu
        .wait_stdout("never printed", Duration::from_millis(50))
        .unwrap_err();
    assert!(err.is_timeout());
    Ok(())
}

#[test]
fn qmp_commands_and_errors() -> TestResult {
    let qemu = Qemu::builder().machine("pc").start()?;
    assert_eq!(
        qemu.qmp_greeting()["QMP"]["version"]["qemu"]["major"].as_u64(),
        Some(10)
    );
    let version = qemu.qmp("query-version", None)?;
    assert_eq!(version["qemu"]["major"].as_u64(), Some(10), "{version}");
    let status = qemu.qmp("query-status", None)?;
    assert_eq!(status["status"].as_str(), Some("prelaunch"), "{status}");
    assert_eq!(status["running"].as_bool(), Some(false));

    let machine_type = qemu.qom_get("/machine", "type")?;
    assert!(
        machine_type
            .as_str()
            .is_some_and(|t| t.starts_with("pc-i440fx")),
        "{machine_type}"
    );

    let err = qemu.qmp("no-such-command", None).unwrap_err();
    match &err {
        HarnessError::Qmp { class, desc, .. } => {
            assert_eq!(class, "CommandNotFound");
            assert!(desc.contains("no-such-command"), "{desc}");
        }
        other => panic!("expected a QMP error, got {other}"),
    }
    let err = qemu
        .qmp(
            "qom-get",
            Some(Json::object([
                ("path", "/machine".into()),
                ("property", "nope".into()),
            ])),
        )
        .unwrap_err();
    assert!(err.to_string().contains("GenericError"), "{err}");

    let mtree = qemu.hmp("info mtree")?;
    assert!(mtree.contains("system"), "{mtree}");
    Ok(())
}

#[test]
fn qmp_events_arrive_in_order() -> TestResult {
    let qemu = Qemu::builder().machine("pc").start()?;
    qemu.resume()?;
    qemu.pause()?;
    qemu.resume()?;
    let resume = qemu.wait_qmp_event("RESUME", WAIT)?;
    assert!(resume.data.is_null());
    assert!(resume.raw["timestamp"]["seconds"].as_u64().is_some());
    let stop = qemu.wait_qmp_event("STOP", WAIT)?;
    assert_eq!(stop.name, "STOP");
    qemu.wait_qmp_event("RESUME", WAIT)?;
    assert!(qemu.qmp_events().is_empty());

    qemu.pause()?;
    qemu.wait_qmp_event("STOP", WAIT)?;
    qemu.resume()?;
    qemu.pause()?;
    let names: Vec<String> = qemu.qmp_events().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["RESUME", "STOP"]);
    let err = qemu
        .wait_qmp_event("DEVICE_DELETED", Duration::from_millis(50))
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    Ok(())
}

#[test]
fn stderr_captures_guest_error_logs() -> TestResult {
    let qemu = Qemu::builder()
        .machine("pc")
        .device("edu")
        .log("guest_errors,invalid_mem")
        .start()?;
    let f = qemu.pci_find(EDU_VENDOR, EDU_DEVICE)?.expect("edu");
    let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
    // edu only takes 4- and 8-byte accesses: QEMU's memory core logs this.
    bar.readb(0)?;
    let text = qemu.wait_stderr("Invalid read at addr 0x0, size 1, region 'edu-mmio'", WAIT)?;
    assert!(text.contains("invalid size"), "{text}");

    // A DMA address outside edu's 28-bit mask is a guest error edu logs
    // (when its timer runs).
    qemu.resume()?;
    bar.writeq(0x80, 0x4000_0000)?;
    bar.writeq(0x88, 0x40000)?;
    bar.writeq(0x90, 4)?;
    bar.writeq(0x98, 1)?;
    qemu.wait_stderr("EDU: clamping DMA 0x0000000040000000", WAIT)?;
    assert!(qemu.stderr().contains("Invalid read"));
    Ok(())
}

#[test]
fn bad_device_property_fails_start_with_qemus_message() {
    let started = Instant::now();
    let err = Qemu::builder()
        .machine("pc")
        .device("edu,nonexistent=1")
        .start()
        .unwrap_err();
    let text = err.to_string();
    assert!(err.is_exited(), "{text}");
    assert!(
        text.contains("Property 'edu.nonexistent' not found"),
        "{text}"
    );
    assert!(err.stderr().unwrap().contains("nonexistent"));
    assert!(
        text.contains("-device edu,nonexistent=1"),
        "names the command: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let err = Qemu::builder()
        .machine("pc")
        .device("no-such-device-type")
        .start()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("'no-such-device-type' is not a valid device model name"),
        "{err}"
    );
}

#[test]
fn early_exit_before_connecting_is_reported() {
    // QEMU rejects the machine before it creates the qtest chardev.
    let err = Qemu::builder()
        .machine("no-such-machine")
        .start()
        .unwrap_err();
    assert!(err.is_exited(), "{err}");
    assert!(
        err.stderr().unwrap().contains("unsupported machine type"),
        "{err}"
    );
    let err = Qemu::builder().log("no_such_log_item").start().unwrap_err();
    assert!(err.is_exited(), "{err}");
}

#[test]
fn module_refusals_surface_the_launch_error() {
    // An ELF file with no qdev module information.
    let err = Qemu::builder().module("/bin/ls").start().unwrap_err();
    match err.launch_error() {
        Some(LaunchError::NoModuleInfo { module }) => assert_eq!(module, Path::new("/bin/ls")),
        other => panic!("expected NoModuleInfo, got {other:?} ({err})"),
    }
    assert!(
        err.to_string().contains("no qdev module information"),
        "{err}"
    );

    let err = Qemu::builder()
        .module("/nonexistent/dev.so")
        .start()
        .unwrap_err();
    assert!(
        matches!(err.launch_error(), Some(LaunchError::Unreadable { .. })),
        "{err}"
    );
}

#[test]
fn missing_binary_is_reported() {
    let err = Qemu::builder()
        .binary("/nonexistent/qemu-system-x86_64")
        .start()
        .unwrap_err();
    assert!(matches!(err, HarnessError::Binary(_)), "{err}");
    assert!(err.to_string().contains("not found"), "{err}");
}

fn process_gone(pid: u32) -> bool {
    // A zombie (state Z) left to a parent that does not reap counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: u32) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if process_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn drop_kills_qemu_and_removes_the_sockets() -> TestResult {
    let qemu = edu("pc")?;
    let pid = qemu.pid();
    let dir = qemu.temp_dir().to_path_buf();
    assert!(!process_gone(pid));
    assert!(dir.is_dir());
    drop(qemu);
    assert!(process_gone(pid), "QEMU {pid} survived the drop");
    assert!(!dir.exists(), "{} was left behind", dir.display());
    Ok(())
}

#[test]
fn drop_during_panic_kills_qemu() {
    let pid = std::thread::spawn(|| {
        let qemu = Qemu::builder().machine("pc").start().unwrap();
        let pid = qemu.pid();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _qemu = qemu;
            panic!("test failure while QEMU runs");
        }));
        assert!(result.is_err());
        pid
    })
    .join()
    .unwrap();
    assert!(process_gone(pid), "QEMU {pid} survived the panic");
}

#[test]
fn quit_and_exit_status() -> TestResult {
    let qemu = Qemu::builder().machine("pc").start()?;
    assert!(qemu.try_exit_status()?.is_none());
    let status = qemu.quit()?;
    assert!(status.success(), "{status}");
    assert_eq!(qemu.try_exit_status()?, Some(status));
    assert_eq!(qemu.wait_exit(WAIT)?, status);
    // Talking to an exited QEMU fails promptly and says so.
    let err = qemu.readl(0).unwrap_err();
    assert!(err.is_exited(), "{err}");
    let err = qemu.qmp("query-status", None).unwrap_err();
    assert!(err.is_exited(), "{err}");
    Ok(())
}

#[test]
fn kill_reports_signal() -> TestResult {
    use std::os::unix::process::ExitStatusExt;
    let qemu = Qemu::builder().machine("pc").start()?;
    let status = qemu.kill()?;
    assert_eq!(status.signal(), Some(9));
    let err = qemu.inb(0x71).unwrap_err();
    assert!(err.is_exited(), "{err}");
    assert!(err.to_string().contains("signal: 9"), "{err}");
    Ok(())
}

#[test]
fn aarch64_virt_works_too() -> TestResult {
    let Some(binary) = qdev_tool_which("qemu-system-aarch64") else {
        eprintln!("qemu-system-aarch64 not installed; skipped");
        return Ok(());
    };
    let qemu = Qemu::builder().binary(binary).machine("virt").start()?;
    assert_eq!(qemu.binary().target, "aarch64");
    // RAM starts at 1 GiB on virt.
    qemu.writel(0x4000_0000, 0xcafe_f00d)?;
    assert_eq!(qemu.readl(0x4000_0000)?, 0xcafe_f00d);
    let version = qemu.qmp("query-version", None)?;
    assert_eq!(version["qemu"]["major"].as_u64(), Some(10));
    Ok(())
}

fn qdev_tool_which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

#[test]
fn many_instances_in_parallel() -> TestResult {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || -> TestResult {
                let qemu = edu(if i % 2 == 0 { "pc" } else { "q35" })?;
                let f = qemu.pci_find(EDU_VENDOR, EDU_DEVICE)?.expect("edu");
                let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
                for x in 0..50u32 {
                    bar.writel(4, x * i)?;
                    assert_eq!(bar.readl(4)?, !(x * i));
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap()?;
    }
    Ok(())
}

#[test]
fn one_qemu_shared_between_threads() -> TestResult {
    let qemu = edu("q35")?;
    let f = qemu.pci_find(EDU_VENDOR, EDU_DEVICE)?.expect("edu");
    let bar = qemu.pci_map_bar(&f, 0, BAR_ADDR)?;
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let qemu = &qemu;
            let f = &f;
            s.spawn(move || {
                for i in 0..50u32 {
                    // Config reads from several threads must not interleave
                    // their 0xcf8/0xcfc pairs.
                    assert_eq!(qemu.pci_config_readw(f.bdf, 0).unwrap(), EDU_VENDOR);
                    let addr = 0x10_0000 + u64::from(t) * 0x1000;
                    qemu.writel(addr, i ^ t).unwrap();
                    assert_eq!(qemu.readl(addr).unwrap(), i ^ t);
                }
            });
        }
    });
    assert_eq!(bar.readl(0)?, 0x0100_00ed);
    Ok(())
}

#[test]
fn watchdog_kills_qemu_when_the_test_process_dies() {
    // A separate process that starts QEMU and is then SIGKILLed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_qdev-watchdog-helper"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, found)) = line.split_once("QEMU_PID=") {
                let (pid, dir) = found.trim().split_once(' ').unwrap();
                let _ = tx.send((pid.parse::<u32>().unwrap(), std::path::PathBuf::from(dir)));
            }
        }
    });
    let (pid, dir) = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(found) => found,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("helper did not report QEMU's pid: {e}");
        }
    };
    assert!(!process_gone(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs in the helper
    child.wait().unwrap();
    assert!(
        wait_gone(pid),
        "QEMU {pid} outlived the killed test process"
    );
    let deadline = Instant::now() + WAIT;
    while dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!dir.exists(), "the watchdog left {} behind", dir.display());
}
