// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-edu`: QEMU's educational PCI device, as specified in QEMU's
//! `docs/specs/edu.rst`, written with `#[qemu_device]`: identification,
//! liveness check, factorial, interrupt raise/acknowledge over INTx or MSI,
//! and a DMA engine driven by a timer.
//!
//! PCI `1234:11e8`, BAR 0: 1 MiB of MMIO.
//!
//! | offset | name       | access | meaning |
//! |--------|------------|--------|---------|
//! | 0x00   | ID         | ro     | `0x010000ed`: version 1.0 |
//! | 0x04   | LIVENESS   | rw     | reads back the bitwise inverse of what was written |
//! | 0x08   | FACT       | rw     | write n, read n! (32-bit, wrapping) |
//! | 0x20   | STATUS     | rw     | bit 0 computing (ro), bit 7 raise IRQ 0x1 after a factorial, bit 8 DMA error (w1c) |
//! | 0x24   | IRQ_STATUS | ro     | the values that raised the interrupt |
//! | 0x60   | IRQ_RAISE  | wo     | ORs the value into IRQ_STATUS and interrupts |
//! | 0x64   | IRQ_ACK    | wo     | clears the value from IRQ_STATUS |
//! | 0x80   | DMA_SRC    | rw 64  | DMA source address |
//! | 0x88   | DMA_DST    | rw 64  | DMA destination address |
//! | 0x90   | DMA_CNT    | rw 64  | DMA transfer count |
//! | 0x98   | DMA_CMD    | rw 64  | bit 0 start, bit 1 direction (1: device to RAM), bit 2 IRQ 0x100 when done |
//!
//! Registers below 0x80 take 32-bit accesses, the DMA registers 32 or 64.
//! The device's 4 KiB buffer is at DMA address 0x40000. A transfer runs
//! 100 ms (virtual time) after it is started; DMA addresses on the guest
//! side are masked with the `dma_mask` property (28 bits by default).
//!
//! Differences from QEMU's C `edu`: the factorial is computed at once (the
//! computing bit is never seen set), an unmapped offset reads 0 (not all
//! ones) and is logged, and a transfer outside the device buffer or failing
//! on the bus is logged and skipped instead of overrunning the buffer.
//!
//! A transfer that cannot be done ends with the DMA error status, which
//! `docs/specs/edu.rst` does not have: STATUS bit 8 is set (write 1 to
//! clear it), the transfer is over (DMA_CMD bit 0 clears) and the DMA
//! interrupt 0x100 is raised if it was asked for, as for a transfer that
//! worked. A transfer cannot be done when its device-side range is not
//! inside the buffer (0x40000-0x40fff, count included, no wrap-around), or
//! when its guest-side range is not all guest memory the device may reach:
//! a hole, MMIO that refuses it, an address range that wraps around 2^64,
//! bus mastering off. Such a transfer never touches anything but guest
//! memory (the runtime's DMA goes through QEMU's address-space API); in
//! QEMU, the bytes before a hole may have moved, as with QEMU's own DMA.

use qdev_runtime::{guest_error, qemu_device, Dma, Irq, Msi, Timer};

/// The ID register: version 1.0.
pub const EDU_ID: u32 = 0x0100_00ed;
/// DMA address of the device's buffer.
pub const DMA_START: u64 = 0x40000;
/// Size of the device's buffer.
pub const DMA_SIZE: usize = 4096;
/// STATUS: a factorial is being computed.
pub const STATUS_COMPUTING: u32 = 0x01;
/// STATUS: raise IRQ 0x1 when a factorial is done.
pub const STATUS_IRQFACT: u32 = 0x80;
/// STATUS: the last DMA transfer could not be done (write 1 to clear).
/// Not in `docs/specs/edu.rst`.
pub const STATUS_DMA_ERROR: u32 = 0x100;
/// DMA_CMD: start.
pub const DMA_RUN: u64 = 0x1;
/// DMA_CMD: direction, device to RAM.
pub const DMA_TO_RAM: u64 = 0x2;
/// DMA_CMD: raise IRQ 0x100 when done.
pub const DMA_IRQ: u64 = 0x4;
/// The interrupt value of a finished factorial.
pub const FACT_IRQ: u32 = 0x1;
/// The interrupt value of a finished DMA.
pub const DMA_DONE_IRQ: u32 = 0x100;
/// Virtual time between starting a transfer and doing it.
pub const DMA_DELAY_NS: u64 = 100_000_000;

