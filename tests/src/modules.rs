// SPDX-License-Identifier: GPL-2.0-or-later
//! The modules under test, built the way their users build them: Rust
//! devices with `cargo build -p CRATE` (a `cdylib`), the C baseline with
//! `make` and nothing but the SDK's pkg-config file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{HarnessError, Result};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The target directory cargo builds into.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

fn once(key: &str, build: impl FnOnce() -> Result<PathBuf>) -> Result<PathBuf> {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(p) = built.get(key) {
        return Ok(p.clone());
    }
    let path = build()?;
    built.insert(key.to_string(), path.clone());
    Ok(path)
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| {
        HarnessError::Usage(format!("{what}: cannot run {:?}: {e}", cmd.get_program()))
    })?;
    if !out.status.success() {
        return Err(HarnessError::Usage(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// The module of the Rust device crate `package` (debug build), built on
/// first use in this process.
pub fn rust_module(package: &str) -> Result<PathBuf> {
    once(package, || {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run(
            Command::new(cargo)
                .current_dir(workspace_root())
                .args(["build", "--quiet", "-p", package]),
            &format!("cargo build -p {package}"),
        )?;
        let path = target_dir()
            .join("debug")
            .join(format!("lib{}.so", package.replace('-', "_")));
        if !path.is_file() {
            return Err(HarnessError::Usage(format!(
                "cargo build -p {package} made no {}",
                path.display()
            )));
        }
        Ok(path)
    })
}

/// The directory holding the SDK's `qemu-device.pc`.
pub fn sdk_pkg_config_dir() -> Result<PathBuf> {
    qdev_tool::sdk::locate()
        .map(|sdk| sdk.pkg_config_dir())
        .map_err(|e| HarnessError::Usage(e.to_string()))
}

/// The C baseline module (`devices/c-baseline`), built with `make` against
/// the SDK's pkg-config file into the target directory.
pub fn c_baseline() -> Result<PathBuf> {
    once("c-baseline", || {
        let out = target_dir().join("c-baseline");
        std::fs::create_dir_all(&out).map_err(|e| HarnessError::Usage(e.to_string()))?;
        run(
            Command::new("make")
                .current_dir(workspace_root().join("devices/c-baseline"))
                .arg(format!("OUT={}", out.display()))
                .env("PKG_CONFIG_PATH", sdk_pkg_config_dir()?),
            "make -C devices/c-baseline",
        )?;
        Ok(out.join("qdev-c-baseline.so"))
    })
}

/// Runs `cargo qdev run --module MODULE -- -M none -display none -S`, which
/// must refuse the module before QEMU starts: panics unless the launcher
/// exits with status 1 and QEMU wrote nothing; returns the launcher's
/// stderr (its reason).
pub fn launcher_refusal(module: &Path) -> String {
    let out = Command::new(tool_binary().expect("the cargo-qdev binary"))
        .args(["run", "--module"])
        .arg(module)
        .args(["--", "-M", "none", "-display", "none", "-S"])
        .output()
        .expect("cargo qdev run starts");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("qemu-system")),
        "QEMU itself never ran: {stderr}"
    );
    stderr
}

/// The `cargo-qdev` binary of this workspace, built on first use.
pub fn tool_binary() -> Result<PathBuf> {
    once("cargo-qdev", || {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run(
            Command::new(cargo).current_dir(workspace_root()).args([
                "build",
                "--quiet",
                "-p",
                "cargo-qdev",
                "--bin",
                "cargo-qdev",
            ]),
            "cargo build -p cargo-qdev",
        )?;
        Ok(target_dir().join("debug").join("cargo-qdev"))
    })
}

/// A copy of `module` whose build record claims QEMU `version` instead
/// (same length), to test the launcher's refusal.
pub fn with_claimed_version(module: &Path, version: &str) -> Result<PathBuf> {
    let bytes = std::fs::read(module).map_err(|e| HarnessError::Usage(e.to_string()))?;
    let info = qdev_tool::modinfo::ModuleInfo::find(&bytes)
        .ok_or_else(|| HarnessError::Usage(format!("{} has no module record", module.display())))?;
    let from = format!("qemu={};", info.qemu_version);
    let to = format!("qemu={version};");
    assert_eq!(
        from.len(),
        to.len(),
        "the claimed version must have the same length"
    );
    let pos = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .expect("record found above");
    let mut patched = bytes.clone();
    patched[pos..pos + to.len()].copy_from_slice(to.as_bytes());
    let out = target_dir().join(format!(
        "claims-{version}-{}",
        module.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&out, patched).map_err(|e| HarnessError::Usage(e.to_string()))?;
    Ok(out)
}

/// An SDK that claims QEMU `version` but is otherwise the installed one:
/// its headers are links to the real SDK's, its manifest says `version`.
/// Modules built against it are "built for another QEMU".
pub fn fake_sdk(version: &str) -> Result<PathBuf> {
    let real = qdev_tool::sdk::locate().map_err(|e| HarnessError::Usage(e.to_string()))?;
    let root = target_dir().join(format!("fake-sdk-{version}"));
    let io =
        |e: std::io::Error| HarnessError::Usage(format!("fake SDK in {}: {e}", root.display()));
    std::fs::create_dir_all(&root).map_err(io)?;
    for dir in ["src", "build", "include", "lib"] {
        let link = root.join(dir);
        if !link.exists() {
            std::os::unix::fs::symlink(real.root.join(dir), &link).map_err(io)?;
        }
    }
    let mut manifest = real.manifest.clone();
    manifest.qemu_version = version.to_string();
    std::fs::write(root.join("manifest.toml"), manifest.to_toml()).map_err(io)?;
    Ok(root)
}

/// The module of `package` built against the SDK at `sdk` (in a target
/// directory of its own, so the workspace's build is untouched).
pub fn rust_module_with_sdk(package: &str, sdk: &Path) -> Result<PathBuf> {
    let key = format!("{package}@{}", sdk.display());
    once(&key, || {
        let target = target_dir().join(format!(
            "with-{}",
            sdk.file_name().unwrap_or_default().to_string_lossy()
        ));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run(
            Command::new(cargo)
                .current_dir(workspace_root())
                .args(["build", "--quiet", "-p", package])
                .env("QDEV_SDK", sdk)
                .env("CARGO_TARGET_DIR", &target),
            &format!("cargo build -p {package} with QDEV_SDK={}", sdk.display()),
        )?;
        Ok(target
            .join("debug")
            .join(format!("lib{}.so", package.replace('-', "_"))))
    })
}

/// The version of Debian bookworm's QEMU 7.2 packages (`qemu-system-x86`,
/// e.g. `1:7.2+dfsg-7+deb12u18+b3`, which its binary prints) whose source
/// apt can fetch (scripts/bootstrap.sh adds the bookworm `deb-src` entry).
/// Bookworm's updates change it, so it is looked up, not written down.
pub fn bookworm_qemu_version() -> Result<String> {
    let apt = |args: &[&str]| -> Result<String> {
        let out = Command::new("apt-cache")
            .args(args)
            .output()
            .map_err(|e| HarnessError::Usage(format!("cannot run apt-cache: {e}")))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let sources = apt(&["showsrc", "qemu"])?;
    let sources: Vec<&str> = sources
        .lines()
        .filter_map(|l| l.strip_prefix("Version: "))
        .map(str::trim)
        .collect();
    let binaries = apt(&["madison", "qemu-system-x86"])?;
    // The highest `+deb12uN` (then binNMU `+bN`) with a fetchable source.
    let rank = |v: &str| -> (u32, u32) {
        let source = qdev_tool::sdk::source_version(v);
        let update = source
            .rsplit_once("deb12u")
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0);
        let binnmu = v
            .strip_prefix(source)
            .and_then(|b| b.strip_prefix("+b"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        (update, binnmu)
    };
    binaries
        .lines()
        .filter_map(|l| l.split('|').nth(1))
        .map(str::trim)
        .filter(|v| v.starts_with("1:7.2+"))
        .filter(|v| sources.contains(&qdev_tool::sdk::source_version(v)))
        .max_by_key(|v| rank(v))
        .map(str::to_string)
        .ok_or_else(|| {
            HarnessError::Usage(
                "apt knows no bookworm qemu-system-x86 7.2 with its source: add `deb-src` for \
                 bookworm (scripts/bootstrap.sh does) and run apt-get update"
                    .into(),
            )
        })
}

/// Debian bookworm's own QEMU 7.2 (`qemu-system-x86` and
/// `qemu-system-common` of [`bookworm_qemu_version`], fetched with
/// `apt-get download` and unpacked with `dpkg -x` into the target
/// directory, not installed): the QEMU that modules built against the 7.2
/// SDK are for.
pub struct BookwormQemu {
    /// `.../usr/bin/qemu-system-x86_64`.
    pub binary: PathBuf,
    /// Its module directory (TCG is a module there): `QEMU_MODULE_DIR`.
    pub module_dir: PathBuf,
}

/// Fetches and unpacks [`BookwormQemu`] on first use (13 MB of packages).
pub fn bookworm_qemu() -> Result<BookwormQemu> {
    let root = once("bookworm-qemu", || {
        let version = bookworm_qemu_version()?;
        let dir = target_dir().join(format!(
            "bookworm-qemu-{}",
            version.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_")
        ));
        let root = dir.join("root");
        if root.join("usr/bin/qemu-system-x86_64").is_file() {
            return Ok(root);
        }
        let debs = dir.join("debs");
        let io = |e: std::io::Error| HarnessError::Usage(format!("{}: {e}", dir.display()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&debs).map_err(io)?;
        run(
            Command::new("apt-get")
                .current_dir(&debs)
                .arg("download")
                .arg(format!("qemu-system-x86={version}"))
                .arg(format!("qemu-system-common={version}")),
            &format!("apt-get download qemu-system-x86={version}"),
        )?;
        for deb in std::fs::read_dir(&debs).map_err(io)? {
            let deb = deb.map_err(io)?.path();
            run(
                Command::new("dpkg").arg("-x").arg(&deb).arg(&root),
                &format!("dpkg -x {}", deb.display()),
            )?;
        }
        Ok(root)
    })?;
    Ok(BookwormQemu {
        binary: root.join("usr/bin/qemu-system-x86_64"),
        module_dir: root.join("usr/lib/x86_64-linux-gnu/qemu"),
    })
}

/// The root of the SDK for bookworm's QEMU 7.2, built from Debian's source
/// package with `cargo qdev sdk --debian-version` when it is not in the
/// cache yet (about 20 s and a 24 MB download).
pub fn bookworm_sdk() -> Result<PathBuf> {
    // Built before `once` takes its lock, which is not reentrant.
    let tool = tool_binary()?;
    once("bookworm-sdk", || {
        let version = bookworm_qemu_version()?;
        let out = Command::new(tool)
            .args(["sdk", "--debian-version", &version, "--print-root"])
            .output()
            .map_err(|e| HarnessError::Usage(format!("cannot run cargo qdev sdk: {e}")))?;
        if !out.status.success() {
            return Err(HarnessError::Usage(format!(
                "cargo qdev sdk --debian-version {version} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    })
}

/// A minimal C device (one sysbus type, `qdev-c-probe`) that compiles
/// against any QEMU's headers.
const C_PROBE: &str = r#"/* A device type and nothing else: its headers are the SDK's. */
#include "qemu/osdep.h"
#include "qemu/module.h"
#include "hw/sysbus.h"

static const TypeInfo probe_info = {
    .name = "qdev-c-probe",
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(SysBusDevice),
};

static void probe_register_types(void)
{
    type_register_static(&probe_info);
}

type_init(probe_register_types)
"#;

/// A C module built as docs/sdk.md says, `gcc $(pkg-config --cflags
/// qemu-device) -shared`, with the SDK at `sdk`: it carries that SDK's
/// build record.
pub fn c_module_with_sdk(sdk: &Path) -> Result<PathBuf> {
    let key = format!("c-probe@{}", sdk.display());
    once(&key, || {
        let dir = target_dir().join(format!(
            "c-probe-{}",
            sdk.file_name().unwrap_or_default().to_string_lossy()
        ));
        let io = |e: std::io::Error| HarnessError::Usage(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(&dir).map_err(io)?;
        let src = dir.join("probe.c");
        std::fs::write(&src, C_PROBE).map_err(io)?;
        let so = dir.join("qdev-c-probe.so");
        run(
            Command::new("sh")
                .arg("-c")
                .arg(
                    "gcc -Wall -Werror $(pkg-config --cflags qemu-device) -shared \"$1\" -o \"$2\"",
                )
                .arg("sh")
                .arg(&src)
                .arg(&so)
                .env("PKG_CONFIG_PATH", sdk.join("lib").join("pkgconfig")),
            &format!("gcc probe.c with the SDK in {}", sdk.display()),
        )?;
        Ok(so)
    })
}
