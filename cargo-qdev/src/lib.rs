// SPDX-License-Identifier: GPL-2.0-or-later
//! The library behind `cargo qdev`: the QEMU device SDK, the module
//! launcher and the module information a module carries for the ABI guard.
//!
//! The qtest harness in `tests/` starts QEMU through [`launch`], so tests
//! load modules exactly the way users do.

pub mod cache;
pub mod describe;
pub mod launch;
pub mod modinfo;
pub mod new;
pub mod qemu;
pub mod regmap;
pub mod sdk;
