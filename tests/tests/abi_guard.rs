// SPDX-License-Identifier: GPL-2.0-or-later
//! A Rust module built for another QEMU refuses to load inside QEMU and says
//! why, even when nobody checked it before starting QEMU.

use qdev_tests::modules::{fake_sdk, rust_module_with_sdk};
use qdev_tests::{LaunchError, Qemu};

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
