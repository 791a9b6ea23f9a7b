// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-gpio`: a small GPIO controller on the system bus, written to show
//! the whole `#[qemu_device]` DSL on one screen: every access kind, a
//! register array, a method-backed register, a mixed register with reserved
//! bits, properties with defaults and ranges, an IRQ, GPIO inputs and
//! outputs, and realize/reset hooks.
//!
//! Region `regs`, 256 bytes:
//!
//! | offset | name        | access        | reset      | meaning |
//! |--------|-------------|---------------|------------|---------|
//! | 0x00   | DATA_OUT    | rw            | 0          | levels of the output pins |
//! | 0x04   | DATA_IN     | ro (method)   | -          | levels of the input pins |
//! | 0x08   | INT_STATUS  | w1c           | 0          | latched input edges |
//! | 0x0c   | INT_MASK    | rw            | 0          | edges that raise the IRQ |
//! | 0x10   | CTRL        | mixed         | 0          | bit 0 ENABLE (rw), bit 1 INVERT (toggle), bits 8-31 reserved |
//! | 0x14   | VERSION     | ro            | 0x00010000 | model version 1.0 |
//! | 0x18   | CHANGES     | rc            | 0          | input changes since last read |
//! | 0x1c   | DEBOUNCE    | rw, unimplemented | 0      | accepted, has no effect |
//! | 0x20   | `PIN_CFG[8]` | rw, stride 4  | 0          | bits 0-1 EDGE: none, rising, falling, both |
//! | 0x40   | SCRATCH     | rw, 8 bits    | 0xa5       | free for the guest |
//!
//! INT_STATUS and INT_MASK take 32-bit accesses only.
//!
//! Region `info`, 16 bytes, read-only: `LABEL[4]`, the `label` property as
//! ASCII, four bytes per register, NUL-padded.
//!
//! The IRQ is high while CTRL.ENABLE is set and `INT_STATUS & INT_MASK` is
//! not zero. Output pin n follows DATA_OUT bit n, inverted when the
//! `active-low` property or CTRL.INVERT is set.

use qdev_runtime::{field_enum, guest_error, qemu_device, Error, FieldValue, Irq};

/// Number of pins the model has room for.
pub const MAX_PINS: usize = 8;

field_enum! {
    /// PIN_CFG.EDGE: which input edges latch an interrupt.
    pub enum Edge {
        /// No interrupt.
        None = 0,
        /// Low to high.
        Rising = 1,
        /// High to low.
        Falling = 2,
        /// Either.
        Both = 3,
    }
}

/// A GPIO controller.
#[qemu_device(
    name = "qdev-gpio",
    desc = "qdev example GPIO controller",
    sysbus,
    region(name = "regs", size = 0x100),
    region(name = "info", size = 0x10),
    register(name = "DATA_IN", offset = 0x04, read = Self::data_in),
    register(name = "LABEL", region = "info", offset = 0x0, count = 4, read = Self::label_word),
    gpio_in(name = "in", count = 8, handler = Self::input_changed),
    realize = Self::check_properties,
    reset = Self::after_reset
)]
#[derive(Debug)]
pub struct Gpio {
    /// Levels of the output pins.
    #[reg(offset = 0x00, access = rw, write = Self::drive_outputs)]
    data_out: u32,
    /// Latched input edges; write 1 to clear.
    #[reg(offset = 0x08, access = w1c, sizes = [4], write = Self::update_irq_after)]
    int_status: u32,
    /// Edges that raise the IRQ.
    #[reg(offset = 0x0c, access = rw, sizes = [4], write = Self::update_irq_after)]
    int_mask: u32,
    /// Control: ENABLE, INVERT.
    #[reg(
        offset = 0x10,
        rw = 0x1,
        toggle = 0x2,
        reserved = 0xffff_ff00,
        field(name = "ENABLE", bit = 0),
        field(name = "INVERT", bit = 1),
        write = Self::ctrl_written
    )]
    ctrl: u32,
    /// Model version.
    #[reg(offset = 0x14, access = ro, reset = 0x0001_0000)]
    version: u32,
    /// Input changes since the last read.
    #[reg(offset = 0x18, access = rc)]
    changes: u32,
    /// Debounce time: accepted but not modelled.
    #[reg(offset = 0x1c, access = rw, unimplemented)]
    debounce: u32,
    /// Per-pin edge configuration.
    #[reg(offset = 0x20, access = rw, stride = 4, field(name = "EDGE", bits = 0..=1, values = Edge))]
    pin_cfg: [u32; 8],
    /// Free for the guest.
    #[reg(offset = 0x40, access = rw, reset = 0xa5)]
    scratch: u8,

    /// Number of pins in use (1 to 8).
    #[property(default = 8, min = 1, max = 8)]
    ngpio: u32,
    /// Outputs are active low.
    #[property(default = false)]
    active_low: bool,
    /// A name for the controller; must not be empty.
    #[property(default = "gpio")]
    label: String,

    /// The summary interrupt.
    #[irq]
    irq: Irq,
    /// The output pins.
    #[gpio_out(name = "out")]
    out: [Irq; 8],

    /// Current input levels (not a register: DATA_IN reads it).
    inputs: u32,
}

impl Gpio {
    fn pins_mask(&self) -> u32 {
        ((1u64 << self.ngpio) - 1) as u32
    }

    fn check_properties(&mut self) -> Result<(), Error> {
        if self.label.is_empty() {
            return Err(Error::new("property 'label' must not be empty"));
        }
        Ok(())
    }

    /// Migration: the registers go by themselves; the input levels do not
    /// live in a register.
    fn after_reset(&mut self) {
        self.inputs = 0;
        self.drive_outputs(0);
        self.update_irq();
    }

    fn data_in(&mut self) -> u32 {
        self.inputs & self.pins_mask()
    }

    fn label_word(&mut self, index: usize) -> u32 {
        let mut word = [0u8; 4];
        for (i, b) in self.label.bytes().skip(index * 4).take(4).enumerate() {
            word[i] = b;
        }
        u32::from_le_bytes(word)
    }

    fn drive_outputs(&mut self, data: u32) {
        let invert = self.active_low ^ Self::CTRL_INVERT.is_set(self.ctrl);
        for (n, pin) in self.out.iter().enumerate().take(self.ngpio as usize) {
            pin.set((data >> n & 1 != 0) ^ invert);
        }
    }

    fn ctrl_written(&mut self, _ctrl: u32) {
        self.drive_outputs(self.data_out);
        self.update_irq();
    }

    fn update_irq_after(&mut self, _value: u32) {
        self.update_irq();
    }

    fn update_irq(&mut self) {
        let pending = self.int_status & self.int_mask != 0;
        self.irq.set(Self::CTRL_ENABLE.is_set(self.ctrl) && pending);
    }

    fn input_changed(&mut self, line: u32, level: bool) {
        if line >= self.ngpio {
            guest_error!(
                "qdev-gpio: input {line} changed, but only {} pins are in use",
                self.ngpio
            );
            return;
        }
        let bit = 1 << line;
        let was = self.inputs & bit != 0;
        if was == level {
            return;
        }
        self.inputs ^= bit;
        self.changes = self.changes.wrapping_add(1);
        let edge = Edge::from_bits(Self::PIN_CFG_EDGE.get(self.pin_cfg[line as usize]));
        let latch = matches!(
            (edge, level),
            (Some(Edge::Rising | Edge::Both), true) | (Some(Edge::Falling | Edge::Both), false)
        );
        if latch {
            self.int_status |= bit;
            self.update_irq();
        }
    }
}
