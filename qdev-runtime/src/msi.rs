// SPDX-License-Identifier: GPL-2.0-or-later
//! Message-signalled interrupts of a PCI device (`#[msi] msi: Msi`).
//!
//! `pci(msi = N)` gives the device an MSI capability with N vectors,
//! `pci(msix = N, msix_bar = B)` an MSI-X table and PBA in BAR B. The guest
//! enables one of them (or neither); [`Msi::notify`] sends through the one
//! enabled, MSI-X first, and says whether it could, so the device falls
//! back to INTx otherwise.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// Which message interrupts the guest enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MsiMode {
    /// Neither: the device uses INTx.
    #[default]
    Off,
    /// MSI.
    Msi,
    /// MSI-X.
    MsiX,
}

pub(crate) enum MsiSink {
    None,
    #[cfg(feature = "qemu")]
    Qemu(*mut qdev_sys::PCIDevice, &'static str),
    Mock(Rc<RefCell<crate::mock::Recorder>>, &'static str, u32, u32),
}

/// The message interrupts of a PCI device.
pub struct Msi {
    sink: MsiSink,
}

impl Default for Msi {
    fn default() -> Self {
        Msi {
            sink: MsiSink::None,
        }
    }
}

impl fmt::Debug for Msi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Msi").field("mode", &self.mode()).finish()
    }
}

impl Msi {
    pub(crate) fn with_sink(sink: MsiSink) -> Msi {
        Msi { sink }
    }

    /// What the guest enabled.
    pub fn mode(&self) -> MsiMode {
        match &self.sink {
            MsiSink::None => MsiMode::Off,
            #[cfg(feature = "qemu")]
            MsiSink::Qemu(dev, _) => crate::qemu::msi_mode(*dev),
            MsiSink::Mock(rec, ..) => rec.borrow().msi_mode,
        }
    }

    /// Whether the guest enabled MSI or MSI-X.
    pub fn enabled(&self) -> bool {
        self.mode() != MsiMode::Off
    }

    /// Sends message `vector` through what the guest enabled; `false` when
    /// it enabled neither (use INTx then).
    pub fn notify(&self, vector: u32) -> bool {
        let mode = self.mode();
        if mode == MsiMode::Off {
            return false;
        }
        match &self.sink {
            MsiSink::None => {}
            #[cfg(feature = "qemu")]
            MsiSink::Qemu(dev, name) => crate::qemu::msi_notify(*dev, name, mode, vector),
            MsiSink::Mock(rec, name, msi, msix) => {
                // The mocked guest enables every vector the device has.
                let limit = if mode == MsiMode::MsiX { *msix } else { *msi };
                if vector < limit {
                    rec.borrow_mut().msi(mode, vector);
                } else {
                    crate::guest_error!(
                        "{name}: {mode:?} vector {vector} not sent: the guest enabled {limit} vector(s)"
                    );
                }
            }
        }
        true
    }
}
