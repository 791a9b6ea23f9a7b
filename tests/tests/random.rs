// SPDX-License-Identifier: GPL-2.0-or-later
//! Randomized operation sequences against every catalogue device.
//!
//! - On the mocked bus (`*_on_the_mocked_bus`): property-based tests with a
//!   deterministic generator and shrinking (`qdev_tests::prop`), 1,000,000
//!   operations per device: accesses, resets, random valid properties, DMA
//!   descriptors pointing anywhere, time passing, chardev and GPIO input;
//!   after every operation the device's invariants below hold and the
//!   guest-error log agrees with the description.
//! - In QEMU (`*_in_qemu`): 50,000 random accesses, resets (and GPIO input
//!   changes, for the GPIO controller) per device through a pipelined qtest
//!   session, in lockstep with the mocked bus (`qdev_tests::lockstep`):
//!   every read value, every log line and every interrupt level change
//!   compared. A failure saves the sequence as a replayable qtest script
//!   under `target/qdev-replay/` and prints the command that replays it.
//! - `a_saved_script_replays_with_the_same_replies`: the replay mechanism
//!   itself, resets included.

use std::time::Instant;

use qdev_runtime::mock::MockDevice;
use qdev_runtime::LineRef;
use qdev_tests::access::Access;
use qdev_tests::lockstep::Lockstep;
use qdev_tests::prop::{Extras, Prop, Rng};
use qdev_tests::script::{replay, write_script, Session};
use qdev_tests::targets::Target;

/// Operations per device on the mocked bus: `CASES` sequences of `OPS`.
const CASES: u64 = 1000;
const OPS: usize = 1000;

fn prop<T: qdev_runtime::Device>(
    name: &'static str,
    extras: Extras,
    invariant: qdev_tests::prop::Invariant<T>,
) {
    let started = Instant::now();
    let p = Prop {
        name,
        extras,
        invariant,
        cases: CASES,
        ops: OPS,
        seed: 0x1000_0000 * (name.len() as u64),
    };
    let n = p.check();
    eprintln!(
        "{name}: {n} random operations on the mocked bus, {:.1?}",
        started.elapsed()
    );
    assert!(n >= 1_000_000 || std::env::var_os("QDEV_PROP_SEED").is_some());
}

fn check(what: &str, ok: bool, detail: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: {}", detail()))
    }
}

/// edu: ID constant; INTx high exactly while IRQ_STATUS is non-zero (MSI
/// off); STATUS never shows computing nor bits it does not have.
fn edu_invariant(d: &mut MockDevice<qdev_edu::Edu>) -> Result<(), String> {
    let id = d.readl(0x00);
    check("ID", id == qdev_edu::EDU_ID, || format!("0x{id:x}"))?;
    let irq_status = d.readl(0x24);
    let line = d.line_level(LineRef::Intx);
    check("INTx follows IRQ_STATUS", line == (irq_status != 0), || {
        format!("line {line}, IRQ_STATUS 0x{irq_status:x}")
    })?;
    let status = d.readl(0x20);
    check(
        "STATUS bits",
        status & !(qdev_edu::STATUS_IRQFACT | qdev_edu::STATUS_DMA_ERROR) == 0,
        || format!("0x{status:x}"),
    )
}

/// gpio: the IRQ is ENABLE && (INT_STATUS & INT_MASK); INT_STATUS only
/// holds pins; VERSION constant.
fn gpio_invariant(d: &mut MockDevice<qdev_gpio::Gpio>) -> Result<(), String> {
    let (status, mask, ctrl) = (d.readl(0x08), d.readl(0x0c), d.readl(0x10));
    let line = d.line_level(LineRef::Irq(0));
    let want = ctrl & 1 != 0 && status & mask != 0;
    check("IRQ", line == want, || {
        format!("line {line}, INT_STATUS 0x{status:x} INT_MASK 0x{mask:x} CTRL 0x{ctrl:x}")
    })?;
    check("INT_STATUS pins", status & !0xff == 0, || {
        format!("0x{status:x}")
    })?;
    let version = d.readl(0x14);
    check("VERSION", version == 0x1_0000, || format!("0x{version:x}"))
}

