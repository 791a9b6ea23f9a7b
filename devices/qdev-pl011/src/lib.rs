// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-pl011`: an ARM PrimeCell UART (PL011) on the system bus, backed by
//! a chardev, after the PL011 Technical Reference Manual (ARM DDI 0183).
//!
//! | offset | name    | access      | meaning |
//! |--------|---------|-------------|---------|
//! | 0x000  | DR      | rw (method) | read: pop a received byte; write: transmit |
//! | 0x004  | RSR/ECR | rw (method) | receive errors (always 0); a write clears them |
//! | 0x018  | FR      | ro (method) | flags: RXFE, TXFF, RXFF, TXFE, BUSY, CTS |
//! | 0x020  | ILPR    | rw          | IrDA low-power counter (no effect) |
//! | 0x024  | IBRD    | rw          | integer baud divisor |
//! | 0x028  | FBRD    | rw          | fractional baud divisor (6 bits) |
//! | 0x02c  | LCR_H   | rw          | line control; bit 4 FEN enables the FIFOs |
//! | 0x030  | CR      | rw          | control: UARTEN, LBE (loopback), TXE, RXE |
//! | 0x034  | IFLS    | rw          | FIFO interrupt levels (no effect: see below) |
//! | 0x038  | IMSC    | rw          | interrupt mask set/clear |
//! | 0x03c  | RIS     | ro          | raw interrupt status |
//! | 0x040  | MIS     | ro (method) | masked interrupt status (RIS & IMSC) |
//! | 0x044  | ICR     | wo          | interrupt clear (write 1 to clear RIS bits) |
//! | 0x048  | DMACR   | rw          | DMA control (DMA not modelled) |
//! | 0xfe0  | `ID[8]` | ro (method) | PeriphID0-3 (0x11 0x10 0x14 0x00), PCellID0-3 (0x0d 0xf0 0x05 0xb1) |
//!
//! Receive FIFO: 16 entries with FEN set, 1 without, with backpressure to
//! the chardev. Transmit goes straight to the chardev (TXFE stays set).
//! RXIS is raised while data is waiting, TXIS after each transmitted byte
//! (the FIFO is empty again at once); one combined interrupt line. Left
//! out: the trigger levels of IFLS, the receive timeout interrupt, modem
//! status and error interrupts, IrDA and DMA.

use std::collections::VecDeque;

use qdev_runtime::{qemu_device, CharDev, Error, Irq};

/// Receive FIFO depth with FEN.
pub const FIFO_DEPTH: usize = 16;
/// FR: receive FIFO empty.
pub const FR_RXFE: u32 = 1 << 4;
/// FR: transmit FIFO full.
pub const FR_TXFF: u32 = 1 << 5;
/// FR: receive FIFO full.
pub const FR_RXFF: u32 = 1 << 6;
/// FR: transmit FIFO empty.
pub const FR_TXFE: u32 = 1 << 7;
/// FR: clear to send.
pub const FR_CTS: u32 = 1 << 0;
/// LCR_H: FIFO enable.
pub const LCR_H_FEN: u32 = 1 << 4;
/// CR: UART enable.
pub const CR_UARTEN: u32 = 1 << 0;
/// CR: loopback.
pub const CR_LBE: u32 = 1 << 7;
/// CR: transmit enable.
pub const CR_TXE: u32 = 1 << 8;
/// CR: receive enable.
pub const CR_RXE: u32 = 1 << 9;
/// Interrupt: receive.
pub const INT_RX: u32 = 1 << 4;
/// Interrupt: transmit.
pub const INT_TX: u32 = 1 << 5;

