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
//!
//! A range that wraps around the end of the 64-bit address space is
//! refused before anything is moved: QEMU's address-space API would carry
//! on at address 0.

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

/// Whether `len` bytes from `addr` stay below 2^64 (no wrap-around).
fn fits(addr: u64, len: usize) -> bool {
    match u64::try_from(len) {
        Ok(0) => true,
        Ok(len) => addr.checked_add(len - 1).is_some(),
        Err(_) => false,
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
        if !fits(addr, buf.len()) {
            return Err(err);
        }
        if buf.is_empty() {
            // Nothing to move, as QEMU answers for an empty range.
            return Ok(());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockMemory;

    fn dma_over(ram: &[(u64, usize)]) -> (Dma, Rc<RefCell<MockMemory>>) {
        let mem = Rc::new(RefCell::new(MockMemory::default()));
        for &(base, size) in ram {
            mem.borrow_mut().add_ram(base, size);
        }
        (Dma::with_sink(DmaSink::Mock(mem.clone())), mem)
    }

    #[test]
    fn a_range_that_wraps_around_2_64_is_refused() {
        let (dma, mem) = dma_over(&[(0, 0x100), (u64::MAX - 0xff, 0x100)]);
        let err = dma.write(u64::MAX - 3, &[0xaa; 8]).unwrap_err();
        assert_eq!((err.addr, err.len, err.write), (u64::MAX - 3, 8, true));
        assert_eq!(
            mem.borrow_mut().read(0, 4).unwrap(),
            [0; 4],
            "not wrapped to 0"
        );
        assert_eq!(mem.borrow_mut().read(u64::MAX - 3, 4).unwrap(), [0; 4]);
        let mut buf = [0u8; 2];
        assert!(dma.read(u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn the_last_bytes_below_2_64_are_reachable() {
        let (dma, mem) = dma_over(&[(u64::MAX - 0xff, 0x100)]);
        dma.write(u64::MAX - 3, &[1, 2, 3, 4]).unwrap();
        assert_eq!(
            mem.borrow_mut().read(u64::MAX - 3, 4).unwrap(),
            [1, 2, 3, 4]
        );
        assert_eq!(dma.read_u32(u64::MAX - 3).unwrap(), 0x0403_0201);
    }

    #[test]
    fn an_empty_transfer_anywhere_is_a_no_op() {
        let (dma, _) = dma_over(&[]);
        assert!(dma.write(u64::MAX, &[]).is_ok());
        assert!(dma.read(0xdead_0000, &mut []).is_ok());
    }

    #[test]
    fn a_transfer_running_into_a_hole_moves_nothing() {
        let (dma, mem) = dma_over(&[(0x1000, 0x100), (0x1100 + 0x10, 0x100)]);
        assert!(dma.write(0x10f0, &[0x55; 0x20]).is_err());
        assert_eq!(mem.borrow_mut().read(0x10f0, 0x10).unwrap(), [0; 0x10]);
        let mut buf = [0x77u8; 0x20];
        assert!(dma.read(0x10f0, &mut buf).is_err());
    }

    #[test]
    fn outside_guest_memory_and_without_a_bus_fails() {
        let (dma, _) = dma_over(&[(0, 0x1000)]);
        assert!(dma.read_u32(0x1_0000_0000).is_err());
        assert!(dma.write_u32(0xfff, 1).is_err(), "straddles the end of RAM");
        assert!(Dma::default().write_u32(0, 1).is_err());
    }
}
