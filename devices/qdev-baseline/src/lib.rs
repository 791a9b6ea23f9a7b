// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-baseline`: the Rust twin of the C baseline device
//! (`devices/c-baseline/baseline.c`): the same PCI IDs but one, the same
//! registers, the same behaviour, so the two can be compared access for
//! access.
//!
//! BAR0, 4 KiB of 32-bit registers:
//!
//! | offset | name       | access | reset        | meaning                         |
//! |--------|------------|--------|--------------|---------------------------------|
//! | 0x00   | ID         | ro     | `0x71646576` | "qdev"                          |
//! | 0x04   | SCRATCH    | rw     | 0            | free for the guest              |
//! | 0x08   | IRQ_STATUS | ro     | 0            | bit 0: the interrupt is asserted |
//! | 0x0c   | IRQ_RAISE  | wo     | 0            | writing bit 0 asserts INTx      |
//! | 0x10   | IRQ_ACK    | wo     | 0            | writing bit 0 deasserts INTx    |

use qdev_runtime::{qemu_device, Irq};

/// The value of the ID register: "qdev" in ASCII.
pub const BASELINE_ID: u32 = 0x7164_6576;

/// The baseline device.
#[qemu_device(
    name = "qdev-baseline",
    pci(vendor = 0x1234, device = 0xbacf, revision = 1, class = 0x00ff),
    region(name = "mmio", size = 0x1000)
)]
#[derive(Debug)]
pub struct Baseline {
    /// Identification.
    #[reg(offset = 0x00, access = ro, reset = 0x7164_6576)]
    id: u32,
    /// Free for the guest.
    #[reg(offset = 0x04, access = rw)]
    scratch: u32,
    /// Bit 0: the interrupt is asserted.
    #[reg(offset = 0x08, access = ro)]
    irq_status: u32,
    /// Writing bit 0 asserts the interrupt.
    #[reg(offset = 0x0c, access = wo, write = Self::raise)]
    irq_raise: u32,
    /// Writing bit 0 deasserts the interrupt.
    #[reg(offset = 0x10, access = wo, write = Self::ack)]
    irq_ack: u32,
    /// INTx.
    #[irq]
    irq: Irq,
}

impl Baseline {
    fn raise(&mut self, value: u32) {
        self.irq_status |= value & 1;
        self.irq.set(self.irq_status & 1 != 0);
    }

    fn ack(&mut self, value: u32) {
        self.irq_status &= !(value & 1);
        self.irq.set(self.irq_status & 1 != 0);
    }
}
