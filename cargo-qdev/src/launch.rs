// SPDX-License-Identifier: GPL-2.0-or-later
//! Loading modules into the stock QEMU binary.
//!
//! QEMU's module directory only loads modules named in a table compiled into
//! the binary, so a new device type cannot arrive that way. Preloading the
//! module into the QEMU process works: its constructor registers the types
//! before QEMU's `main` runs `module_call_init(MODULE_INIT_QOM)`. The plain
//! equivalent of what [`qemu_command`] builds is
//!
//! ```text
//! env LD_PRELOAD=/abs/path/dev.so qemu-system-x86_64 -device my-dev ...
//! ```
//!
//! `LD_PRELOAD` is set on the QEMU process alone, never on wrappers such as
//! `timeout`, which would fail to resolve the module's QEMU symbols.
//!
//! Before anything starts, every module's build information is compared with
//! the binary: a module built for another QEMU version, package or host
//! architecture is refused with both sides named.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::modinfo::{elf_machine, ModuleInfo};
use crate::qemu::QemuBinary;

/// Why a module may not be loaded into a QEMU binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// The module file cannot be read.
    Unreadable {
        /// The module.
        module: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The module carries no qdev build information.
    NoModuleInfo {
        /// The module.
        module: PathBuf,
    },
    /// The module's ELF architecture differs from the QEMU binary's.
    HostArch {
        /// The module.
        module: PathBuf,
        /// Architecture of the module.
        module_arch: String,
        /// Architecture of the QEMU binary.
        qemu_arch: String,
    },
    /// The module was built for another QEMU version or package.
    Version {
        /// The module.
        module: PathBuf,
        /// What the module was built for.
        built_for: String,
        /// What the binary is.
        qemu: String,
        /// The binary's path.
        qemu_path: PathBuf,
    },
    /// The binary's target is not among those the SDK was configured for.
    Target {
        /// The module.
        module: PathBuf,
        /// Targets of the module's SDK.
        targets: Vec<String>,
        /// Target of the binary.
        qemu_target: String,
    },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Unreadable { module, reason } => {
                write!(f, "cannot read module {}: {reason}", module.display())
            }
            LaunchError::NoModuleInfo { module } => write!(
                f,
                "{} carries no qdev module information, so nobody can tell which QEMU it \
                 was built for; build it against a qdev SDK (Rust: a crate using qdev-runtime; \
                 C: `pkg-config --cflags qemu-device`), or pass --no-check to load it anyway",
                module.display()
            ),
            LaunchError::HostArch {
                module,
                module_arch,
                qemu_arch,
            } => write!(
                f,
                "{} is built for {module_arch} hosts, but the QEMU binary runs on {qemu_arch}",
                module.display()
            ),
            LaunchError::Version {
                module,
                built_for,
                qemu,
                qemu_path,
            } => write!(
                f,
                "{} was built for QEMU {built_for}, but {} is QEMU {qemu}; rebuild the module \
                 with an SDK for this QEMU (`cargo qdev sdk --qemu {}`, then rebuild)",
                module.display(),
                qemu_path.display(),
                qemu_path.display()
            ),
            LaunchError::Target {
                module,
                targets,
                qemu_target,
            } => write!(
                f,
                "{} was built against headers configured for the targets {}, not for \
                 {qemu_target}; build an SDK that includes it (`cargo qdev sdk --targets ...`)",
                module.display(),
                targets.join(",")
            ),
        }
    }
}

impl std::error::Error for LaunchError {}

/// Checks that `module` was built for `qemu`; returns its build information.
pub fn check_module(qemu: &QemuBinary, module: &Path) -> Result<ModuleInfo, LaunchError> {
    let unreadable = |e: std::io::Error| LaunchError::Unreadable {
        module: module.to_path_buf(),
        reason: e.to_string(),
    };
    let module_arch = elf_machine(module).map_err(unreadable)?;
    if module_arch != qemu.host_arch {
        return Err(LaunchError::HostArch {
            module: module.to_path_buf(),
            module_arch: module_arch.to_string(),
            qemu_arch: qemu.host_arch.clone(),
        });
    }
    let info = ModuleInfo::read(module)
        .map_err(unreadable)?
        .ok_or_else(|| LaunchError::NoModuleInfo {
            module: module.to_path_buf(),
        })?;
    if info.qemu_version != qemu.version || info.package != qemu.package {
        return Err(LaunchError::Version {
            module: module.to_path_buf(),
            built_for: info.describe(),
            qemu: qemu.describe(),
            qemu_path: qemu.path.clone(),
        });
    }
    if !info.targets.contains(&qemu.target) {
        return Err(LaunchError::Target {
            module: module.to_path_buf(),
            targets: info.targets.clone(),
            qemu_target: qemu.target.clone(),
        });
    }
    Ok(info)
}

/// Options for [`qemu_command`].
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// Skip the build-information check (modules without it, experiments).
    pub no_check: bool,
}

/// Builds the command that runs `qemu` with `modules` preloaded, after
/// checking each module. Arguments are added by the caller.
pub fn qemu_command(
    qemu: &QemuBinary,
    modules: &[PathBuf],
    options: &LaunchOptions,
) -> Result<Command, LaunchError> {
    let mut preload = Vec::new();
    for module in modules {
        if !options.no_check {
            check_module(qemu, module)?;
        }
        let abs = module.canonicalize().map_err(|e| LaunchError::Unreadable {
            module: module.clone(),
            reason: e.to_string(),
        })?;
        preload.push(abs.to_string_lossy().into_owned());
    }
    let mut cmd = Command::new(&qemu.path);
    if !preload.is_empty() {
        // Keep whatever the user preloads already (sanitizers, profilers).
        if let Some(existing) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
            preload.push(existing.to_string_lossy().into_owned());
        }
        cmd.env("LD_PRELOAD", preload.join(":"));
    }
    Ok(cmd)
}

/// The plain shell command equivalent to [`qemu_command`], for documentation
/// and for users who do not use the launcher.
pub fn plain_command_line(qemu: &QemuBinary, modules: &[PathBuf], args: &[String]) -> String {
    let mut line = String::from("env ");
    if !modules.is_empty() {
        let abs: Vec<String> = modules
            .iter()
            .map(|m| m.canonicalize().unwrap_or_else(|_| m.clone()))
            .map(|m| m.display().to_string())
            .collect();
        line.push_str(&format!("LD_PRELOAD={} ", abs.join(":")));
    }
    line.push_str(&qemu.path.display().to_string());
    for arg in args {
        line.push(' ');
        line.push_str(arg);
    }
    line
}
