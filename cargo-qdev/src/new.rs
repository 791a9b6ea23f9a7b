// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo qdev new`: a device crate from a template that builds, passes its
//! own mocked-bus tests and runs in QEMU as generated.

use std::fmt;
use std::path::{Path, PathBuf};

/// Which bus the new device plugs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// A system-bus device.
    SysBus,
    /// A PCI device.
    Pci,
}

/// Why a crate could not be created.
#[derive(Debug)]
pub struct NewError(pub String);

impl fmt::Display for NewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NewError {}

/// Where `qdev-runtime` is: beside the tool's own sources.
pub fn default_runtime_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cargo-qdev sits in the qdev workspace")
        .join("qdev-runtime")
}

fn check_name(name: &str) -> Result<(), NewError> {
    let ok = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(NewError(format!(
            "`{name}` cannot name a device: use lower-case letters, digits and '-', starting with a letter (e.g. `my-uart`)"
        )))
    }
}

fn struct_name(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Creates the crate `name` in `dir/name`, depending on the runtime at
/// `runtime`. Returns the crate's directory.
pub fn create(dir: &Path, name: &str, bus: Bus, runtime: &Path) -> Result<PathBuf, NewError> {
    check_name(name)?;
    let root = dir.join(name);
    if root.exists() {
        return Err(NewError(format!("{} exists already", root.display())));
    }
    let runtime = runtime.canonicalize().map_err(|e| {
        NewError(format!(
            "qdev-runtime not found at {} ({e}); give its path with --runtime DIR",
            runtime.display()
        ))
    })?;
    let ty = struct_name(name);
    let lib = name.replace('-', "_");
    let (bus_arg, test_bus) = match bus {
        Bus::SysBus => ("sysbus".to_string(), "LineRef::Irq(0)"),
        Bus::Pci => (
            // 0x1234 is QEMU's own vendor ID for emulated devices; pick your own.
            "pci(vendor = 0x1234, device = 0x0001, class = 0x00ff, revision = 1)".to_string(),
            "LineRef::Intx",
        ),
    };
    let files: [(&str, String); 4] = [
        (
            "Cargo.toml",
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
license = "GPL-2.0-or-later"
publish = false

[lib]
# cdylib: the module QEMU loads; rlib: the same device for `cargo test`.
crate-type = ["cdylib", "rlib"]

[features]
default = ["qemu"]
# The QEMU module; without it (`--no-default-features`) the tests need no
# QEMU and no SDK.
qemu = ["qdev-runtime/qemu"]

[dependencies]
qdev-runtime = {{ path = "{}", default-features = false }}
"#,
                runtime.display()
            ),
        ),
        (
            "src/lib.rs",
            format!(
                r#"// SPDX-License-Identifier: GPL-2.0-or-later
//! `{name}`: describe the hardware this models.
//!
//! | offset | name    | access | reset | meaning |
//! |--------|---------|--------|-------|---------|
//! | 0x00   | ID      | ro     | 0x1d  | identification |
//! | 0x04   | CTRL    | rw     | 0     | bit 0: enable |
//! | 0x08   | STATUS  | w1c    | 0     | bit 0: done (write 1 to clear) |
//! | 0x0c   | COMMAND | wo     | 0     | writing sets STATUS.done and interrupts if enabled |

use qdev_runtime::{{qemu_device, Irq}};

/// The device.
#[qemu_device(name = "{name}", {bus_arg})]
#[derive(Debug)]
pub struct {ty} {{
    /// Identification.
    #[reg(offset = 0x00, access = ro, reset = 0x1d)]
    id: u32,
    /// Control.
    #[reg(offset = 0x04, access = rw, field(name = "ENABLE", bit = 0), write = Self::update_irq)]
    ctrl: u32,
    /// Status: write 1 to clear.
    #[reg(offset = 0x08, access = w1c, write = Self::update_irq)]
    status: u32,
    /// Command.
    #[reg(offset = 0x0c, access = wo, write = Self::command)]
    command: u32,
    /// The interrupt.
    #[irq]
    irq: Irq,
}}

impl {ty} {{
    fn command(&mut self, _value: u32) {{
        self.status |= 1;
        self.update_irq(0);
    }}

    fn update_irq(&mut self, _value: u32) {{
        self.irq.set(Self::CTRL_ENABLE.is_set(self.ctrl) && self.status & 1 != 0);
    }}
}}
"#
            ),
        ),
        (
            "tests/mock.rs",
            format!(
                r#"// SPDX-License-Identifier: GPL-2.0-or-later
//! `{name}` on the mocked bus: no QEMU needed.

use {lib}::{ty};
use qdev_runtime::mock::MockDevice;
use qdev_runtime::LineRef;

#[test]
fn id_reads_its_reset_value() {{
    let mut dev = MockDevice::<{ty}>::new().unwrap();
    assert_eq!(dev.readl(0x00), 0x1d);
}}

#[test]
fn command_interrupts_when_enabled_and_status_clears() {{
    let mut dev = MockDevice::<{ty}>::new().unwrap();
    dev.writel(0x04, 1);
    dev.writel(0x0c, 1);
    assert_eq!(dev.readl(0x08), 1);
    assert!(dev.line_level({test_bus}));
    dev.writel(0x08, 1);
    assert!(!dev.line_level({test_bus}));
}}
"#
            ),
        ),
        (
            "README.md",
            format!(
                "# {name}\n\nA QEMU device model written with qdev.\n\n\
                 ```sh\ncargo test                       # the mocked bus\ncargo qdev build                 # the module\n\
                 cargo qdev run --module target/debug/lib{lib}.so -- -M q35 -device {name}{}\n```\n",
                if bus == Bus::SysBus { ",mmio=0xfed01000,irq=5" } else { "" }
            ),
        ),
    ];
    for (path, text) in &files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("files are in the crate"))
            .map_err(|e| NewError(e.to_string()))?;
        std::fs::write(&p, text).map_err(|e| NewError(format!("{}: {e}", p.display())))?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_qom_and_crate_friendly() {
        assert!(check_name("my-uart").is_ok());
        assert!(check_name("My_Uart").is_err());
        assert!(check_name("1uart").is_err());
        assert_eq!(struct_name("my-uart2"), "MyUart2");
    }
}
