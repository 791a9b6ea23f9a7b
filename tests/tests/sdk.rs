// SPDX-License-Identifier: GPL-2.0-or-later
//! The SDK: built for exactly the installed QEMU, usable from pkg-config.

use std::process::Command;

use qdev_tests::modules::{bookworm_qemu_version, bookworm_sdk, sdk_pkg_config_dir, tool_binary};

fn installed_qemu_banner() -> String {
    let out = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn cargo_qdev_sdk_reports_the_installed_qemu_version() {
    let out = Command::new(tool_binary().unwrap())
        .arg("sdk")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap();
    // "QEMU emulator version 10.0.2 (Debian ...)" vs "QEMU device SDK for QEMU 10.0.2 (Debian ...)"
    let installed = installed_qemu_banner();
    let version = installed.strip_prefix("QEMU emulator version ").unwrap();
    assert_eq!(first, format!("QEMU device SDK for QEMU {version}"));
    // Already installed: a second run builds nothing.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("==> building"), "{stderr}");
}

#[test]
fn pkg_config_gives_flags_that_compile_a_c_device() {
    let pc = sdk_pkg_config_dir().unwrap();
    let out = Command::new("pkg-config")
        .args(["--cflags", "qemu-device"])
        .env("PKG_CONFIG_PATH", &pc)
        .output()
        .unwrap();
    assert!(out.status.success());
    let cflags = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(cflags.contains("/src/include"), "{cflags}");
    assert!(cflags.contains("glib-2.0"), "{cflags}");

    let dir = std::env::temp_dir().join(format!("qdev-sdk-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("dev.c");
    std::fs::write(
        &src,
        "#include \"qemu/osdep.h\"\n#include \"hw/sysbus.h\"\n\
         int qdev_probe(void) { return (int)sizeof(SysBusDevice); }\n",
    )
    .unwrap();
    let so = dir.join("dev.so");
    let status = Command::new("sh")
        .arg("-c")
        .arg("gcc $(pkg-config --cflags qemu-device) -shared \"$1\" -o \"$2\"")
        .arg("sh")
        .arg(&src)
        .arg(&so)
        .env("PKG_CONFIG_PATH", &pc)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the documented gcc command line builds a module"
    );
    let info = qdev_tool::modinfo::ModuleInfo::read(&so)
        .unwrap()
        .expect("the record is embedded");
    let installed = installed_qemu_banner();
    assert!(
        installed.contains(&info.describe()),
        "{installed} vs {}",
        info.describe()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cargo_qdev_sdk_builds_bookworms_qemu_7_2_from_debian_source() {
    let debian = bookworm_qemu_version().unwrap();
    let root = bookworm_sdk().unwrap();
    // A second run finds it in the cache and says what it is.
    let out = Command::new(tool_binary().unwrap())
        .args(["sdk", "--debian-version", &debian])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("==> building"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap();
    // Debian's patches make 7.2.0 the stable release it ships (7.2.N).
    assert!(
        first.starts_with("QEMU device SDK for QEMU 7.2."),
        "{first}"
    );
    assert!(first.ends_with(&format!(" (Debian {debian})")), "{first}");
    assert!(stdout.contains(&format!("root:       {}", root.display())));
    let manifest = qdev_tool::sdk::Sdk::open(&root).unwrap().manifest;
    assert_eq!(manifest.distro_version, debian);
    assert_ne!(
        manifest.qemu_version, "7.2.0",
        "Debian's patches were applied"
    );
    // 7.2's own header names (include/sysemu/), not 10.0's.
    assert!(root.join("src/include/sysemu/dma.h").is_file());
}
