// SPDX-License-Identifier: GPL-2.0-or-later
//! The mocked bus: a device driven from `cargo test`, with no QEMU.
//!
//! The same generated dispatch that QEMU calls runs here, so a unit test
//! exercises exactly the register behaviour a guest sees. Line changes and
//! MSI/MSI-X messages are recorded in one ordered log; guest errors are
//! kept for assertions. The bus also has guest memory for DMA (with holes,
//! to test errors), a virtual clock the test steps to fire timers exactly
//! on schedule, and mock chardevs with backpressure.
//!
//! ```
//! use qdev_runtime::mock::{LineEvent, MockDevice};
//! use qdev_runtime::{qemu_device, Irq, LineRef};
//!
//! #[qemu_device(name = "pulser", sysbus)]
//! pub struct Pulser {
//!     #[reg(offset = 0x0, access = wo, write = Self::fire)] fire: u32,
//!     #[irq] irq: Irq,
//! }
//! impl Pulser {
//!     fn fire(&mut self, _: u32) { self.irq.pulse() }
//! }
//!
//! let mut dev = MockDevice::<Pulser>::new()?;
//! dev.writel(0x0, 1);
//! let irq = LineRef::Irq(0);
//! assert_eq!(dev.take_line_events(), [LineEvent::new(irq, true), LineEvent::new(irq, false)]);
//! # Ok::<(), qdev_runtime::Error>(())
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::chardev::{CharEvent, CharSink};
use crate::device::{Device, PropertyKind, ResetKind};
use crate::dma::DmaSink;
use crate::lines::{Binder, LineRef, Sink, Wiring};
use crate::log::{take_mock_log, LogEntry};
use crate::msi::{MsiMode, MsiSink};
use crate::props::RawString;
use crate::timer::TimerSink;
use crate::Error;

/// A change of an output line, as recorded by the mocked bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEvent {
    /// The line.
    pub line: LineRef,
    /// The new level.
    pub level: bool,
}

impl LineEvent {
    /// An event for `line` going to `level`.
    pub fn new(line: LineRef, level: bool) -> LineEvent {
        LineEvent { line, level }
    }
}

/// Something the device did on the bus, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusEvent {
    /// An output line changed.
    Line(LineEvent),
    /// The device asked something of the machine.
    System(crate::system::SystemRequest),
    /// A message interrupt was sent.
    Message {
        /// MSI or MSI-X.
        mode: MsiMode,
        /// The vector.
        vector: u32,
    },
}

/// Records line changes and messages (shared with the device's handles).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    events: Vec<BusEvent>,
    levels: HashMap<LineRef, bool>,
    pub(crate) msi_mode: MsiMode,
}

impl Recorder {
    pub(crate) fn line(&mut self, line: LineRef, level: bool) {
        self.events.push(BusEvent::Line(LineEvent { line, level }));
        self.levels.insert(line, level);
    }

    /// The level the bus saw last on `line` (low before any change).
    pub(crate) fn level(&self, line: LineRef) -> bool {
        self.levels.get(&line).copied().unwrap_or(false)
    }

    /// The level a migration brings back for `line` on the bus's side
    /// (QEMU's interrupt controller migrates its own state): no event.
    pub(crate) fn restore(&mut self, line: LineRef, level: bool) {
        self.levels.insert(line, level);
    }

    pub(crate) fn msi(&mut self, mode: MsiMode, vector: u32) {
        self.events.push(BusEvent::Message { mode, vector });
    }

    pub(crate) fn system(&mut self, request: crate::system::SystemRequest) {
        self.events.push(BusEvent::System(request));
    }
}

/// The mocked bus's virtual clock and the device's timers on it.
#[derive(Debug, Default)]
pub(crate) struct MockClock {
    pub(crate) now: u64,
    /// Per timer: next deadline and period.
    timers: Vec<(Option<u64>, Option<u64>)>,
}

impl MockClock {
    pub(crate) fn arm(&mut self, i: usize, deadline: Option<u64>, period: Option<u64>) {
        if self.timers.len() <= i {
            self.timers.resize(i + 1, (None, None));
        }
        self.timers[i] = (deadline, period);
    }

    pub(crate) fn deadline(&self, i: usize) -> Option<u64> {
        self.timers.get(i).and_then(|t| t.0)
    }

