// SPDX-License-Identifier: GPL-2.0-or-later
//! The GPIO controller on the mocked bus: every access kind of the DSL,
//! lines, properties and hooks, without QEMU.

use qdev_gpio::{Edge, Gpio};
use qdev_runtime::log::LogClass;
use qdev_runtime::mock::{LineEvent, MockDevice};
use qdev_runtime::FieldValue;
use qdev_runtime::LineRef;

const DATA_OUT: u64 = 0x00;
const DATA_IN: u64 = 0x04;
const INT_STATUS: u64 = 0x08;
const INT_MASK: u64 = 0x0c;
const CTRL: u64 = 0x10;
const VERSION: u64 = 0x14;
const CHANGES: u64 = 0x18;
const DEBOUNCE: u64 = 0x1c;
const PIN_CFG: u64 = 0x20;
const SCRATCH: u64 = 0x40;

const CTRL_ENABLE: u32 = Gpio::CTRL_ENABLE.mask() as u32;
const CTRL_INVERT: u32 = Gpio::CTRL_INVERT.mask() as u32;
const PIN_RISING: u32 = Edge::Rising as u32;
const PIN_FALLING: u32 = Edge::Falling as u32;

fn out(n: u32) -> LineRef {
    LineRef::GpioOut { group: 0, line: n }
}

fn gpio() -> MockDevice<Gpio> {
    MockDevice::<Gpio>::new().expect("defaults are valid")
}

#[test]
fn registers_start_at_their_reset_values() {
    let mut dev = gpio();
    assert_eq!(dev.readl(VERSION), 0x0001_0000);
    assert_eq!(dev.readb(SCRATCH), 0xa5);
    assert_eq!(dev.readl(DATA_OUT), 0);
    assert_eq!(dev.readl(PIN_CFG + 4 * 7), 0);
}

#[test]
fn data_out_drives_the_output_pins() {
    let mut dev = gpio();
    dev.take_line_events();
    dev.writel(DATA_OUT, 0b101);
    let high: Vec<u32> = (0..8).filter(|&n| dev.line_level(out(n))).collect();
    assert_eq!(high, [0, 2]);
}

#[test]
fn active_low_and_invert_flip_the_outputs() {
    let mut dev = MockDevice::<Gpio>::builder()
        .prop("active-low", true)
        .build()
        .unwrap();
    dev.writel(DATA_OUT, 0b1);
    assert!(!dev.line_level(out(0)));
    assert!(dev.line_level(out(1)));
    dev.writel(CTRL, CTRL_INVERT); // toggles INVERT on: active-low ^ invert = normal
    assert!(dev.line_level(out(0)));
    dev.writel(CTRL, CTRL_INVERT); // toggles it off again
    assert!(!dev.line_level(out(0)));
}

#[test]
fn input_edges_latch_w1c_status_and_raise_the_irq() {
    let mut dev = gpio();
    dev.writel(PIN_CFG + 4 * 3, PIN_RISING);
    dev.writel(INT_MASK, 1 << 3);
    dev.writel(CTRL, CTRL_ENABLE);
    dev.take_line_events();

    dev.set_gpio_in(0, 3, true);
    assert_eq!(dev.readl(DATA_IN), 1 << 3);
    assert_eq!(dev.readl(INT_STATUS), 1 << 3);
    assert_eq!(
        dev.take_line_events(),
        [LineEvent::new(LineRef::Irq(0), true)]
    );

    // Writing 0 clears nothing; writing the bit clears it and lowers the IRQ.
    dev.writel(INT_STATUS, 0);
    assert_eq!(dev.readl(INT_STATUS), 1 << 3);
    dev.writel(INT_STATUS, 1 << 3);
    assert_eq!(dev.readl(INT_STATUS), 0);
    assert!(!dev.line_level(LineRef::Irq(0)));
}

