// SPDX-License-Identifier: GPL-2.0-or-later
//! The mocked bus: a device driven from `cargo test`, with no QEMU.
//!
//! The same generated dispatch that QEMU calls runs here, so a unit test
//! exercises exactly the register behaviour a guest sees. Line changes are
//! recorded in order; guest errors are kept for assertions.
//!
//! ```ignore
//! let mut dev = MockDevice::<MyUart>::builder().prop("fifo-depth", 32).build()?;
//! dev.writel(0x04, 1);
//! assert_eq!(dev.take_line_events(), [LineEvent::new(LineRef::Irq(0), false)]);
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::device::{Device, PropertyKind, ResetKind};
use crate::lines::{LineRef, Lines, Sink};
use crate::log::{take_mock_log, LogEntry};
use crate::props::RawString;
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

/// Records line changes (shared with the device's [`crate::Irq`]s).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    events: Vec<LineEvent>,
    levels: HashMap<LineRef, bool>,
}

impl Recorder {
    pub(crate) fn line(&mut self, line: LineRef, level: bool) {
        self.events.push(LineEvent { line, level });
        self.levels.insert(line, level);
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
        let recorder = Rc::new(RefCell::new(Recorder::default()));
        let rec = recorder.clone();
        let mut lines = Lines::new(move |line| Sink::Mock(rec.clone(), line));
        let mut dev = T::instantiate(&self.props, &mut lines)?;
        dev.realize()?;
        dev.reset(ResetKind::Cold);
        Ok(MockDevice { dev, recorder })
    }
}

/// A device on the mocked bus.
pub struct MockDevice<T: Device> {
    dev: T,
    recorder: Rc<RefCell<Recorder>>,
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

    /// A guest read of `size` bytes at `offset` of region `region`.
    pub fn read(&mut self, region: u32, offset: u64, size: u32) -> u64 {
        self.dev.mmio_read(region, offset, size)
    }

    /// A guest write.
    pub fn write(&mut self, region: u32, offset: u64, size: u32, value: u64) {
        self.dev.mmio_write(region, offset, size, value)
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

    /// A system reset.
    pub fn reset(&mut self) {
        self.dev.reset(ResetKind::Cold);
    }

    /// Drives GPIO input `line` of group `group`.
    pub fn set_gpio_in(&mut self, group: u32, line: u32, level: bool) {
        self.dev.gpio_in(group, line, level);
    }

    /// The line changes since the last call, in order.
    pub fn take_line_events(&mut self) -> Vec<LineEvent> {
        std::mem::take(&mut self.recorder.borrow_mut().events)
    }

    /// The current level of an output line (low if never driven).
    pub fn line_level(&self, line: LineRef) -> bool {
        self.recorder
            .borrow()
            .levels
            .get(&line)
            .copied()
            .unwrap_or(false)
    }

    /// Guest errors and unimplemented-feature messages logged on this
    /// thread since the last call.
    pub fn take_log(&mut self) -> Vec<LogEntry> {
        take_mock_log()
    }
}