    /// The earliest timer due at or before `until`: re-armed (periodic) or
    /// cleared, the clock moved to its deadline.
    fn next_due(&mut self, until: u64) -> Option<usize> {
        let (i, deadline) = self
            .timers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.0.map(|d| (i, d)))
            .filter(|&(_, d)| d <= until)
            .min_by_key(|&(i, d)| (d, i))?;
        self.now = self.now.max(deadline);
        let period = self.timers[i].1;
        self.timers[i].0 = period.map(|p| deadline + p);
        Some(i)
    }
}

/// Guest memory on the mocked bus: RAM ranges, holes between them.
#[derive(Debug, Default)]
pub struct MockMemory {
    ram: Vec<(u64, Vec<u8>)>,
}

impl MockMemory {
    /// Adds `size` bytes of zeroed RAM at `base`.
    pub fn add_ram(&mut self, base: u64, size: usize) {
        self.ram.push((base, vec![0; size]));
    }

    fn range(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        self.ram.iter_mut().find_map(|(base, bytes)| {
            let start = addr.checked_sub(*base)? as usize;
            let end = start.checked_add(len)?;
            (end <= bytes.len()).then(move || &mut bytes[start..end])
        })
    }

    pub(crate) fn rw(&mut self, addr: u64, buf: &mut [u8], write: bool) -> bool {
        match self.range(addr, buf.len()) {
            Some(mem) if write => {
                mem.copy_from_slice(buf);
                true
            }
            Some(mem) => {
                buf.copy_from_slice(mem);
                true
            }
            None => false,
        }
    }

    /// Reads guest memory (the test's view); `None` over a hole.
    pub fn read(&mut self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.range(addr, len).map(|m| m.to_vec())
    }

    /// Writes guest memory; `false` over a hole.
    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> bool {
        let mut b = bytes.to_vec();
        self.rw(addr, &mut b, true)
    }
}

/// A mock chardev backend: what the device sent, and input waiting for the
/// device to take it.
#[derive(Debug, Default)]
pub(crate) struct MockChar {
    pub(crate) sent: Vec<u8>,
    pending: std::collections::VecDeque<u8>,
    pub(crate) wants_input: bool,
}

struct MockBinder {
    descriptor: &'static crate::DeviceDescriptor,
    recorder: Rc<RefCell<Recorder>>,
    clock: Rc<RefCell<MockClock>>,
    memory: Rc<RefCell<MockMemory>>,
    chars: Vec<Rc<RefCell<MockChar>>>,
}

impl Binder for MockBinder {
    fn line(&mut self, which: LineRef) -> Sink {
        Sink::Mock(self.recorder.clone(), which)
    }
    fn timer(&mut self, index: usize) -> TimerSink {
        TimerSink::Mock(self.clock.clone(), index)
    }
    fn dma(&mut self) -> DmaSink {
        DmaSink::Mock(self.memory.clone())
    }
    fn msi(&mut self) -> MsiSink {
        let (msi, msix) = match self.descriptor.bus {
            crate::BusKind::Pci(ids) => (ids.msi_vectors, ids.msix_vectors),
            crate::BusKind::SysBus => (0, 0),
        };
        MsiSink::Mock(self.recorder.clone(), self.descriptor.name, msi, msix)
    }
    fn system(&mut self) -> crate::system::SystemSink {
        crate::system::SystemSink::Mock(self.recorder.clone())
    }
    fn chardev(&mut self, index: usize) -> CharSink {
        while self.chars.len() <= index {
            self.chars.push(Rc::default());
        }
        CharSink::Mock(self.chars[index].clone())
    }
}

/// A property value given to [`MockBuilder::prop`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    /// A bool.
    Bool(bool),
    /// Any integer.
    Int(i128),
    /// A string.
    Str(String),
}

impl From<bool> for PropValue {
    fn from(v: bool) -> Self {
        PropValue::Bool(v)
    }
}

impl From<&str> for PropValue {
    fn from(v: &str) -> Self {
        PropValue::Str(v.to_string())
    }
}

macro_rules! int_prop_value {
    ($($t:ty)*) => {$(
        impl From<$t> for PropValue {
            fn from(v: $t) -> Self {
                PropValue::Int(v.into())
            }
        }
    )*};
}
int_prop_value!(u8 u16 u32 u64 i8 i16 i32 i64);