#[test]
fn falling_edges_only_count_when_configured() {
    let mut dev = gpio();
    dev.writel(PIN_CFG, PIN_FALLING);
    dev.set_gpio_in(0, 0, true);
    assert_eq!(dev.readl(INT_STATUS), 0, "a rising edge is not configured");
    dev.set_gpio_in(0, 0, false);
    assert_eq!(dev.readl(INT_STATUS), 1);
}

#[test]
fn masked_or_disabled_interrupts_stay_low() {
    let mut dev = gpio();
    dev.writel(PIN_CFG, PIN_RISING);
    dev.set_gpio_in(0, 0, true);
    assert!(!dev.line_level(LineRef::Irq(0)), "masked and disabled");
    dev.writel(INT_MASK, 1);
    assert!(!dev.line_level(LineRef::Irq(0)), "still disabled");
    dev.writel(CTRL, CTRL_ENABLE);
    assert!(dev.line_level(LineRef::Irq(0)));
}

#[test]
fn changes_counter_clears_on_read() {
    let mut dev = gpio();
    dev.set_gpio_in(0, 1, true);
    dev.set_gpio_in(0, 1, false);
    assert_eq!(dev.readl(CHANGES), 2);
    assert_eq!(dev.readl(CHANGES), 0);
}

#[test]
fn ctrl_keeps_reserved_bits_and_logs_writes_to_them() {
    let mut dev = gpio();
    dev.take_log();
    dev.writel(CTRL, 0xff00_0001);
    assert_eq!(dev.readl(CTRL), CTRL_ENABLE);
    let log = dev.take_log();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].message.contains("reserved bits 0xff000000"),
        "{:?}",
        log[0]
    );
    // bits 2-7 are read-only: no error, no effect
    dev.writel(CTRL, 0xfc | CTRL_ENABLE);
    assert_eq!(dev.readl(CTRL), CTRL_ENABLE);
}

#[test]
fn data_in_is_read_only_and_computed() {
    let mut dev = gpio();
    dev.set_gpio_in(0, 7, true);
    dev.writel(DATA_IN, 0);
    assert_eq!(dev.readl(DATA_IN), 1 << 7);
    assert!(dev.take_log()[0]
        .message
        .contains("read-only register DATA_IN"));
}

#[test]
fn unimplemented_register_is_logged_as_unimp() {
    let mut dev = gpio();
    dev.take_log();
    dev.writel(DEBOUNCE, 5);
    assert_eq!(dev.readl(DEBOUNCE), 5, "stored all the same");
    let log = dev.take_log();
    assert_eq!(log[0].class, LogClass::Unimplemented);
    assert!(log[0].message.contains("unimplemented register DEBOUNCE"));
}

#[test]
fn register_array_gaps_and_byte_lanes() {
    let mut dev = gpio();
    dev.writeb(PIN_CFG + 4 * 2, 0x3);
    assert_eq!(dev.readl(PIN_CFG + 8), 3);
    assert_eq!(dev.readw(PIN_CFG + 8), 3);
    assert_eq!(dev.readb(PIN_CFG + 9), 0);
    // An access running past the end of a register is refused.
    assert_eq!(dev.read(0, SCRATCH, 4), 0);
    assert!(dev.take_log()[0]
        .message
        .contains("runs past the end of register SCRATCH"));
}

#[test]
fn unknown_offsets_read_zero_and_log() {
    let mut dev = gpio();
    dev.take_log();
    assert_eq!(dev.readl(0x80), 0);
    dev.writel(0x84, 1);
    let log = dev.take_log();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].message,
        "qdev-gpio: read (4 bytes) from unmapped offset 0x80 of region 'regs'"
    );
    assert_eq!(
        log[1].message,
        "qdev-gpio: write of 0x1 (4 bytes) to unmapped offset 0x84 of region 'regs'"
    );
}

