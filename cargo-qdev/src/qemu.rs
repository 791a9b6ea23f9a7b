// SPDX-License-Identifier: GPL-2.0-or-later
//! Facts about a QEMU system emulator binary: its version, the distribution
//! package it came from, its target and the host architecture it runs on.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::modinfo::elf_machine;

/// A QEMU system emulator binary, inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuBinary {
    /// Absolute path of the binary.
    pub path: PathBuf,
    /// Upstream version, e.g. `10.0.2`.
    pub version: String,
    /// The package string QEMU prints in parentheses, e.g.
    /// `Debian 1:10.0.2+ds-2+deb13u1~bpo12+1`; empty for a build without one.
    pub package: String,
    /// Target architecture from the binary's name (`x86_64` for
    /// `qemu-system-x86_64`).
    pub target: String,
    /// Host architecture the binary is built for (from its ELF header).
    pub host_arch: String,
}

/// Why a QEMU binary could not be inspected.
#[derive(Debug)]
pub struct QemuError(pub String);

impl fmt::Display for QemuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QemuError {}

/// The binary used when none is named: `$QDEV_QEMU`, else
/// `qemu-system-x86_64` from `PATH`.
pub fn default_binary() -> PathBuf {
    std::env::var_os("QDEV_QEMU")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"))
}

/// Resolves a bare command name through `PATH`; paths with a `/` are kept.
pub fn which(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return name.exists().then(|| name.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

impl QemuBinary {
    /// Inspects `binary` (a path or a name looked up in `PATH`).
    pub fn inspect(binary: &Path) -> Result<Self, QemuError> {
        let path = which(binary).ok_or_else(|| {
            QemuError(format!(
                "QEMU binary `{}` not found; install QEMU 10.0 (scripts/bootstrap.sh does) \
                 or name one with --qemu PATH",
                binary.display()
            ))
        })?;
        let path = path.canonicalize().unwrap_or(path);
        let out = Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| QemuError(format!("cannot run `{} --version`: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let (version, package) = parse_version_banner(&text).ok_or_else(|| {
            QemuError(format!(
                "`{} --version` printed no QEMU version: {:?}",
                path.display(),
                text.lines().next().unwrap_or("")
            ))
        })?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let target = name
            .strip_prefix("qemu-system-")
            .ok_or_else(|| {
                QemuError(format!(
                    "`{}` is not a QEMU system emulator (qemu-system-ARCH)",
                    path.display()
                ))
            })?
            .to_string();
        let host_arch = elf_machine(&path)
            .map_err(|e| QemuError(format!("{}: {e}", path.display())))?
            .to_string();
        Ok(QemuBinary {
            path,
            version,
            package,
            target,
            host_arch,
        })
    }

    /// `10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)`, as QEMU prints it.
    pub fn describe(&self) -> String {
        describe_version(&self.version, &self.package)
    }

    /// The Debian version of the `qemu` source package this binary was built
    /// from, when the package string says so.
    pub fn debian_version(&self) -> Option<&str> {
        self.package.strip_prefix("Debian ")
    }
}

/// Formats a version with its package string the way QEMU prints them.
pub fn describe_version(version: &str, package: &str) -> String {
    if package.is_empty() {
        version.to_string()
    } else {
        format!("{version} ({package})")
    }
}

/// Parses `QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)` into the
/// version and the package string.
pub fn parse_version_banner(text: &str) -> Option<(String, String)> {
    let line = text.lines().find(|l| l.contains("version"))?;
    let rest = line.split("version").nth(1)?.trim();
    let (version, package) = match rest.split_once('(') {
        Some((v, p)) => (v.trim(), p.trim_end().trim_end_matches(')').trim()),
        None => (rest, ""),
    };
    if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((version.to_string(), package.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_banner() {
        let banner = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n\
                      Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n";
        let (v, p) = parse_version_banner(banner).unwrap();
        assert_eq!(v, "10.0.2");
        assert_eq!(p, "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1");
    }

    #[test]
    fn parses_banner_without_package() {
        let (v, p) = parse_version_banner("QEMU emulator version 9.2.50\n").unwrap();
        assert_eq!((v.as_str(), p.as_str()), ("9.2.50", ""));
    }

    #[test]
    fn rejects_text_without_version() {
        assert!(parse_version_banner("hello\n").is_none());
    }
}
