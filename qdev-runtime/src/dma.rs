// SPDX-License-Identifier: GPL-2.0-or-later
//! Bus-master DMA to and from guest memory (`#[dma] dma: Dma`).
//!
//! A PCI device's DMA goes through its bus-master address space, so it
//! fails while the guest has not set the Bus Master Enable bit; a sysbus
//! device's goes to system memory. Either way an access that does not land
//! in guest memory (a hole, an unassigned address) fails with a
//! [`DmaError`] the device can report, and never touches anything outside
//! guest memory. In QEMU a transfer that runs into a hole part way may have
//! moved the bytes before the hole (as QEMU's own DMA does); on the mocked
//! bus a failed transfer moves nothing.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A DMA transfer that did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaError {
    /// Guest address of the transfer.
    pub addr: u64,
    /// Its length.
    pub len: usize,
    /// It was a write to guest memory.
    pub write: bool,
}

impl fmt::Display for DmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DMA {} of {} bytes at 0x{:x} failed",
            if self.write { "write" } else { "read" },
            self.len,
            self.addr
        )
    }
}

impl std::error::Error for DmaError {}

pub(crate) enum DmaSink {
    None,
    #[cfg(feature = "qemu")]
    Qemu(*mut qdev_sys::AddressSpace),
    Mock(Rc<RefCell<crate::mock::MockMemory>>),
}

/// The device's view of guest memory.
pub struct Dma {
    sink: DmaSink,
}

impl Default for Dma {
    fn default() -> Self {
        Dma {
            sink: DmaSink::None,
        }
    }
}

impl fmt::Debug for Dma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dma")
    }
}

impl Dma {
    pub(crate) fn with_sink(sink: DmaSink) -> Dma {
        Dma { sink }
    }

    fn rw(&self, addr: u64, buf: &mut [u8], write: bool) -> Result<(), DmaError> {
        let err = DmaError {
            addr,
            len: buf.len(),
            write,
        };
        let ok = match &self.sink {
            DmaSink::None => false,
            #[cfg(feature = "qemu")]
            DmaSink::Qemu(space) => crate::qemu::dma_rw(*space, addr, buf, write),
            DmaSink::Mock(mem) => mem.borrow_mut().rw(addr, buf, write),
        };
        if ok {
            Ok(())
        } else {
            Err(err)
        }
    }

    /// Reads guest memory at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        self.rw(addr, buf, false)
    }

    /// Writes `buf` to guest memory at `addr`.
    pub fn write(&self, addr: u64, buf: &[u8]) -> Result<(), DmaError> {
        let mut copy = buf.to_vec();
        self.rw(addr, &mut copy, true)
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&self, addr: u64) -> Result<u32, DmaError> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian `u32`.
    pub fn write_u32(&self, addr: u64, value: u32) -> Result<(), DmaError> {
        self.write(addr, &value.to_le_bytes())
    }
}