#[test]
fn inputs_beyond_ngpio_are_guest_errors() {
    let mut dev = MockDevice::<Gpio>::builder()
        .prop("ngpio", 4u32)
        .build()
        .unwrap();
    dev.take_log();
    dev.set_gpio_in(0, 5, true);
    assert_eq!(dev.readl(DATA_IN), 0);
    assert!(dev.take_log()[0].message.contains("only 4 pins"));
}

#[test]
fn reset_restores_registers_and_lowers_lines() {
    let mut dev = gpio();
    dev.writel(DATA_OUT, 0xff);
    dev.writeb(SCRATCH, 1);
    dev.writel(CTRL, CTRL_ENABLE);
    dev.reset();
    assert_eq!(dev.readl(DATA_OUT), 0);
    assert_eq!(dev.readb(SCRATCH), 0xa5);
    assert_eq!(dev.readl(CTRL), 0);
    assert!((0..8).all(|n| !dev.line_level(out(n))));
}

#[test]
fn property_range_is_checked_at_realize() {
    let err = MockDevice::<Gpio>::builder()
        .prop("ngpio", 9u32)
        .build()
        .err()
        .unwrap();
    assert_eq!(
        err.message(),
        "property 'ngpio' must be between 1 and 8, not 9"
    );
}

#[test]
fn realize_hook_refuses_an_empty_label() {
    let err = MockDevice::<Gpio>::builder()
        .prop("label", "")
        .build()
        .err()
        .unwrap();
    assert_eq!(err.message(), "property 'label' must not be empty");
}

#[test]
fn unknown_or_mistyped_properties_are_refused() {
    let err = MockDevice::<Gpio>::builder()
        .prop("pins", 3u32)
        .build()
        .err()
        .unwrap();
    assert_eq!(err.message(), "Property 'qdev-gpio.pins' not found");
    let err = MockDevice::<Gpio>::builder()
        .prop("ngpio", true)
        .build()
        .err()
        .unwrap();
    assert!(err
        .message()
        .starts_with("Property 'qdev-gpio.ngpio' doesn't take value"));
}

#[test]
fn w1c_and_mask_registers_take_32_bit_accesses_only() {
    let mut dev = gpio();
    dev.writel(INT_MASK, 0xff);
    dev.take_log();
    dev.writeb(INT_MASK, 0);
    assert_eq!(dev.readl(INT_MASK), 0xff, "the byte write was refused");
    assert_eq!(dev.readw(INT_MASK), 0);
    let log = dev.take_log();
    assert_eq!(log.len(), 2);
    assert!(
        log[0].message.contains("1-byte access at offset 0xc"),
        "{:?}",
        log[0]
    );
    assert!(log[0]
        .message
        .contains("register INT_MASK does not take that size"));
}

#[test]
fn info_region_spells_the_label() {
    let mut dev = MockDevice::<Gpio>::builder()
        .prop("label", "porta-leds")
        .build()
        .unwrap();
    let bytes: Vec<u8> = (0..4)
        .flat_map(|i| (dev.read(1, i * 4, 4) as u32).to_le_bytes())
        .collect();
    assert_eq!(&bytes[..10], b"porta-leds");
    assert!(bytes[10..].iter().all(|&b| b == 0));
    assert_eq!(
        dev.read(1, 1, 1),
        u64::from(b'o'),
        "byte reads see one lane"
    );
}

#[test]
fn edge_field_values_round_trip() {
    let mut dev = gpio();
    dev.writel(PIN_CFG + 4, Edge::Both.to_bits() as u32);
    let cfg = dev.readl(PIN_CFG + 4);
    assert_eq!(
        Edge::from_bits(Gpio::PIN_CFG_EDGE.get(cfg)),
        Some(Edge::Both)
    );
    dev.writel(INT_MASK, 0b10);
    dev.writel(CTRL, CTRL_ENABLE);
    dev.set_gpio_in(0, 1, true);
    dev.writel(INT_STATUS, 0b10);
    dev.set_gpio_in(0, 1, false);
    assert_eq!(dev.readl(INT_STATUS), 0b10, "both edges latch");
}