/// PL011: MIS = RIS & IMSC, the IRQ is MIS != 0, FIFO flags consistent.
fn pl011_invariant(d: &mut MockDevice<qdev_pl011::Pl011>) -> Result<(), String> {
    use qdev_pl011::{FR_RXFE, FR_RXFF, FR_TXFE, FR_TXFF};
    let (ris, imsc, mis, fr) = (d.readl(0x3c), d.readl(0x38), d.readl(0x40), d.readl(0x18));
    check("MIS", mis == ris & imsc, || {
        format!("MIS 0x{mis:x} RIS 0x{ris:x} IMSC 0x{imsc:x}")
    })?;
    let line = d.line_level(LineRef::Irq(0));
    check("IRQ follows MIS", line == (mis != 0), || {
        format!("line {line}, MIS 0x{mis:x}")
    })?;
    check(
        "FIFO flags",
        fr & (FR_RXFE | FR_RXFF) != FR_RXFE | FR_RXFF
            && fr & (FR_TXFE | FR_TXFF) != FR_TXFE | FR_TXFF,
        || format!("FR 0x{fr:x}"),
    )
}

/// 16550: INTx is high exactly when IIR reports an interrupt.
fn uart_invariant(d: &mut MockDevice<qdev_16550::Uart16550>) -> Result<(), String> {
    let line = d.line_level(LineRef::Intx);
    let iir = d.readb(0x02);
    check("INTx follows IIR", line == (iir & 1 == 0), || {
        format!("line {line}, IIR 0x{iir:x}")
    })
}

/// baseline: INTx follows IRQ_STATUS bit 0.
fn baseline_invariant(d: &mut MockDevice<qdev_baseline::Baseline>) -> Result<(), String> {
    let s = d.readl(0x08);
    let line = d.line_level(LineRef::Intx);
    check("INTx follows IRQ_STATUS", line == (s & 1 != 0), || {
        format!("line {line}, IRQ_STATUS 0x{s:x}")
    })
}

/// i6300esb: nothing the guest sees is stated beyond the description's
/// logging rules (checked for every device); the run checks no panic.
fn no_invariant<T: qdev_runtime::Device>(_: &mut MockDevice<T>) -> Result<(), String> {
    Ok(())
}

#[test]
fn edu_on_the_mocked_bus() {
    let extras = Extras {
        ram: Some((0x10_0000, 0x1_0000)),
        ..Extras::default()
    };
    prop::<qdev_edu::Edu>("qdev-edu", extras, edu_invariant);
}

#[test]
fn uart16550_on_the_mocked_bus() {
    let extras = Extras {
        chardev: true,
        ..Extras::default()
    };
    prop::<qdev_16550::Uart16550>("qdev-16550", extras, uart_invariant);
}

#[test]
fn pl011_on_the_mocked_bus() {
    let extras = Extras {
        chardev: true,
        ..Extras::default()
    };
    prop::<qdev_pl011::Pl011>("qdev-pl011", extras, pl011_invariant);
}

#[test]
fn i6300esb_on_the_mocked_bus() {
    prop::<qdev_i6300esb::I6300Esb>("qdev-i6300esb", Extras::default(), no_invariant);
}

#[test]
fn gpio_on_the_mocked_bus() {
    let extras = Extras {
        gpio_inputs: 8,
        ..Extras::default()
    };
    prop::<qdev_gpio::Gpio>("qdev-gpio", extras, gpio_invariant);
}

#[test]
fn baseline_on_the_mocked_bus() {
    prop::<qdev_baseline::Baseline>("qdev-baseline", Extras::default(), baseline_invariant);
}

/// Random accesses and resets per device in QEMU.
const QEMU_OPS: u64 = 50_000;

fn in_qemu(package: &'static str) {
    let started = Instant::now();
    let target = Target::new(package).unwrap();
    let mut l = Lockstep::start(&target).unwrap();
    let mut rng = Rng(0xc0ffee ^ package.len() as u64);
    let desc = &target.device;
    for _ in 0..QEMU_OPS {
        if rng.below(1000) < 2 {
            l.reset().unwrap();
            continue;
        }
        if let Some((_, lines)) = target.gpio_inputs {
            if rng.percent(5) {
                let line = rng.below(u64::from(lines)) as u32;
                l.gpio_in(line, rng.percent(50)).unwrap();
                continue;
            }
        }
        let region = rng.below(desc.regions.len() as u64) as usize;
        let r = &desc.regions[region];
        let config = r.kind == "config";
        let size = if config || r.kind.starts_with("io") {
            [1u32, 2, 4][rng.below(3) as usize]
        } else {
            [1u32, 2, 4, 8][rng.below(4) as usize]
        };
        let offset = if !r.registers.is_empty() && rng.percent(85) {
            let x = &r.registers[rng.below(r.registers.len() as u64) as usize];
            x.offset + rng.below(u64::from(x.count.max(1))) * x.stride
        } else {
            rng.below(r.size.min(0x400))
        };
        let offset = if config {
            // Inside one dword of the device's part of config space.
            offset.clamp(0x40, r.size - 4) & !(u64::from(size) - 1)
        } else {
            offset.min(r.size - u64::from(size))
        };
        let write = rng.percent(55).then(|| match rng.below(4) {
            0 => 0,
            1 => u64::MAX,
            _ => rng.next_u64(),
        });
        l.access(Access {
            region: region as u32,
            offset,
            size,
            write,
        })
        .unwrap();
    }
    l.functional_check().unwrap();
    let stats = l.finish(&format!("random-{package}"));
    eprintln!(
        "{package}: {} random accesses and {} resets in QEMU, compared with the mocked bus \
         ({} interrupt changes, {} GPIO input changes), {:.1?}",
        stats.accesses,
        stats.resets,
        stats.irq_changes,
        stats.gpio_inputs,
        started.elapsed()
    );
}

