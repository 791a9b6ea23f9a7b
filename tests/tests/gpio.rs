// SPDX-License-Identifier: GPL-2.0-or-later
//! The `qdev-gpio` sysbus device (written with the DSL) inside the stock
//! QEMU: placement, registers, IRQ, GPIO lines, properties, reset.

use std::time::Duration;

use qdev_tests::modules::rust_module;
use qdev_tests::{IrqEvent, Qemu, QemuBuilder};

const BASE: u64 = 0xfed0_1000;
const GSI: u32 = 5;
const PATH: &str = "/machine/peripheral/gpio0";

fn builder() -> QemuBuilder {
    Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-gpio").unwrap())
        .log("guest_errors,unimp")
}

fn start(props: &str) -> Qemu {
    builder()
        .device(format!(
            "qdev-gpio,id=gpio0,mmio={BASE:#x},irq={GSI}{props}"
        ))
        .start()
        .expect("QEMU starts with qdev-gpio")
}

#[test]
fn registers_answer_at_the_mapped_address() {
    let q = start("");
    assert_eq!(q.readl(BASE + 0x14).unwrap(), 0x0001_0000, "VERSION");
    assert_eq!(q.readb(BASE + 0x40).unwrap(), 0xa5, "SCRATCH reset value");
    q.writel(BASE, 0x5a).unwrap();
    assert_eq!(q.readl(BASE).unwrap(), 0x5a);
    q.writeb(BASE + 0x01, 0x12).unwrap();
    assert_eq!(q.readl(BASE).unwrap(), 0x125a, "byte lane write");
    q.writel(BASE + 0x10, 0xff00_0001).unwrap();
    assert_eq!(q.readl(BASE + 0x10).unwrap(), 1, "reserved bits kept");
    q.wait_stderr("changes reserved bits 0xff000000", Duration::from_secs(5))
        .unwrap();
}

#[test]
fn input_edge_raises_the_irq_at_the_configured_gsi() {
    let q = start("");
    q.irq_intercept_in("ioapic").unwrap();
    q.writel(BASE + 0x20 + 4 * 3, 1).unwrap(); // PIN_CFG[3]: rising edge
    q.writel(BASE + 0x0c, 1 << 3).unwrap(); // INT_MASK
    q.writel(BASE + 0x10, 1).unwrap(); // CTRL.ENABLE
    q.set_irq_in(PATH, Some("in"), 3, 1).unwrap();
    assert_eq!(q.readl(BASE + 0x04).unwrap(), 1 << 3, "DATA_IN");
    assert_eq!(q.readl(BASE + 0x08).unwrap(), 1 << 3, "INT_STATUS");
    assert!(q.irq_level(GSI), "IRQ raised at GSI {GSI}");
    q.writel(BASE + 0x08, 1 << 3).unwrap(); // write 1 to clear
    assert!(!q.irq_level(GSI));
    let events: Vec<IrqEvent> = q
        .irq_events()
        .into_iter()
        .filter(|e| e.line == GSI)
        .collect();
    assert_eq!(
        events,
        [
            IrqEvent {
                line: GSI,
                level: true
            },
            IrqEvent {
                line: GSI,
                level: false
            }
        ]
    );
}

#[test]
fn data_out_drives_the_gpio_outputs() {
    let q = start("");
    q.irq_intercept_out_named(PATH, "out").unwrap();
    q.writel(BASE, 0b1001).unwrap();
    assert!(q.irq_level(0));
    assert!(!q.irq_level(1));
    assert!(q.irq_level(3));
    q.writel(BASE, 0).unwrap();
    assert!(!q.irq_level(0) && !q.irq_level(3));
}

#[test]
fn unmapped_and_unimplemented_accesses_are_logged_not_fatal() {
    let q = start("");
    assert_eq!(q.readl(BASE + 0x80).unwrap(), 0);
    q.wait_stderr(
        "qdev-gpio: read (4 bytes) from unmapped offset 0x80 of region 'regs'",
        Duration::from_secs(5),
    )
    .unwrap();
    q.writel(BASE + 0x1c, 3).unwrap();
    q.wait_stderr("unimplemented register DEBOUNCE", Duration::from_secs(5))
        .unwrap();
    assert!(q.try_exit_status().unwrap().is_none());
}

#[test]
fn system_reset_restores_reset_values() {
    let q = start("");
    q.writel(BASE, 0xff).unwrap();
    q.writeb(BASE + 0x40, 0).unwrap();
    q.qmp("system_reset", None).unwrap();
    q.wait_qmp_event("RESET", Duration::from_secs(5)).unwrap();
    assert_eq!(q.readl(BASE).unwrap(), 0);
    assert_eq!(q.readb(BASE + 0x40).unwrap(), 0xa5);
}

