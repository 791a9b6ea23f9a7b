// SPDX-License-Identifier: GPL-2.0-or-later
//! Where qdev keeps large downloads and built SDKs.

use std::path::PathBuf;

/// The cache root: `$QDEV_CACHE`, else `$XDG_CACHE_HOME/qdev`, else
/// `~/.cache/qdev`. The bootstrap script uses the same rule.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QDEV_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("qdev");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("qdev")
}

/// Downloaded source archives, kept so that rebuilding an SDK needs no network.
pub fn downloads_dir() -> PathBuf {
    cache_dir().join("downloads")
}

/// Installed SDKs, one directory per QEMU build.
pub fn sdks_dir() -> PathBuf {
    cache_dir().join("sdk")
}

/// The Python environment with meson that the bootstrap script creates.
pub fn python_dir() -> PathBuf {
    cache_dir().join("python")
}