#[test]
fn edu_in_qemu() {
    in_qemu("qdev-edu");
}

#[test]
fn uart16550_in_qemu() {
    in_qemu("qdev-16550");
}

#[test]
fn pl011_in_qemu() {
    in_qemu("qdev-pl011");
}

#[test]
fn i6300esb_in_qemu() {
    in_qemu("qdev-i6300esb");
}

#[test]
fn gpio_in_qemu() {
    in_qemu("qdev-gpio");
}

#[test]
fn baseline_in_qemu() {
    in_qemu("qdev-baseline");
}

/// A session's commands, saved and fed to QEMU from a file, get the same
/// replies and the same log, and the reset happens at the same place (the
/// scratch register reads its reset value right after it).
#[test]
fn a_saved_script_replays_with_the_same_replies() {
    let target = Target::new("qdev-gpio").unwrap();
    let mut s: Session = target.start().unwrap();
    const SCRATCH: &str = "0xfed01040";
    let mut replies = Vec::new();
    let mut cmds = vec![
        format!("writeb {SCRATCH} 0x3c"),
        format!("readb {SCRATCH}"),
        "readl 0xfed010f0".to_string(), // unmapped: logged
    ];
    replies.extend(s.batch(&cmds).unwrap());
    s.system_reset().unwrap();
    replies.push("OK".into());
    let after = vec![
        format!("readb {SCRATCH}"),
        format!("writeb {SCRATCH} 0x11"),
        format!("readb {SCRATCH}"),
    ];
    replies.extend(s.batch(&after).unwrap());
    let log = s.take_log();
    assert_eq!(replies[1], "OK 0x000000000000003c");
    assert_eq!(
        replies[4], "OK 0x00000000000000a5",
        "reset value right after the reset"
    );
    assert_eq!(log.len(), 1, "{log:?}");

    let path = qdev_tests::lockstep::replay_path("selftest-gpio");
    let line = s.save_replay(&path).unwrap();
    assert!(
        line.contains("-qtest stdio") && line.contains("LD_PRELOAD="),
        "{line}"
    );
    assert!(line.ends_with(&format!("< {}", path.display())), "{line}");
    let r = replay(s.modules(), s.args(), &path).unwrap();
    assert_eq!(r.exit_code, Some(1), "ends at the script's exit command");
    // Every command the session sent (start-up probe and set-up included),
    // then the exit command.
    let n = r.replies.len();
    assert_eq!(n, s.commands_sent() + 1, "{:?}", r.replies);
    assert_eq!(r.replies[n - 1 - replies.len()..n - 1], replies[..]);
    assert_eq!(r.log, log);

    // A hand-written script: several resets in one 1 KiB block of input
    // still happen where they are written.
    cmds.clear();
    let mut script = Vec::new();
    for i in 0..5u8 {
        script.push((format!("writeb {SCRATCH} 0x{i:x}"), false));
        script.push((format!("readb {SCRATCH}"), false));
        script.push((qdev_tests::script::RESET_COMMAND.to_string(), true));
        script.push((format!("readb {SCRATCH}"), false));
    }
    write_script(&path, &script).unwrap();
    let r = replay(s.modules(), s.args(), &path).unwrap();
    let want: Vec<String> = (0..5)
        .flat_map(|i| {
            [
                "OK".to_string(),
                format!("OK 0x{i:016x}"),
                "OK".into(),
                "OK 0x00000000000000a5".into(),
            ]
        })
        .collect();
    assert_eq!(r.replies[..want.len()], want[..], "{:?}", r.replies);
}
