// SPDX-License-Identifier: GPL-2.0-or-later
//! A Rust module built for another QEMU refuses to load inside QEMU and says
//! why, even when nobody checked it before starting QEMU: one built against
//! a fake SDK that only claims another version, and one genuinely built
//! against the SDK of Debian bookworm's QEMU 7.2.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use qdev_tests::modules::{
    bookworm_qemu, bookworm_qemu_version, bookworm_sdk, fake_sdk, launcher_refusal,
    rust_module_with_sdk, tool_binary,
};
use qdev_tests::{LaunchError, Qemu};
use qdev_tool::modinfo::ModuleInfo;

#[test]
fn module_built_for_another_qemu_refuses_to_load_and_says_why() {
    let sdk = fake_sdk("10.0.9").unwrap();
    let module = rust_module_with_sdk("qdev-baseline", &sdk).unwrap();

    // The launcher reads the module's record and refuses before QEMU starts.
    let Err(e) = Qemu::builder().module(&module).start() else {
        panic!("the launcher accepted a module built for 10.0.9");
    };
    assert!(
        matches!(e.launch_error(), Some(LaunchError::Version { .. })),
        "{e}"
    );

    // Preloaded by hand (no check), the module itself stops QEMU.
    let Err(e) = Qemu::builder()
        .module(&module)
        .no_check()
        .device("qdev-baseline")
        .start()
    else {
        panic!("QEMU ran a module built for 10.0.9");
    };
    let stderr = e.stderr().unwrap_or_default();
    assert!(
        stderr.contains(
            "qdev: module with qdev-baseline: refusing to load: built for QEMU 10.0.9 (Debian"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("but this is QEMU 10.0.2 (Debian"),
        "{stderr}"
    );
}

#[test]
fn module_built_against_bookworms_qemu_7_2_refuses_to_load_into_10_0_2() {
    let debian = bookworm_qemu_version().unwrap();
    let module = rust_module_with_sdk("qdev-baseline", &bookworm_sdk().unwrap()).unwrap();
    let info = ModuleInfo::read(&module)
        .unwrap()
        .expect("the module has a record");
    assert!(info.qemu_version.starts_with("7.2."), "{info}");
    assert_eq!(info.package, format!("Debian {debian}"));
    let built_for = format!("QEMU {} (Debian {debian})", info.qemu_version);

    // Through the launcher: refused before QEMU starts, both versions named.
    let stderr = launcher_refusal(&module);
    assert!(
        stderr.contains(&format!("was built for {built_for}, but ")),
        "{stderr}"
    );
    assert!(stderr.contains(" is QEMU 10.0.2 (Debian "), "{stderr}");

    // The validator says so too, and names the 7.2 functions 10.0.2 lacks.
    let out = Command::new(tool_binary().unwrap())
        .arg("check")
        .arg(&module)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "fits     NO: {} was built for {built_for}",
            module.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing: device_class_set_props, qemu_mutex_iothread_locked"),
        "{stdout}"
    );

    // Preloaded by hand: the module stops QEMU at QOM init, before it
    // registers anything or resolves the 7.2 functions 10.0.2 lacks; an
    // exit status, not a signal. (`timeout` ends a QEMU that would run.)
    let out = Command::new("timeout")
        .args(["60", "env"])
        .arg(format!("LD_PRELOAD={}", module.display()))
        .args([
            "qemu-system-x86_64",
            "-M",
            "none",
            "-display",
            "none",
            "-nodefaults",
            "-device",
            "qdev-baseline",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), None, "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "qdev: module with qdev-baseline: refusing to load: built for {built_for}, \
             but this is QEMU 10.0.2 (Debian "
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("lacks a function"), "{stderr}");
}

/// The control for the test above: the same module is a working 7.2
/// module. In bookworm's own QEMU 7.2 (whose version it was built for) the
/// launcher accepts it and the device answers MMIO.
#[test]
fn the_same_7_2_module_runs_in_bookworms_qemu_7_2() {
    let bookworm = bookworm_qemu().unwrap();
    let module = rust_module_with_sdk("qdev-baseline", &bookworm_sdk().unwrap()).unwrap();
    let qemu = Qemu::builder()
        .binary(&bookworm.binary)
        .env("QEMU_MODULE_DIR", &bookworm.module_dir)
        .module(&module)
        .machine("q35")
        .device("qdev-baseline")
        .start()
        .unwrap();
    let version = qemu.qmp("query-version", None).unwrap();
    assert_eq!(version["qemu"]["major"].as_u64(), Some(7));
    assert_eq!(version["qemu"]["minor"].as_u64(), Some(2));
    let dev = qemu
        .pci_find(0x1234, 0xbacf)
        .unwrap()
        .expect("qdev-baseline is on bus 0");
    let bar = qemu.pci_map_bar(&dev, 0, 0xe000_0000).unwrap();
    assert_eq!(bar.readl(0x00).unwrap(), 0x7164_6576, "ID reads \"qdev\"");
    bar.writel(0x04, 0x1234_5678).unwrap();
    assert_eq!(bar.readl(0x04).unwrap(), 0x1234_5678, "SCRATCH");
}