#[test]
fn help_lists_properties_with_descriptions() {
    let out = std::process::Command::new(qdev_tests::modules::tool_binary().unwrap())
        .args(["run", "--module"])
        .arg(rust_module("qdev-gpio").unwrap())
        .args(["--", "-device", "qdev-gpio,help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "ngpio=<uint32>         - Number of pins in use (1 to 8). (default: 8)",
        "active-low=<bool>      - Outputs are active low. (default: off)",
        "label=<str>            - A name for the controller; must not be empty.",
        "mmio=<uint64>",
        "irq=<int32>",
        "intc=<str>",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

fn start_error(props: &str) -> String {
    let Err(e) = builder()
        .device(format!("qdev-gpio,id=gpio0{props}"))
        .start()
    else {
        panic!("QEMU accepted qdev-gpio{props}");
    };
    e.stderr().unwrap_or_default().to_string()
}

#[test]
fn out_of_range_property_stops_qemu_naming_it() {
    let err = start_error(",ngpio=9");
    assert!(
        err.contains("property 'ngpio' must be between 1 and 8, not 9"),
        "{err}"
    );
}

#[test]
fn mistyped_property_gets_qemus_own_error() {
    let err = start_error(",ngpio=many");
    assert!(err.contains("ngpio"), "{err}");
    assert!(err.contains("many"), "{err}");
}

#[test]
fn realize_hook_error_is_shown() {
    let err = start_error(",label=");
    assert!(err.contains("property 'label' must not be empty"), "{err}");
}

#[test]
fn unknown_interrupt_controller_is_an_error() {
    let err = start_error(",irq=3,intc=no-such-intc");
    assert!(
        err.contains("property 'intc': no interrupt controller 'no-such-intc'"),
        "{err}"
    );
}

#[test]
fn second_region_maps_after_the_first() {
    // Region `info` (16 bytes) follows `regs` (256 bytes), aligned to its size.
    let q = start(",label=porta");
    let word = q.readl(BASE + 0x100).unwrap();
    assert_eq!(&word.to_le_bytes(), b"port");
    assert_eq!(q.readb(BASE + 0x104).unwrap(), b'a');
    assert_eq!(q.readl(BASE + 0x108).unwrap(), 0);
}

#[test]
fn wrong_access_size_is_a_guest_error() {
    let q = start("");
    q.writel(BASE + 0x0c, 0xff).unwrap();
    q.writeb(BASE + 0x0c, 0).unwrap();
    assert_eq!(q.readl(BASE + 0x0c).unwrap(), 0xff);
    q.wait_stderr(
        "register INT_MASK does not take that size",
        Duration::from_secs(5),
    )
    .unwrap();
}

#[test]
fn irq_beyond_the_controller_is_an_error_not_an_abort() {
    let err = start_error(",mmio=0xfed01000,irq=30");
    assert!(
        err.contains("property 'irq': 'ioapic' has inputs 0 to 23, the device needs 30 to 30"),
        "{err}"
    );
}

#[test]
fn region_zero_maps_exactly_at_mmio() {
    let q = builder()
        .device("qdev-gpio,mmio=0xfed01800")
        .start()
        .unwrap();
    assert_eq!(q.readl(0xfed0_1800 + 0x14).unwrap(), 0x0001_0000, "VERSION");
    // `info` (16 bytes) follows at the next multiple of its size.
    q.writel(0xfed0_1800, 1).unwrap();
    assert_eq!(
        q.readl(0xfed0_1900).unwrap() & 0xff,
        u32::from(b'g'),
        "LABEL"
    );
}

#[test]
fn register_accesses_are_traced_with_qemus_trace_option() {
    let q = builder()
        .args(["-trace", "qdev_mmio*"])
        .device(format!("qdev-gpio,mmio={BASE:#x}"))
        .start()
        .unwrap();
    q.writel(BASE, 0x5a).unwrap();
    q.readl(BASE + 0x14).unwrap();
    q.readl(BASE + 0x20 + 4 * 3).unwrap();
    let log = q.wait_stderr("PIN_CFG[3]", Duration::from_secs(5)).unwrap();
    assert!(
        log.contains("qdev_mmio_write qdev-gpio regs DATA_OUT offset 0x0 size 4 value 0x5a"),
        "{log}"
    );
    assert!(
        log.contains("qdev_mmio_read qdev-gpio regs VERSION offset 0x14 size 4 value 0x10000"),
        "{log}"
    );
    assert!(
        log.contains("qdev_mmio_read qdev-gpio regs PIN_CFG[3] offset 0x2c size 4 value 0x0"),
        "{log}"
    );
}

#[test]
fn tracing_is_off_by_default() {
    let q = start("");
    q.writel(BASE, 0x5a).unwrap();
    q.readl(BASE).unwrap();
    assert!(!q.stderr().contains("qdev_mmio"), "{}", q.stderr());
}