/// Sets properties, then builds a [`MockDevice`].
pub struct MockBuilder<T: Device> {
    props: T::Props,
    error: Option<Error>,
}

impl<T: Device> MockBuilder<T> {
    /// Sets property `name`, with QEMU's checks: an unknown name, a value of
    /// the wrong type or out of the type's range fails [`MockBuilder::build`].
    pub fn prop(mut self, name: &str, value: impl Into<PropValue>) -> Self {
        if self.error.is_none() {
            if let Err(e) = self.set(name, value.into()) {
                self.error = Some(e);
            }
        }
        self
    }

    fn set(&mut self, name: &str, value: PropValue) -> Result<(), Error> {
        let d = T::DESCRIPTOR;
        let p = d
            .property(name)
            .ok_or_else(|| Error::new(format!("Property '{}.{name}' not found", d.name)))?;
        let bad = || {
            Error::new(format!(
                "Property '{}.{name}' doesn't take value {value:?}",
                d.name
            ))
        };
        let base = (&mut self.props as *mut T::Props).cast::<u8>();
        // SAFETY: `p.offset` is the generated offset of a field of
        // `T::Props` whose type matches `p.kind` (the macro writes both
        // from the same field), so each write stays inside `self.props`
        // and has the field's type.
        unsafe {
            let field = base.add(p.offset);
            match (p.kind, &value) {
                (PropertyKind::Bool, PropValue::Bool(v)) => field.cast::<bool>().write(*v),
                (PropertyKind::U8, PropValue::Int(v)) => field
                    .cast::<u8>()
                    .write((*v).try_into().map_err(|_| bad())?),
                (PropertyKind::U16, PropValue::Int(v)) => field
                    .cast::<u16>()
                    .write((*v).try_into().map_err(|_| bad())?),
                (PropertyKind::U32, PropValue::Int(v)) => field
                    .cast::<u32>()
                    .write((*v).try_into().map_err(|_| bad())?),
                (PropertyKind::U64, PropValue::Int(v)) => field
                    .cast::<u64>()
                    .write((*v).try_into().map_err(|_| bad())?),
                (PropertyKind::I32, PropValue::Int(v)) => field
                    .cast::<i32>()
                    .write((*v).try_into().map_err(|_| bad())?),
                (PropertyKind::I64, PropValue::Int(v)) => field
                    .cast::<i64>()
                    .write((*v).try_into().map_err(|_| bad())?),
                (PropertyKind::Str, PropValue::Str(s)) => (*field.cast::<RawString>()).set(s),
                _ => return Err(bad()),
            }
        }
        Ok(())
    }

    /// Realizes the device (property checks, realize hook) and resets it,
    /// as QEMU does for a device on the command line.
    pub fn build(self) -> Result<MockDevice<T>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut binder = MockBinder {
            descriptor: T::DESCRIPTOR,
            recorder: Rc::default(),
            clock: Rc::default(),
            memory: Rc::default(),
            chars: (0..T::DESCRIPTOR.chardevs.len())
                .map(|_| Rc::default())
                .collect(),
        };
        let mut dev = T::instantiate(&self.props, &mut Wiring::new(&mut binder))?;
        dev.realize()?;
        dev.reset(ResetKind::Cold);
        let mut mock = MockDevice {
            dev,
            recorder: binder.recorder,
            clock: binder.clock,
            memory: binder.memory,
            chars: binder.chars,
        };
        mock.pump();
        Ok(mock)
    }
}

/// A device on the mocked bus.
pub struct MockDevice<T: Device> {
    dev: T,
    recorder: Rc<RefCell<Recorder>>,
    clock: Rc<RefCell<MockClock>>,
    memory: Rc<RefCell<MockMemory>>,
    chars: Vec<Rc<RefCell<MockChar>>>,
}

impl<T: Device> MockDevice<T> {
    /// A builder with every property at its default.
    pub fn builder() -> MockBuilder<T> {
        MockBuilder {
            props: T::Props::default(),
            error: None,
        }
    }

    /// The device with default properties.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// The device model itself.
    pub fn device(&self) -> &T {
        &self.dev
    }

    /// The device model, to poke at state a guest cannot reach.
    pub fn device_mut(&mut self) -> &mut T {
        &mut self.dev
    }