/// The edu device.
#[qemu_device(
    name = "qdev-edu",
    desc = "qdev edu: QEMU's educational PCI device in Rust",
    pci(vendor = 0x1234, device = 0x11e8, revision = 0x10, class = 0x00ff, msi = 1),
    region(name = "mmio", size = 0x100000),
    realize = Self::allocate,
    post_load = Self::check_loaded
)]
pub struct Edu {
    /// Identification.
    #[reg(offset = 0x00, access = ro, reset = 0x0100_00ed, sizes = [4])]
    id: u32,
    /// Liveness check: stores the inverse of what is written.
    #[reg(offset = 0x04, access = rw, sizes = [4], before_write = Self::invert)]
    liveness: u32,
    /// Factorial.
    #[reg(offset = 0x08, access = rw, sizes = [4], before_write = Self::factorial)]
    fact: u32,
    /// Status.
    #[reg(offset = 0x20, rw = 0x80, w1c = 0x100, sizes = [4])]
    status: u32,
    /// Interrupt status.
    #[reg(offset = 0x24, access = ro, sizes = [4])]
    irq_status: u32,
    /// Interrupt raise.
    #[reg(offset = 0x60, access = wo, sizes = [4], write = Self::raise)]
    irq_raise: u32,
    /// Interrupt acknowledge.
    #[reg(offset = 0x64, access = wo, sizes = [4], write = Self::ack)]
    irq_ack: u32,
    /// DMA source address.
    #[reg(offset = 0x80, access = rw, sizes = [4, 8], before_write = Self::unless_running)]
    dma_src: u64,
    /// DMA destination address.
    #[reg(offset = 0x88, access = rw, sizes = [4, 8], before_write = Self::unless_running)]
    dma_dst: u64,
    /// DMA transfer count.
    #[reg(offset = 0x90, access = rw, sizes = [4, 8], before_write = Self::unless_running)]
    dma_cnt: u64,
    /// DMA command.
    #[reg(
        offset = 0x98,
        access = rw,
        sizes = [4, 8],
        before_write = Self::unless_running,
        write = Self::dma_command
    )]
    dma_cmd: u64,

    /// Mask applied to the guest-side DMA address.
    #[property(name = "dma_mask", default = 0x0fff_ffff)]
    dma_mask: u64,

    /// INTx.
    #[irq]
    irq: Irq,
    /// MSI (one vector).
    #[msi]
    msi: Msi,
    /// Bus-master DMA.
    #[dma]
    dma: Dma,
    /// Runs the transfer 100 ms after it is started.
    #[timer(callback = Self::dma_timer)]
    dma_timer: Timer,

    /// The device's buffer.
    buf: Vec<u8>,
}

impl Edu {
    fn allocate(&mut self) -> Result<(), qdev_runtime::Error> {
        self.buf = vec![0; DMA_SIZE];
        Ok(())
    }

    /// Migration: every field goes by itself (the registers, the DMA
    /// buffer, the transfer's timer); a buffer of another size is refused.
    fn check_loaded(&mut self, _version: u32) -> Result<(), qdev_runtime::Error> {
        if self.buf.len() != DMA_SIZE {
            return Err(qdev_runtime::Error::new(format!(
                "DMA buffer of {} bytes, expected {DMA_SIZE}",
                self.buf.len()
            )));
        }
        Ok(())
    }

    fn invert(&mut self, _old: u32, new: u32) -> u32 {
        !new
    }

    fn factorial(&mut self, old: u32, n: u32) -> u32 {
        if self.status & STATUS_COMPUTING != 0 {
            return old;
        }
        // 34! and beyond hold 2^32 as a factor: modulo 2^32 they are 0. Not
        // looping up to n keeps a write of 0xffffffff from stalling QEMU's
        // main loop for billions of multiplications.
        let result = if n >= 34 {
            0
        } else {
            (1..=n).fold(1u32, |acc, k| acc.wrapping_mul(k))
        };
        if self.status & STATUS_IRQFACT != 0 {
            self.raise(FACT_IRQ);
        }
        result
    }

    fn raise(&mut self, value: u32) {
        self.irq_status |= value;
        if self.irq_status != 0 && !self.msi.notify(0) {
            self.irq.raise();
        }
    }

    fn ack(&mut self, value: u32) {
        self.irq_status &= !value;
        if self.irq_status == 0 && !self.msi.enabled() {
            self.irq.lower();
        }
    }

    fn unless_running(&mut self, old: u64, new: u64) -> u64 {
        if self.dma_cmd & DMA_RUN != 0 {
            old
        } else {
            new
        }
    }

    fn dma_command(&mut self, cmd: u64) {
        if cmd & DMA_RUN != 0 {
            self.dma_timer.start_oneshot(DMA_DELAY_NS);
        }
    }

    /// The offset in the buffer of a transfer at device address `addr`.
    fn buffer_range(&self, addr: u64) -> Option<std::ops::Range<usize>> {
        let cnt = usize::try_from(self.dma_cnt).ok()?;
        let start = usize::try_from(addr.checked_sub(DMA_START)?).ok()?;
        let end = start.checked_add(cnt)?;
        (end <= DMA_SIZE).then_some(start..end)
    }

    fn dma_timer(&mut self) {
        if self.dma_cmd & DMA_RUN == 0 {
            return;
        }
        let to_ram = self.dma_cmd & DMA_TO_RAM != 0;
        let (device_addr, guest_addr) = if to_ram {
            (self.dma_src, self.dma_dst)
        } else {
            (self.dma_dst, self.dma_src)
        };
        let guest = guest_addr & self.dma_mask;
        if guest != guest_addr {
            guest_error!("qdev-edu: clamping DMA 0x{guest_addr:x} to 0x{guest:x}");
        }
        let done = match self.buffer_range(device_addr) {
            None => {
                guest_error!(
                    "qdev-edu: DMA of {} bytes at 0x{device_addr:x} is outside the buffer \
                     (0x{DMA_START:x}-0x{:x}); skipped",
                    self.dma_cnt,
                    DMA_START + DMA_SIZE as u64 - 1
                );
                false
            }
            Some(range) => {
                let result = if to_ram {
                    self.dma.write(guest, &self.buf[range])
                } else {
                    self.dma.read(guest, &mut self.buf[range])
                };
                if let Err(e) = &result {
                    guest_error!("qdev-edu: {e}");
                }
                result.is_ok()
            }
        };
        if !done {
            self.status |= STATUS_DMA_ERROR;
        }
        self.dma_cmd &= !DMA_RUN;
        if self.dma_cmd & DMA_IRQ != 0 {
            self.raise(DMA_DONE_IRQ);
        }
    }
}
