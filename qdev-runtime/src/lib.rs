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
//!
//! ```
//! use qdev_runtime::mock::MockDevice;
//! use qdev_runtime::{qemu_device, Irq};
//!
//! #[qemu_device(name = "my-uart", sysbus)]
//! pub struct MyUart {
//!     #[reg(offset = 0x00, access = rw, write = Self::tx)]  data: u32,
//!     #[reg(offset = 0x04, access = w1c)]                     int_status: u32,
//!     #[property(default = 16)]                               fifo_depth: u32,
//!     #[irq]                                                  irq: Irq,
//! }
//!
//! impl MyUart {
//!     fn tx(&mut self, _byte: u32) {
//!         self.int_status |= 1; // "transmitted"
//!         self.irq.raise();
//!     }
//! }
//!
//! // The same device QEMU runs, on the mocked bus:
//! let mut uart = MockDevice::<MyUart>::builder().prop("fifo-depth", 32u32).build()?;
//! uart.writel(0x00, u32::from(b'A'));
//! assert_eq!(uart.readl(0x04), 1);
//! uart.writel(0x04, 1); // write 1 to clear
//! assert_eq!(uart.readl(0x04), 0);
//! # Ok::<(), qdev_runtime::Error>(())
//! ```
//!
//! Built as a `cdylib`, the same crate is a module for the stock QEMU:
//! `cargo qdev run --module target/debug/libmy_uart.so -- -M pc -device my-uart,mmio=0xfed01000`.

pub mod chardev;
pub mod describe;
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
pub mod state;
pub mod system;
pub mod timer;

#[cfg(feature = "qemu")]
pub mod qemu;

pub use chardev::{CharDev, CharEvent};
pub use device::{
    BusKind, ChardevDescriptor, Device, DeviceDescriptor, FieldDescriptor, GpioDescriptor, PciIds,
    PropertyDescriptor, PropertyKind, RegionDescriptor, RegisterDescriptor, ResetKind,
};
pub use dma::{Dma, DmaError};
pub use error::Error;
pub use field::{Field, FieldValue, RegisterValue};
pub use lines::{Irq, LineRef, Wiring};
pub use msi::{Msi, MsiMode};
pub use qdev_macros::qemu_device;
pub use regs::{Access, Semantics};
pub use state::{Migrate, StateReader, StateWriter};
pub use system::{System, SystemRequest};
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

    /// Debug builds in QEMU: stops QEMU unless the calling thread holds
    /// QEMU's big lock (the check the runtime makes at every entry into a
    /// device); for tests of that check.
    pub fn assert_bql(device: &str, hook: &str) {
        #[cfg(feature = "qemu")]
        crate::qemu::assert_bql(device, hook);
        #[cfg(not(feature = "qemu"))]
        let _ = (device, hook);
    }
}

#[doc(hidden)]
pub mod dispatch;