    /// Delivers pending chardev input as far as the device takes it, as
    /// QEMU's main loop does between events.
    fn pump(&mut self) {
        for (i, c) in self.chars.iter().enumerate() {
            loop {
                let room = self.dev.chardev_can_receive(i as u32);
                let chunk: Vec<u8> = {
                    let mut c = c.borrow_mut();
                    c.wants_input = false;
                    let n = room.min(c.pending.len());
                    c.pending.drain(..n).collect()
                };
                if chunk.is_empty() {
                    break;
                }
                self.dev.chardev_receive(i as u32, &chunk);
            }
        }
    }

    /// A guest read of `size` bytes at `offset` of region `region`.
    pub fn read(&mut self, region: u32, offset: u64, size: u32) -> u64 {
        let v = self.dev.mmio_read(region, offset, size);
        self.pump();
        v
    }

    /// A guest write.
    pub fn write(&mut self, region: u32, offset: u64, size: u32, value: u64) {
        self.dev.mmio_write(region, offset, size, value);
        self.pump();
    }

    /// A PCI config-space read: the device's own config registers, the
    /// standard header from its IDs, 0 elsewhere.
    pub fn config_read(&mut self, offset: u64, size: u32) -> u64 {
        let d = T::DESCRIPTOR;
        if let (true, Some(r)) = (d.config_register_at(offset, size), d.config_region()) {
            return self.read(r as u32, offset, size);
        }
        let mut header = [0u8; 0x40];
        if let crate::BusKind::Pci(ids) = d.bus {
            header[0..2].copy_from_slice(&ids.vendor.to_le_bytes());
            header[2..4].copy_from_slice(&ids.device.to_le_bytes());
            header[8] = ids.revision;
            header[9] = ids.prog_if;
            header[10..12].copy_from_slice(&ids.class.to_le_bytes());
            header[0x2c..0x2e].copy_from_slice(&ids.subsystem_vendor.to_le_bytes());
            header[0x2e..0x30].copy_from_slice(&ids.subsystem.to_le_bytes());
            header[0x3d] = ids.interrupt_pin;
        }
        (0..size as usize)
            .map(|i| header.get(offset as usize + i).copied().unwrap_or(0))
            .rev()
            .fold(0u64, |acc, b| acc << 8 | u64::from(b))
    }

    /// A PCI config-space write: reaches the device's own config registers;
    /// the rest of config space is QEMU's and is not modelled here.
    pub fn config_write(&mut self, offset: u64, size: u32, value: u64) {
        let d = T::DESCRIPTOR;
        if let (true, Some(r)) = (d.config_register_at(offset, size), d.config_region()) {
            self.write(r as u32, offset, size, value);
        }
    }

    /// The device's migratable state, as QEMU would save it (its migrated
    /// fields, line levels and timers, then the device's `save` hook).
    pub fn save_state(&self) -> Vec<u8> {
        let mut w = crate::StateWriter::new();
        self.dev.save_state(&mut w);
        w.into_bytes()
    }

