// SPDX-License-Identifier: GPL-2.0-or-later
//! The launcher refuses modules built for another QEMU before QEMU starts,
//! naming both sides, and passes QEMU's exit status through.

use std::process::Command;

use qdev_tests::modules::{
    bookworm_qemu_version, bookworm_sdk, c_baseline, c_module_with_sdk, launcher_refusal,
    rust_module, tool_binary, with_claimed_version,
};
use qdev_tests::{LaunchError, Qemu};

#[test]
fn module_for_another_version_is_refused_by_the_harness() {
    let module = with_claimed_version(&rust_module("qdev-baseline").unwrap(), "10.0.9").unwrap();
    let Err(err) = Qemu::builder().module(&module).start() else {
        panic!("the launch is not refused");
    };
    match err.launch_error() {
        Some(LaunchError::Version {
            built_for, qemu, ..
        }) => {
            assert!(built_for.starts_with("10.0.9"), "{built_for}");
            assert!(qemu.starts_with("10.0.2"), "{qemu}");
        }
        other => panic!("expected a version refusal, got {other:?} ({err})"),
    }
}

#[test]
fn cargo_qdev_run_refuses_another_version_before_qemu_starts() {
    let module = with_claimed_version(&c_baseline().unwrap(), "10.0.9").unwrap();
    let stderr = launcher_refusal(&module);
    assert!(stderr.contains("was built for QEMU 10.0.9"), "{stderr}");
    assert!(stderr.contains("is QEMU 10.0.2"), "{stderr}");
}

#[test]
fn cargo_qdev_run_refuses_a_c_module_built_with_the_7_2_sdk() {
    let debian = bookworm_qemu_version().unwrap();
    let module = c_module_with_sdk(&bookworm_sdk().unwrap()).unwrap();
    let stderr = launcher_refusal(&module);
    assert!(
        stderr.contains("qdev-c-probe.so was built for QEMU 7.2.")
            && stderr.contains(&format!(" (Debian {debian}), but ")),
        "{stderr}"
    );
    assert!(stderr.contains(" is QEMU 10.0.2 (Debian "), "{stderr}");
}

#[test]
fn cargo_qdev_run_refuses_a_binary_of_another_target() {
    let out = Command::new(tool_binary().unwrap())
        .args(["run", "--qemu", "qemu-system-arm", "--module"])
        .arg(rust_module("qdev-baseline").unwrap())
        .args(["--", "-M", "virt", "-display", "none", "-S"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("configured for the targets x86_64,aarch64, not for arm"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_is_not_a_module_is_refused() {
    let out = Command::new(tool_binary().unwrap())
        .args(["run", "--module", "/bin/true", "--", "-M", "none"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("carries no qdev module information"),
        "{stderr}"
    );
}

#[test]
fn cargo_qdev_run_passes_qemus_exit_status_through() {
    // QEMU rejects an unknown option with exit status 1 ...
    let out = Command::new(tool_binary().unwrap())
        .args(["run", "--module"])
        .arg(c_baseline().unwrap())
        .args(["--", "-no-such-option"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid option"));
    // ... and lists devices, module included, with status 0.
    let out = Command::new(tool_binary().unwrap())
        .args(["run", "--module"])
        .arg(c_baseline().unwrap())
        .arg("--module")
        .arg(rust_module("qdev-baseline").unwrap())
        .args(["--", "-device", "help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("name \"qdev-c-baseline\""), "{stdout}");
    assert!(stdout.contains("name \"qdev-baseline\""), "{stdout}");
}

#[test]
fn print_command_shows_the_plain_equivalent() {
    let module = c_baseline().unwrap();
    let out = Command::new(tool_binary().unwrap())
        .args(["run", "--print-command", "--module"])
        .arg(&module)
        .args(["--", "-M", "pc"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with(&format!(
            "env LD_PRELOAD={} ",
            module.canonicalize().unwrap().display()
        )),
        "{line}"
    );
    assert!(
        line.trim_end().ends_with("qemu-system-x86_64 -M pc"),
        "{line}"
    );
}
