// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-16550`: a 16550A-compatible UART on PCI, backed by a chardev.
//!
//! PCI `1234:1655`, class 0x0700 with programming interface 0x02 (a
//! 16550-compatible serial controller), so Linux's `8250_pci` binds it
//! without being told. BAR 0: 8 I/O ports, the classic register set.
//!
//! | port | DLAB=0 read | DLAB=0 write | DLAB=1 |
//! |------|-------------|--------------|--------|
//! | 0    | RBR         | THR          | DLL    |
//! | 1    | IER         | IER          | DLM    |
//! | 2    | IIR         | FCR          |        |
//! | 3    | LCR         | LCR          |        |
//! | 4    | MCR         | MCR          |        |
//! | 5    | LSR         | -            |        |
//! | 6    | MSR         | -            |        |
//! | 7    | SCR         | SCR          |        |
//!
//! Modelled: 16-byte receive FIFO (1 byte with the FIFO off) with
//! backpressure to the chardev, transmit straight to the chardev (THR is
//! empty at once), the interrupt identification priorities (line status >
//! received data > THR empty > modem status), the THRE interrupt on
//! enabling it, loopback (MCR bit 4) with the modem lines looped as on real
//! hardware, modem status deltas, the divisor latch and the scratch
//! register. Not modelled: baud rate timing (bytes move as fast as the
//! chardev takes them), the receive trigger levels and the character
//! timeout interrupt (received data interrupts as soon as one byte is
//! there), break, parity and framing errors.

use std::collections::VecDeque;

use qdev_runtime::{qemu_device, CharDev, CharEvent, Error, Irq};

/// Depth of the receive FIFO.
pub const FIFO_DEPTH: usize = 16;

/// IER: received data available.
pub const IER_RDI: u8 = 0x01;
/// IER: transmitter holding register empty.
pub const IER_THRI: u8 = 0x02;
/// IER: receiver line status.
pub const IER_RLSI: u8 = 0x04;
/// IER: modem status.
pub const IER_MSI: u8 = 0x08;
/// IIR: no interrupt pending.
pub const IIR_NO_INT: u8 = 0x01;
/// IIR: modem status.
pub const IIR_MSI: u8 = 0x00;
/// IIR: THR empty.
pub const IIR_THRI: u8 = 0x02;
/// IIR: received data available.
pub const IIR_RDI: u8 = 0x04;
/// IIR: FIFOs enabled (16550A).
pub const IIR_FIFO: u8 = 0xc0;
/// FCR: enable the FIFOs.
pub const FCR_ENABLE: u8 = 0x01;
/// FCR: clear the receive FIFO.
pub const FCR_CLEAR_RX: u8 = 0x02;
/// LCR: divisor latch access.
pub const LCR_DLAB: u8 = 0x80;
/// MCR: DTR.
pub const MCR_DTR: u8 = 0x01;
/// MCR: RTS.
pub const MCR_RTS: u8 = 0x02;
/// MCR: OUT1.
pub const MCR_OUT1: u8 = 0x04;
/// MCR: OUT2.
pub const MCR_OUT2: u8 = 0x08;
/// MCR: loopback.
pub const MCR_LOOP: u8 = 0x10;
/// LSR: data ready.
pub const LSR_DR: u8 = 0x01;
/// LSR: THR empty.
pub const LSR_THRE: u8 = 0x20;
/// LSR: transmitter empty.
pub const LSR_TEMT: u8 = 0x40;
/// MSR: clear to send.
pub const MSR_CTS: u8 = 0x10;
/// MSR: data set ready.
pub const MSR_DSR: u8 = 0x20;
/// MSR: ring indicator.
pub const MSR_RI: u8 = 0x40;
/// MSR: data carrier detect.
pub const MSR_DCD: u8 = 0x80;

