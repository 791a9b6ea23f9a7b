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
        f.debug_struct("Irq").field("level", &self.level()).finish()
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

    /// The level of the line: for PCI INTx as QEMU's PCI core holds it
    /// (it deasserts INTx at a device reset), on the mocked bus as the bus
    /// saw it last; otherwise the level the device last drove.
    pub fn level(&self) -> bool {
        match &self.sink {
            #[cfg(feature = "qemu")]
            Sink::PciIntx(dev) => crate::qemu::pci_irq_level(*dev),
            Sink::Mock(rec, line) => rec.borrow().level(*line),
            _ => self.level.get(),
        }
    }
}

/// The level is migrated; loading it does not drive the line again (the
/// interrupt controller on the other side restores its own state, and
/// QEMU's PCI core the level of INTx), so [`Irq::level`] is right on the
/// destination. On the mocked bus, which plays the interrupt controller,
/// the bus's view of the line comes back, without a line event.
impl crate::Migrate for Irq {
    fn save(&self, w: &mut crate::StateWriter) {
        w.put_bool(self.level());
    }
    fn load(&mut self, r: &mut crate::StateReader<'_>) -> Result<(), crate::Error> {
        let mut level = false;
        crate::Migrate::load(&mut level, r)?;
        self.level.set(level);
        if let Sink::Mock(rec, line) = &self.sink {
            rec.borrow_mut().restore(*line, level);
        }
        Ok(())
    }
}

/// What a backend binds a device's handles to.
pub(crate) trait Binder {
    fn line(&mut self, which: LineRef) -> Sink;
    fn timer(&mut self, index: usize) -> crate::timer::TimerSink;
    fn dma(&mut self) -> crate::dma::DmaSink;
    fn msi(&mut self) -> crate::msi::MsiSink;
    fn chardev(&mut self, index: usize) -> crate::chardev::CharSink;
    fn system(&mut self) -> crate::system::SystemSink;
}

struct Unconnected;

impl Binder for Unconnected {
    fn line(&mut self, _: LineRef) -> Sink {
        Sink::None
    }
    fn timer(&mut self, _: usize) -> crate::timer::TimerSink {
        crate::timer::TimerSink::None
    }
    fn dma(&mut self) -> crate::dma::DmaSink {
        crate::dma::DmaSink::None
    }
    fn msi(&mut self) -> crate::msi::MsiSink {
        crate::msi::MsiSink::None
    }
    fn chardev(&mut self, _: usize) -> crate::chardev::CharSink {
        crate::chardev::CharSink::None
    }
    fn system(&mut self) -> crate::system::SystemSink {
        crate::system::SystemSink::None
    }
}

/// Hands out a device's connections (lines, timers, DMA, message
/// interrupts, chardevs) at instantiation, bound to the backend.
pub struct Wiring<'a> {
    binder: &'a mut dyn Binder,
}

impl<'a> Wiring<'a> {
    pub(crate) fn new(binder: &'a mut dyn Binder) -> Wiring<'a> {
        Wiring { binder }
    }

    /// Runs `f` with connections bound to nothing.
    pub fn unconnected<R>(f: impl FnOnce(&mut Wiring<'_>) -> R) -> R {
        let mut b = Unconnected;
        f(&mut Wiring::new(&mut b))
    }

    /// The output line `which`.
    pub fn line(&mut self, which: LineRef) -> Irq {
        Irq::with_sink(self.binder.line(which))
    }

    /// Timer `index` (in field order).
    pub fn timer(&mut self, index: usize) -> crate::Timer {
        crate::Timer::with_sink(self.binder.timer(index))
    }

    /// The device's DMA view of guest memory.
    pub fn dma(&mut self) -> crate::Dma {
        crate::Dma::with_sink(self.binder.dma())
    }

    /// The device's message interrupts.
    pub fn msi(&mut self) -> crate::Msi {
        crate::Msi::with_sink(self.binder.msi())
    }

    /// The machine, for watchdog expiry, reset and power-off requests.
    pub fn system(&mut self) -> crate::System {
        crate::System::with_sink(self.binder.system())
    }

    /// Chardev frontend `index` (in field order).
    pub fn chardev(&mut self, index: usize) -> crate::CharDev {
        crate::CharDev::with_sink(self.binder.chardev(index))
    }
}
