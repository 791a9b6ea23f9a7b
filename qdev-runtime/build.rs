// SPDX-License-Identifier: GPL-2.0-or-later
//! Passes on which QEMU API the SDK has (`cfg(qemu_api = "7.2")` for
//! bookworm's QEMU 7.2), as qdev-sys found it: the runtime is written for
//! QEMU 10.0 and keeps a few `cfg`'d alternatives so that a module still
//! builds against the 7.2 SDK (and then refuses to load into 10.0).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_QEMU_DEVICE_QEMU_API");
    let api = std::env::var("DEP_QEMU_DEVICE_QEMU_API").unwrap_or_default();
    println!("cargo:rustc-check-cfg=cfg(qemu_api, values(\"7.2\", \"10.0\", {api:?}))");
    if !api.is_empty() {
        println!("cargo:rustc-cfg=qemu_api={api:?}");
    }
}