const ID: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// The PL011.
#[qemu_device(
    name = "qdev-pl011",
    desc = "qdev ARM PrimeCell UART (PL011)",
    sysbus,
    region(name = "regs", size = 0x1000),
    register(name = "DR", offset = 0x000, read = Self::read_dr, write = Self::write_dr),
    register(name = "RSR", offset = 0x004, read = Self::read_rsr, write = Self::write_ecr),
    register(name = "FR", offset = 0x018, read = Self::read_fr),
    register(name = "MIS", offset = 0x040, read = Self::read_mis),
    register(name = "ID", offset = 0xfe0, count = 8, read = Self::read_id),
    reset = Self::on_reset,
    post_load = Self::check_loaded
)]
#[derive(Debug)]
pub struct Pl011 {
    /// IrDA low-power counter.
    #[reg(offset = 0x020, access = rw, reserved = 0xffff_ff00)]
    ilpr: u32,
    /// Integer baud rate divisor.
    #[reg(offset = 0x024, access = rw, reserved = 0xffff_0000)]
    ibrd: u32,
    /// Fractional baud rate divisor.
    #[reg(offset = 0x028, access = rw, reserved = 0xffff_ffc0)]
    fbrd: u32,
    /// Line control.
    #[reg(offset = 0x02c, access = rw, reserved = 0xffff_ff00, write = Self::lcr_written,
          field(name = "FEN", bit = 4), field(name = "WLEN", bits = 5..=6))]
    lcr_h: u32,
    /// Control.
    #[reg(offset = 0x030, access = rw, reset = 0x300, reserved = 0xffff_0000,
          write = Self::cr_written,
          field(name = "UARTEN", bit = 0), field(name = "LBE", bit = 7),
          field(name = "TXE", bit = 8), field(name = "RXE", bit = 9))]
    cr: u32,
    /// FIFO interrupt levels.
    #[reg(offset = 0x034, access = rw, reset = 0x12, reserved = 0xffff_ffc0)]
    ifls: u32,
    /// Interrupt mask.
    #[reg(offset = 0x038, access = rw, reserved = 0xffff_f800, write = Self::irq_written)]
    imsc: u32,
    /// Raw interrupt status.
    #[reg(offset = 0x03c, access = ro)]
    ris: u32,
    /// Interrupt clear.
    #[reg(offset = 0x044, access = wo, write = Self::icr_written)]
    icr: u32,
    /// DMA control.
    #[reg(offset = 0x048, access = rw, reserved = 0xffff_fff8)]
    dmacr: u32,

    /// The host side.
    #[chardev(receive = Self::receive, can_receive = Self::room)]
    chr: CharDev,
    /// The combined interrupt.
    #[irq]
    irq: Irq,

    rx: VecDeque<u8>,
}

impl Pl011 {
    /// Migration: the receive FIFO (the registers go by themselves).
    /// Migration: a stream whose FIFO holds more than the PL011's is
    /// refused.
    fn check_loaded(&mut self, _version: u32) -> Result<(), Error> {
        if self.rx.len() > FIFO_DEPTH {
            return Err(Error::new(format!(
                "the receive FIFO holds {} bytes; a PL011 holds {FIFO_DEPTH}",
                self.rx.len()
            )));
        }
        Ok(())
    }

    /// The registers are reset by their declarations; the receive FIFO
    /// empties and the interrupt line follows (low: IMSC is 0 again).
    fn on_reset(&mut self) {
        self.rx.clear();
        self.update();
    }

    fn capacity(&self) -> usize {
        if self.lcr_h & LCR_H_FEN != 0 {
            FIFO_DEPTH
        } else {
            1
        }
    }

    fn receiving(&self) -> bool {
        self.cr & CR_UARTEN != 0 && self.cr & CR_RXE != 0 && self.cr & CR_LBE == 0
    }

    fn update(&mut self) {
        if self.rx.is_empty() {
            self.ris &= !INT_RX;
        } else {
            self.ris |= INT_RX;
        }
        self.irq.set(self.ris & self.imsc != 0);
    }

    fn room(&mut self) -> usize {
        if !self.receiving() {
            return 0;
        }
        self.capacity().saturating_sub(self.rx.len())
    }

    fn receive(&mut self, bytes: &[u8]) {
        let room = self.room();
        self.rx.extend(bytes.iter().take(room));
        self.update();
    }

    fn read_dr(&mut self) -> u32 {
        let byte = self.rx.pop_front().unwrap_or(0);
        self.update();
        self.chr.accept_input();
        u32::from(byte)
    }

    fn write_dr(&mut self, value: u32) {
        let byte = value as u8;
        if self.cr & CR_LBE != 0 {
            if self.rx.len() < self.capacity() {
                self.rx.push_back(byte);
            }
        } else if self.cr & CR_UARTEN != 0 && self.cr & CR_TXE != 0 {
            self.chr.write(&[byte]);
        }
        self.ris |= INT_TX;
        self.update();
    }

    fn read_rsr(&mut self) -> u32 {
        0
    }

    fn write_ecr(&mut self, _: u32) {}

    fn read_fr(&mut self) -> u32 {
        let mut fr = FR_TXFE | FR_CTS;
        if self.rx.is_empty() {
            fr |= FR_RXFE;
        }
        if self.rx.len() >= self.capacity() {
            fr |= FR_RXFF;
        }
        fr
    }

    fn read_mis(&mut self) -> u32 {
        self.ris & self.imsc
    }

    fn read_id(&mut self, index: usize) -> u32 {
        ID[index]
    }

    fn lcr_written(&mut self, _: u32) {
        // Changing FEN flushes the FIFOs, as on the hardware.
        if self.rx.len() > self.capacity() {
            self.rx.truncate(self.capacity());
        }
        self.chr.accept_input();
        self.update();
    }

    fn cr_written(&mut self, _: u32) {
        self.chr.accept_input();
        self.update();
    }

    fn irq_written(&mut self, _: u32) {
        self.update();
    }

    fn icr_written(&mut self, value: u32) {
        self.ris &= !value;
        self.update();
    }
}