/// The UART.
#[qemu_device(
    name = "qdev-16550",
    desc = "qdev 16550A-compatible UART on PCI",
    pci(vendor = 0x1234, device = 0x1655, class = 0x0700, prog_if = 0x02, revision = 1),
    region(name = "uart", size = 8, io, bar = 0),
    register(name = "RBR_THR_DLL", offset = 0, width = 8, read = Self::read_data, write = Self::write_data),
    register(name = "IER_DLM", offset = 1, width = 8, read = Self::read_ier, write = Self::write_ier),
    register(name = "IIR_FCR", offset = 2, width = 8, read = Self::read_iir, write = Self::write_fcr),
    register(name = "MCR", offset = 4, width = 8, read = Self::read_mcr, write = Self::write_mcr),
    register(name = "LSR", offset = 5, width = 8, read = Self::read_lsr),
    register(name = "MSR", offset = 6, width = 8, read = Self::read_msr),
    reset = Self::on_reset,
    post_load = Self::check_loaded
)]
#[derive(Debug)]
pub struct Uart16550 {
    /// Line control.
    #[reg(offset = 3, access = rw)]
    lcr: u8,
    /// Scratch.
    #[reg(offset = 7, access = rw)]
    scr: u8,
    /// The host side.
    #[chardev(receive = Self::receive, can_receive = Self::room, event = Self::event)]
    chr: CharDev,
    /// INTx.
    #[irq]
    irq: Irq,

    ier: u8,
    fcr: u8,
    mcr: u8,
    msr: u8,
    dll: u8,
    dlm: u8,
    rx: VecDeque<u8>,
    thr_pending: bool,
    /// Whether a host is connected: the destination's chardev tells its
    /// own, so this is not migrated.
    #[state(skip)]
    host_connected: bool,
}

impl Uart16550 {
    /// Migration: every field but `host_connected` is saved as it is; a
    /// stream whose FIFO holds more than a 16550A can is refused.
    fn check_loaded(&mut self, _version: u32) -> Result<(), Error> {
        if self.rx.len() > FIFO_DEPTH {
            return Err(Error::new(format!(
                "the receive FIFO holds {} bytes; a 16550A holds {FIFO_DEPTH}",
                self.rx.len()
            )));
        }
        Ok(())
    }

    fn dlab(&self) -> bool {
        self.lcr & LCR_DLAB != 0
    }

    fn fifo_capacity(&self) -> usize {
        if self.fcr & FCR_ENABLE != 0 {
            FIFO_DEPTH
        } else {
            1
        }
    }

    fn on_reset(&mut self) {
        self.ier = 0;
        self.fcr = 0;
        self.mcr = MCR_OUT2;
        self.dll = 0x0c;
        self.dlm = 0;
        self.rx.clear();
        self.thr_pending = false;
        self.msr = self.modem_lines();
        self.update_irq();
    }

    /// The highest-priority pending interrupt.
    fn iir(&self) -> u8 {
        let id = if self.ier & IER_RDI != 0 && !self.rx.is_empty() {
            IIR_RDI
        } else if self.ier & IER_THRI != 0 && self.thr_pending {
            IIR_THRI
        } else if self.ier & IER_MSI != 0 && self.msr & 0x0f != 0 {
            IIR_MSI
        } else {
            IIR_NO_INT
        };
        let fifo = if self.fcr & FCR_ENABLE != 0 {
            IIR_FIFO
        } else {
            0
        };
        id | fifo
    }

    fn update_irq(&mut self) {
        self.irq.set(self.iir() & IIR_NO_INT == 0);
    }

    /// The modem input lines: looped from MCR in loopback, else those of a
    /// connected null-modem cable.
    fn modem_lines(&self) -> u8 {
        if self.mcr & MCR_LOOP != 0 {
            let mut m = 0;
            if self.mcr & MCR_RTS != 0 {
                m |= MSR_CTS;
            }
            if self.mcr & MCR_DTR != 0 {
                m |= MSR_DSR;
            }
            if self.mcr & MCR_OUT1 != 0 {
                m |= MSR_RI;
            }
            if self.mcr & MCR_OUT2 != 0 {
                m |= MSR_DCD;
            }
            m
        } else if self.host_connected {
            MSR_DCD | MSR_DSR | MSR_CTS
        } else {
            MSR_DSR | MSR_CTS
        }
    }

