// SPDX-License-Identifier: GPL-2.0-or-later
//! The build information every qdev module carries, and how to read it back.
//!
//! A module built against a qdev SDK embeds one NUL-terminated ASCII record:
//!
//! ```text
//! QDEV-MODULE-INFO/1;qemu=10.0.2;package=Debian 1:10.0.2+ds-2;host=x86_64;targets=x86_64,aarch64;
//! ```
//!
//! Rust modules get it from `qdev-sys` (generated from the SDK manifest); C
//! modules get it from the SDK's `qdev-module-info.h`, which the
//! `qemu-device.pc` flags force-include. The launcher reads it with a plain
//! byte search, so it needs no ELF section parsing and works on stripped
//! modules.

use std::fmt;
use std::path::Path;

use crate::qemu::describe_version;

/// The prefix of the record; the `/1` is the format's version.
pub const MAGIC: &str = "QDEV-MODULE-INFO/1;";

/// What a module was built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Upstream QEMU version of the SDK, e.g. `10.0.2`.
    pub qemu_version: String,
    /// QEMU's package string, e.g. `Debian 1:10.0.2+ds-2+deb13u1~bpo12+1`.
    pub package: String,
    /// Host architecture (`x86_64`, `aarch64`, ...).
    pub host_arch: String,
    /// QEMU targets the SDK's headers were configured for.
    pub targets: Vec<String>,
}

impl ModuleInfo {
    /// The record as embedded in a module, without the trailing NUL.
    pub fn encode(&self) -> String {
        format!(
            "{MAGIC}qemu={};package={};host={};targets={};",
            self.qemu_version,
            self.package,
            self.host_arch,
            self.targets.join(",")
        )
    }

    /// Parses a record (from [`MAGIC`] up to the NUL or end of text).
    pub fn parse(record: &str) -> Option<Self> {
        let body = record.strip_prefix(MAGIC)?;
        let body = body.split('\0').next().unwrap_or(body);
        let mut info = ModuleInfo {
            qemu_version: String::new(),
            package: String::new(),
            host_arch: String::new(),
            targets: Vec::new(),
        };
        for field in body.split(';').filter(|f| !f.is_empty()) {
            let (key, value) = field.split_once('=')?;
            match key {
                "qemu" => info.qemu_version = value.to_string(),
                "package" => info.package = value.to_string(),
                "host" => info.host_arch = value.to_string(),
                "targets" => {
                    info.targets = value
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                _ => {} // newer fields are ignored by older launchers
            }
        }
        (!info.qemu_version.is_empty() && !info.host_arch.is_empty()).then_some(info)
    }

    /// Finds the record in a module's bytes.
    pub fn find(bytes: &[u8]) -> Option<Self> {
        let magic = MAGIC.as_bytes();
        let start = bytes.windows(magic.len()).position(|w| w == magic)?;
        let rest = &bytes[start..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Self::parse(std::str::from_utf8(&rest[..end]).ok()?)
    }

    /// Reads the record from a module file; `Ok(None)` when it has none.
    pub fn read(path: &Path) -> std::io::Result<Option<Self>> {
        Ok(Self::find(&std::fs::read(path)?))
    }

    /// `10.0.2 (Debian ...)`, as QEMU prints its version.
    pub fn describe(&self) -> String {
        describe_version(&self.qemu_version, &self.package)
    }
}

impl fmt::Display for ModuleInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "QEMU {} on {} (targets {})",
            self.describe(),
            self.host_arch,
            self.targets.join(",")
        )
    }
}

/// The architecture an ELF file is built for, from its header.
pub fn elf_machine(path: &Path) -> std::io::Result<&'static str> {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)?.read_exact(&mut header)?;
    if &header[..4] != b"\x7fELF" {
        return Err(std::io::Error::other("not an ELF file"));
    }
    let machine = match header[5] {
        1 => u16::from_le_bytes([header[18], header[19]]),
        _ => u16::from_be_bytes([header[18], header[19]]),
    };
    Ok(match (machine, header[4]) {
        (62, _) => "x86_64",
        (3, _) => "i386",
        (183, _) => "aarch64",
        (40, _) => "arm",
        (243, 2) => "riscv64",
        (243, _) => "riscv32",
        (21, _) => "ppc64",
        (22, _) => "s390x",
        _ => "unknown",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ModuleInfo {
        ModuleInfo {
            qemu_version: "10.0.2".into(),
            package: "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1".into(),
            host_arch: "x86_64".into(),
            targets: vec!["x86_64".into(), "aarch64".into()],
        }
    }

    #[test]
    fn record_round_trips() {
        let info = sample();
        assert_eq!(ModuleInfo::parse(&info.encode()), Some(info));
    }

    #[test]
    fn record_is_found_among_other_bytes() {
        let mut bytes = b"\x7fELF garbage\0\0".to_vec();
        bytes.extend_from_slice(sample().encode().as_bytes());
        bytes.extend_from_slice(b"\0more bytes");
        assert_eq!(ModuleInfo::find(&bytes), Some(sample()));
    }

    #[test]
    fn bytes_without_record_have_no_info() {
        assert_eq!(ModuleInfo::find(b"\x7fELF nothing here"), None);
    }
}
