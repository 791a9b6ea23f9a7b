// SPDX-License-Identifier: GPL-2.0-or-later
//! qtest harness for qdev: drives the stock QEMU binary, with qdev device
//! modules preloaded exactly as `cargo qdev run` loads them, from Rust tests.
//!
//! ```no_run
//! use qdev_tests::{Json, Qemu};
//!
//! # fn main() -> Result<(), qdev_tests::HarnessError> {
//! let qemu = Qemu::builder().machine("q35").device("edu").start()?;
//! let edu = qemu.pci_find(0x1234, 0x11e8)?.expect("edu is on bus 0");
//! let bar = qemu.pci_map_bar(&edu, 0, 0xe000_0000)?;
//! assert_eq!(bar.readl(0x00)?, 0x0100_00ed);
//!
//! let gsi = qemu.pci_intx_gsi(&edu)?;
//! qemu.irq_intercept_in("ioapic")?;
//! bar.writel(0x60, 1)?; // edu: raise an interrupt
//! assert!(qemu.irq_level(gsi));
//!
//! let version = qemu.qmp("query-version", None)?;
//! assert_eq!(version["qemu"]["major"].as_u64(), Some(10));
//! # let _ = Json::Null;
//! # Ok(())
//! # }
//! ```
//!
//! # How QEMU is run
//!
//! QEMU is started through [`qdev_tool::launch::qemu_command`] (module
//! checks, `LD_PRELOAD`) with `-qtest unix:SOCK -qtest-log none`, a QMP
//! monitor on a second unix socket, `-S -display none -nodefaults`, plus
//! what the builder adds. The sockets live in a private directory under
//! the system temporary directory, removed on drop. The harness listens and
//! QEMU connects (as QEMU's own `libqtest` does); every wait has a time
//! limit, and a QEMU that exits during start-up is reported with its stderr.
//!
//! The stock Debian binary has no qtest accelerator: the default TCG
//! accelerator is used, so `clock_step` is unavailable and virtual time
//! only advances while the VM runs ([`Qemu::resume`]). On x86 the firmware
//! is replaced by a halting stub so that running the VM executes no BIOS
//! (see [`QemuBuilder::stub_firmware`]).
//!
//! QEMU does not exit when its qtest or QMP connection closes, so dropping
//! [`Qemu`] kills it, and a small watchdog process kills it if the test
//! process dies without dropping it (see [`QemuBuilder::watchdog`]).

pub mod access;
mod base64;
mod error;
pub mod guest;
pub mod host;
mod json;
pub mod lockstep;
pub mod modules;
mod pci;
pub mod prop;
mod qemu;
pub mod script;
pub mod targets;
mod watchdog;

pub use error::{HarnessError, Result};
pub use json::{Json, JsonError};
pub use pci::{
    Bar, BarInfo, BarKind, Bdf, PciFunction, PCI_CAPABILITY_LIST, PCI_CAP_ID_EXP, PCI_CAP_ID_MSI,
    PCI_CAP_ID_MSIX, PCI_CAP_ID_VNDR, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO,
    PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_CONFIG_ADDRESS, PCI_CONFIG_DATA,
    PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_STATUS,
};
pub use qemu::{IrqEvent, Qemu, QemuBuilder, QmpEvent, DEFAULT_TIMEOUT, VERBOSE_ENV};

/// The launcher types the harness exposes in its errors.
pub use qdev_tool::launch::LaunchError;