    /// Loads state from [`MockDevice::save_state`], as a migration's
    /// destination does (the device should be fresh or reset, as QEMU's
    /// destination is); runs the device's `post_load` hook.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.load_state_version(bytes, T::DESCRIPTOR.version)
    }

    /// Loads state that an older version of the device saved at `version`,
    /// refused (as QEMU refuses it) below the device's `minimum_version`
    /// or above its `version`.
    pub fn load_state_version(&mut self, bytes: &[u8], version: u32) -> Result<(), Error> {
        let d = T::DESCRIPTOR;
        if version < d.minimum_version || version > d.version {
            return Err(Error::new(format!(
                "{}: cannot load state of version {version}: this device loads versions {} to {}",
                d.name, d.minimum_version, d.version
            )));
        }
        let mut r = crate::StateReader::new(bytes);
        self.dev.load_state(&mut r, version)?;
        crate::state::all_read(&r)
    }

    /// The virtual clock, in ns.
    pub fn now_ns(&self) -> u64 {
        self.clock.borrow().now
    }

    /// Moves the virtual clock `ns` forward, firing every timer due on the
    /// way, in deadline order, each at its exact deadline.
    pub fn advance_ns(&mut self, ns: u64) {
        let until = self.now_ns().saturating_add(ns);
        loop {
            let due = self.clock.borrow_mut().next_due(until);
            match due {
                Some(i) => {
                    self.dev.timer_fired(i as u32);
                    self.pump();
                }
                None => break,
            }
        }
        self.clock.borrow_mut().now = until;
    }

    /// Guest memory, for setting up and checking DMA.
    pub fn memory(&self) -> std::cell::RefMut<'_, MockMemory> {
        self.memory.borrow_mut()
    }

    /// Enables MSI or MSI-X, as a guest driver does.
    pub fn set_msi_mode(&mut self, mode: MsiMode) {
        self.recorder.borrow_mut().msi_mode = mode;
    }

    /// Bytes arriving from the host on chardev `index`; delivered as the
    /// device's `can_receive` allows, the rest when it asks again.
    pub fn chardev_input(&mut self, index: usize, bytes: &[u8]) {
        self.chars[index].borrow_mut().pending.extend(bytes);
        self.pump();
    }

    /// Input on chardev `index` that the device has not taken yet.
    pub fn chardev_pending(&self, index: usize) -> usize {
        self.chars[index].borrow().pending.len()
    }

    /// Bytes the device sent on chardev `index` since the last call.
    pub fn take_chardev_output(&mut self, index: usize) -> Vec<u8> {
        std::mem::take(&mut self.chars[index].borrow_mut().sent)
    }

    /// A chardev event (a client connecting, ...).
    pub fn chardev_event(&mut self, index: usize, event: CharEvent) {
        self.dev.chardev_event(index as u32, event);
        self.pump();
    }

    /// 8-bit read from region 0.
    pub fn readb(&mut self, offset: u64) -> u8 {
        self.read(0, offset, 1) as u8
    }

    /// 16-bit read from region 0.
    pub fn readw(&mut self, offset: u64) -> u16 {
        self.read(0, offset, 2) as u16
    }

    /// 32-bit read from region 0.
    pub fn readl(&mut self, offset: u64) -> u32 {
        self.read(0, offset, 4) as u32
    }

    /// 64-bit read from region 0.
    pub fn readq(&mut self, offset: u64) -> u64 {
        self.read(0, offset, 8)
    }

    /// 8-bit write to region 0.
    pub fn writeb(&mut self, offset: u64, value: u8) {
        self.write(0, offset, 1, value.into())
    }

    /// 16-bit write to region 0.
    pub fn writew(&mut self, offset: u64, value: u16) {
        self.write(0, offset, 2, value.into())
    }

    /// 32-bit write to region 0.
    pub fn writel(&mut self, offset: u64, value: u32) {
        self.write(0, offset, 4, value.into())
    }

    /// 64-bit write to region 0.
    pub fn writeq(&mut self, offset: u64, value: u64) {
        self.write(0, offset, 8, value)
    }

    /// A system reset. For a PCI device the bus then deasserts INTx, as
    /// QEMU's PCI core does when it resets a function
    /// (`pci_do_device_reset`).
    pub fn reset(&mut self) {
        self.dev.reset(ResetKind::Cold);
        if matches!(T::DESCRIPTOR.bus, crate::BusKind::Pci(_)) && self.line_level(LineRef::Intx) {
            self.recorder.borrow_mut().line(LineRef::Intx, false);
        }
    }

    /// Drives GPIO input `line` of group `group`.
    pub fn set_gpio_in(&mut self, group: u32, line: u32, level: bool) {
        self.dev.gpio_in(group, line, level);
        self.pump();
    }

    /// Line changes and messages since the last call, in order.
    pub fn take_events(&mut self) -> Vec<BusEvent> {
        std::mem::take(&mut self.recorder.borrow_mut().events)
    }

    /// The line changes since the last call, in order (messages dropped).
    pub fn take_line_events(&mut self) -> Vec<LineEvent> {
        self.take_events()
            .into_iter()
            .filter_map(|e| match e {
                BusEvent::Line(l) => Some(l),
                BusEvent::Message { .. } | BusEvent::System(_) => None,
            })
            .collect()
    }

    /// The current level of an output line (low if never driven).
    pub fn line_level(&self, line: LineRef) -> bool {
        self.recorder.borrow().level(line)
    }

    /// Guest errors and unimplemented-feature messages logged on this
    /// thread since the last call.
    pub fn take_log(&mut self) -> Vec<LogEntry> {
        take_mock_log()
    }
}