    /// Sets the modem lines, latching the delta bits of those that changed.
    fn set_modem_lines(&mut self, lines: u8) {
        let old = self.msr & 0xf0;
        let changed = old ^ lines;
        let mut delta = self.msr & 0x0f;
        if changed & MSR_CTS != 0 {
            delta |= 0x01;
        }
        if changed & MSR_DSR != 0 {
            delta |= 0x02;
        }
        if old & MSR_RI != 0 && lines & MSR_RI == 0 {
            delta |= 0x04; // trailing edge of RI
        }
        if changed & MSR_DCD != 0 {
            delta |= 0x08;
        }
        self.msr = lines | delta;
        self.update_irq();
    }

    fn room(&mut self) -> usize {
        if self.mcr & MCR_LOOP != 0 {
            return 0; // the line is looped back, the host is not heard
        }
        self.fifo_capacity().saturating_sub(self.rx.len())
    }

    fn receive(&mut self, bytes: &[u8]) {
        let room = self.room();
        self.rx.extend(bytes.iter().take(room));
        self.update_irq();
    }

    fn event(&mut self, event: CharEvent) {
        match event {
            CharEvent::Opened => self.host_connected = true,
            CharEvent::Closed => self.host_connected = false,
            CharEvent::Break => return,
        }
        let lines = self.modem_lines();
        self.set_modem_lines(lines);
    }

    fn read_data(&mut self) -> u8 {
        if self.dlab() {
            return self.dll;
        }
        let byte = self.rx.pop_front().unwrap_or(0);
        self.update_irq();
        self.chr.accept_input();
        byte
    }

    fn write_data(&mut self, byte: u8) {
        if self.dlab() {
            self.dll = byte;
            return;
        }
        if self.mcr & MCR_LOOP != 0 {
            if self.rx.len() < self.fifo_capacity() {
                self.rx.push_back(byte);
            }
        } else {
            self.chr.write(&[byte]);
        }
        // The byte left at once: THR is empty again.
        self.thr_pending = true;
        self.update_irq();
    }

    fn read_ier(&mut self) -> u8 {
        if self.dlab() {
            self.dlm
        } else {
            self.ier
        }
    }

    fn write_ier(&mut self, value: u8) {
        if self.dlab() {
            self.dlm = value;
            return;
        }
        let enabling_thri = value & IER_THRI != 0 && self.ier & IER_THRI == 0;
        self.ier = value & 0x0f;
        if enabling_thri {
            // THR is always empty here: enabling its interrupt raises it.
            self.thr_pending = true;
        }
        self.update_irq();
    }

    fn read_iir(&mut self) -> u8 {
        let iir = self.iir();
        if iir & 0x0f == IIR_THRI {
            // Reading IIR acknowledges a THR-empty interrupt.
            self.thr_pending = false;
            self.update_irq();
        }
        iir
    }

    fn write_fcr(&mut self, value: u8) {
        let was_enabled = self.fcr & FCR_ENABLE != 0;
        self.fcr = value & 0xc9;
        if value & FCR_CLEAR_RX != 0 || was_enabled != (value & FCR_ENABLE != 0) {
            self.rx.clear();
            self.chr.accept_input();
        }
        self.update_irq();
    }

    fn read_mcr(&mut self) -> u8 {
        self.mcr
    }

    fn write_mcr(&mut self, value: u8) {
        self.mcr = value & 0x1f;
        let lines = self.modem_lines();
        self.set_modem_lines(lines);
        self.chr.accept_input();
    }

    fn read_lsr(&mut self) -> u8 {
        let mut lsr = LSR_THRE | LSR_TEMT;
        if !self.rx.is_empty() {
            lsr |= LSR_DR;
        }
        lsr
    }

    fn read_msr(&mut self) -> u8 {
        let msr = self.msr;
        self.msr &= 0xf0; // reading clears the deltas
        self.update_irq();
        msr
    }
}
