// SPDX-License-Identifier: GPL-2.0-or-later
//! The safe runtime for QEMU device models written in Rust.
//!
//! A device is a plain Rust struct annotated with `#[qemu_device]` (from
//! `qdev-macros`, re-exported here). The macro turns the datasheet table in
//! its attributes into a [`DeviceDescriptor`] and register dispatch; this
//! crate runs that device in one of two backends:
//!
//! - **QEMU** (feature `qemu`, on by default): the module is preloaded into
//!   the stock QEMU binary and registers its QOM types; see [`qemu`].
//! - **the mocked bus** ([`mock`]): the same device driven from `cargo test`,
//!   with no QEMU at all.
//!
//! This is the only crate of qdev with `unsafe` code (besides `qdev-sys`).

pub mod chardev;
pub mod device;
pub mod dma;
pub mod error;
pub mod field;
pub mod lines;
pub mod log;
pub mod mock;
pub mod msi;
pub mod props;
pub mod regs;
pub mod timer;

#[cfg(feature = "qemu")]
pub mod qemu;

pub use chardev::{CharDev, CharEvent};
pub use device::{
    BusKind, Device, DeviceDescriptor, FieldDescriptor, GpioDescriptor, PciIds, PropertyDescriptor,
    PropertyKind, RegionDescriptor, RegisterDescriptor, ResetKind,
};
pub use dma::{Dma, DmaError};
pub use error::Error;
pub use field::{Field, FieldValue, RegisterValue};
pub use lines::{Irq, LineRef, Wiring};
pub use msi::{Msi, MsiMode};
pub use qdev_macros::qemu_device;
pub use regs::{Access, Semantics};
pub use timer::Timer;

/// Registers `T` with QEMU when the module is loaded into QEMU; does
/// nothing elsewhere (unit tests). Called by the constructor that
/// `#[qemu_device]` generates.
pub fn register<T: Device>() {
    #[cfg(feature = "qemu")]
    qemu::register::<T>();
}

/// Items the generated code uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::dispatch::*;
    pub use ctor;
}

#[doc(hidden)]
pub mod dispatch;
