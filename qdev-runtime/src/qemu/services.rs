// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's side of the device services: timers, DMA, message interrupts and
//! chardevs, called by the backend-neutral handles in `crate::{timer, dma,
//! msi, chardev}`.

use std::ffi::{c_int, c_void};

use qdev_sys as sys;

use super::syms;
use crate::msi::MsiMode;

/// QEMU's virtual clock in ns.
pub(crate) fn clock_ns() -> u64 {
    // SAFETY: reading a clock has no preconditions.
    let now = unsafe { syms().qemu_clock_get_ns(sys::QEMUClockType::QEMU_CLOCK_VIRTUAL) };
    now.max(0) as u64
}

/// Arms (`Some`) or cancels (`None`) a timer.
pub(crate) fn timer_arm(timer: *mut sys::QEMUTimer, deadline: Option<u64>) {
    // SAFETY: the timer was initialized at realize and lives in the
    // instance; deinitialized only at unrealize, after the device is gone.
    unsafe {
        match deadline {
            Some(d) => syms().timer_mod_ns(timer, d.min(i64::MAX as u64) as i64),
            None => syms().timer_del(timer),
        }
    }
}

/// A DMA transfer through `space`; false when it did not complete.
pub(crate) fn dma_rw(
    space: *mut sys::AddressSpace,
    addr: u64,
    buf: &mut [u8],
    write: bool,
) -> bool {
    #[cfg(not(qemu_api = "7.2"))]
    let attrs = sys::MemTxAttrs {
        unspecified: true,
        ..Default::default()
    };
    // A 7.2 SDK's `unspecified` is a bit field.
    #[cfg(qemu_api = "7.2")]
    let attrs = {
        let mut attrs = sys::MemTxAttrs::default();
        attrs.set_unspecified(1);
        attrs
    };
    // SAFETY: `space` is the device's bus-master address space or system
    // memory, both live while the device is; `buf` is valid for its length.
    let r = unsafe {
        syms().address_space_rw(
            space,
            addr,
            attrs,
            buf.as_mut_ptr().cast::<c_void>(),
            buf.len() as u64,
            write,
        )
    };
    r == sys::MEMTX_OK
}

/// What message interrupts the guest enabled on `dev`.
pub(crate) fn msi_mode(dev: *mut sys::PCIDevice) -> MsiMode {
    let s = syms();
    // SAFETY: `dev` is the realized PCI device owning the handle.
    unsafe {
        if s.msix_enabled(dev) != 0 {
            MsiMode::MsiX
        } else if s.msi_enabled(dev) {
            MsiMode::Msi
        } else {
            MsiMode::Off
        }
    }
}

/// How many vectors `mode` can send now: for MSI, what the guest enabled
/// (Multiple Message Enable), for MSI-X the table size.
fn usable_vectors(dev: *mut sys::PCIDevice, mode: MsiMode) -> u32 {
    // SAFETY: `dev` is realized; msi_nr_vectors_allocated reads the
    // guest-written control word, msix_entries_nr is fixed at realize.
    unsafe {
        match mode {
            MsiMode::Msi => syms().msi_nr_vectors_allocated(dev),
            MsiMode::MsiX => (*dev).msix_entries_nr as u32,
            MsiMode::Off => 0,
        }
    }
}

/// Sends vector `vector` through MSI-X or MSI.
pub(crate) fn msi_notify(dev: *mut sys::PCIDevice, device: &str, mode: MsiMode, vector: u32) {
    let s = syms();
    let limit = usable_vectors(dev, mode);
    if vector >= limit {
        // The guest enabled fewer MSI vectors than the device uses; real
        // hardware folds the vector, QEMU would abort.
        crate::guest_error!(
            "{device}: {mode:?} vector {vector} not sent: the guest enabled {limit} vector(s)"
        );
        return;
    }
    // SAFETY: `dev` is realized, the mode was just read from it and the
    // vector is below what the guest enabled (QEMU asserts otherwise).
    unsafe {
        match mode {
            MsiMode::MsiX => s.msix_notify(dev, vector),
            MsiMode::Msi => s.msi_notify(dev, vector),
            MsiMode::Off => {}
        }
    }
}

/// Whether a chardev backend is attached.
pub(crate) fn chr_connected(be: *mut sys::CharBackend) -> bool {
    // SAFETY: the CharBackend lives in the instance.
    unsafe { syms().qemu_chr_fe_backend_connected(be) }
}

/// Writes all of `bytes` (blocking), returns the count written.
pub(crate) fn chr_write(be: *mut sys::CharBackend, bytes: &[u8]) -> usize {
    // SAFETY: the CharBackend lives in the instance; the buffer is valid.
    let n = unsafe { syms().qemu_chr_fe_write_all(be, bytes.as_ptr(), bytes.len() as c_int) };
    n.max(0) as usize
}

/// Asks the backend to deliver input again.
pub(crate) fn chr_accept_input(be: *mut sys::CharBackend) {
    // SAFETY: the CharBackend lives in the instance.
    unsafe { syms().qemu_chr_fe_accept_input(be) }
}

/// Drives PCI INTx of `dev`.
pub(crate) fn set_pci_irq(dev: *mut sys::PCIDevice, level: bool) {
    // SAFETY: `dev` is the realized PCI device that owns the line.
    unsafe { syms().pci_set_irq(dev, c_int::from(level)) }
}

/// The level of PCI INTx of `dev`, as QEMU's PCI core keeps it (it
/// deasserts INTx at reset and migrates the level with the config space).
pub(crate) fn pci_irq_level(dev: *mut sys::PCIDevice) -> bool {
    // SAFETY: `dev` is the realized PCI device that owns the line; its
    // config space and `irq_state` are read under the BQL, as
    // `pci_set_irq` does (`pci_intx`: the interrupt pin minus one).
    unsafe {
        let pin = *(*dev).config.add(sys::PCI_INTERRUPT_PIN as usize);
        pin != 0 && ((*dev).irq_state >> (pin - 1)) & 1 != 0
    }
}

/// Carries out a device's request of the machine.
pub(crate) fn system_request(request: crate::system::SystemRequest) {
    use crate::system::SystemRequest;
    let s = syms();
    // SAFETY: these only queue the request for QEMU's main loop (or, for a
    // watchdog, perform the user's configured action), as C devices do.
    unsafe {
        match request {
            SystemRequest::WatchdogExpired => s.watchdog_perform_action(),
            SystemRequest::Reset => {
                s.qemu_system_reset_request(sys::ShutdownCause::SHUTDOWN_CAUSE_GUEST_RESET)
            }
            SystemRequest::Shutdown => {
                s.qemu_system_shutdown_request(sys::ShutdownCause::SHUTDOWN_CAUSE_GUEST_SHUTDOWN)
            }
        }
    }
}
