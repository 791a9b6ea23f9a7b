// SPDX-License-Identifier: GPL-2.0-or-later
//! Interrupt and GPIO output lines, bound to QEMU or to the mocked bus.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// Which output line of a device: the address a backend binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineRef {
    /// Sysbus IRQ output `n`.
    Irq(u32),
    /// PCI INTx (the pin in the device's config space).
    Intx,
    /// Line `line` of GPIO output group `group`.
    GpioOut {
        /// Index into the descriptor's `gpio_out`.
        group: u32,
        /// Line within the group.
        line: u32,
    },
}

/// Where a line's level changes go.
pub(crate) enum Sink {
    /// Not connected: changes are kept only in the line's own state.
    None,
    /// A `qemu_irq` cell in the device instance (sysbus IRQs, GPIO outputs);
    /// read at each change because the board connects it after init.
    #[cfg(feature = "qemu")]
    Qemu(*const qdev_sys::qemu_irq),
    /// PCI INTx of a device.
    #[cfg(feature = "qemu")]
    PciIntx(*mut qdev_sys::PCIDevice),
    /// The mocked bus's recorder.
    Mock(Rc<RefCell<crate::mock::Recorder>>, LineRef),
}

/// An output line: a sysbus IRQ, PCI INTx or a GPIO output.
///
/// ```
/// # use qdev_runtime::Irq;
/// let irq = Irq::unconnected();
/// irq.raise();
/// assert!(irq.level());
/// irq.pulse();
/// assert!(!irq.level());
/// ```
pub struct Irq {
    sink: Sink,
    level: Cell<bool>,
}

impl Default for Irq {
    fn default() -> Self {
        Irq::unconnected()
    }
}

impl fmt::Debug for Irq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Irq")
            .field("level", &self.level.get())
            .finish()
    }
}

impl Irq {
    /// A line connected to nothing (before realize, or in doc examples).
    pub fn unconnected() -> Irq {
        Irq {
            sink: Sink::None,
            level: Cell::new(false),
        }
    }

    pub(crate) fn with_sink(sink: Sink) -> Irq {
        Irq {
            sink,
            level: Cell::new(false),
        }
    }

    /// Drives the line to `level`.
    pub fn set(&self, level: bool) {
        self.level.set(level);
        match &self.sink {
            Sink::None => {}
            #[cfg(feature = "qemu")]
            Sink::Qemu(cell) => crate::qemu::set_irq(*cell, level),
            #[cfg(feature = "qemu")]
            Sink::PciIntx(dev) => crate::qemu::set_pci_irq(*dev, level),
            Sink::Mock(rec, line) => rec.borrow_mut().line(*line, level),
        }
    }

    /// Drives the line high.
    pub fn raise(&self) {
        self.set(true);
    }

    /// Drives the line low.
    pub fn lower(&self) {
        self.set(false);
    }

    /// Raises then lowers the line (an edge for edge-triggered inputs).
    pub fn pulse(&self) {
        self.set(true);
        self.set(false);
    }

    /// The level the device last drove.
    pub fn level(&self) -> bool {
        self.level.get()
    }
}

/// Hands out the lines of a device being instantiated, bound to the backend.
pub struct Lines {
    bind: Box<dyn FnMut(LineRef) -> Sink>,
}

impl Lines {
    pub(crate) fn new(bind: impl FnMut(LineRef) -> Sink + 'static) -> Lines {
        Lines {
            bind: Box::new(bind),
        }
    }

    /// Lines bound to nothing.
    pub fn unconnected() -> Lines {
        Lines::new(|_| Sink::None)
    }

    /// The line `which`.
    pub fn get(&mut self, which: LineRef) -> Irq {
        Irq::with_sink((self.bind)(which))
    }
}
