// SPDX-License-Identifier: GPL-2.0-or-later
//! Generates the bindings from the qdev SDK of the QEMU the module is for.
//!
//! The SDK is found through `$QDEV_SDK`, pkg-config's `qemu-device`, or the
//! cache entry for the installed QEMU (see `qdev_tool::sdk::locate`).

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// QEMU functions the runtime calls. They are resolved in the running QEMU
/// when the module initializes, and all must be exported by the binary.
const FUNCTIONS: &[&str] = &[
    // module and version
    "register_module_init",
    "qmp_query_version",
    "qapi_free_VersionInfo",
    // QOM
    "type_register_static",
    "object_class_dynamic_cast_assert",
    "object_dynamic_cast_assert",
    "object_get_typename",
    "object_class_get_list",
    "object_class_get_name",
    "object_class_by_name",
    "object_class_property_set_description",
    "object_resolve_path",
    "object_get_canonical_path",
    // the big QEMU lock
    "bql_locked",
    // qdev, properties, reset, GPIO lines
    "device_class_set_props_n",
    "device_class_set_legacy_reset",
    "device_class_set_parent_realize",
    "device_class_set_parent_unrealize",
    "resettable_class_set_parent_phases",
    "qdev_init_gpio_in",
    "qdev_init_gpio_in_named_with_opaque",
    "qdev_init_gpio_out",
    "qdev_init_gpio_out_named",
    "qdev_get_gpio_in",
    "qdev_get_gpio_in_named",
    "qdev_connect_gpio_out",
    "qdev_connect_gpio_out_named",
    "qdev_get_machine",
    "qdev_init_clock_in",
    "machine_class_allow_dynamic_sysbus_dev",
    // sysbus
    "sysbus_init_mmio",
    "sysbus_init_irq",
    "sysbus_mmio_map",
    "sysbus_connect_irq",
    "sysbus_mmio_get_region",
    // memory API and DMA
    "memory_region_init_io",
    "memory_region_add_subregion",
    "memory_region_add_subregion_overlap",
    "memory_region_del_subregion",
    "memory_region_size",
    "memory_region_find",
    "memory_region_unref",
    "memory_region_name",
    "get_system_memory",
    "get_system_io",
    "address_space_rw",
    "address_space_read_full",
    "address_space_write",
    // IRQ lines
    "qemu_set_irq",
    "qemu_allocate_irq",
    // PCI
    "pci_register_bar",
    "pci_set_irq",
    "pci_device_iommu_address_space",
    "pci_default_read_config",
    "pci_default_write_config",
    "pci_add_capability",
    "pcie_endpoint_cap_init",
    "msi_init",
    "msi_uninit",
    "msi_notify",
    "msi_enabled",
    "msi_nr_vectors_allocated",
    "msix_init",
    "msix_init_exclusive_bar",
    "msix_uninit",
    "msix_uninit_exclusive_bar",
    "msix_notify",
    "msix_enabled",
    "msix_vector_use",
    "msix_vector_unuse",
    // chardev frontends
    "qemu_chr_fe_set_handlers",
    "qemu_chr_fe_write",
    "qemu_chr_fe_write_all",
    "qemu_chr_fe_accept_input",
    "qemu_chr_fe_backend_connected",
    "qemu_chr_fe_deinit",
    // timers
    "timer_init_full",
    "timer_mod",
    "timer_mod_ns",
    "timer_del",
    "timer_deinit",
    "timer_pending",
    "timer_expire_time_ns",
    "qemu_clock_get_ns",
    // logging and errors
    "qemu_log",
    "error_setg_internal",
    "error_free",
    "error_get_pretty",
    "error_propagate",
    "error_report",
    "warn_report",
    "vmstate_register_with_alias_id",
    // trace events
    "trace_event_register_group",
    // machine requests
    "watchdog_perform_action",
    "qemu_system_reset_request",
    "qemu_system_shutdown_request",
    // glib, loaded in QEMU's process
    "g_free",
    "g_malloc0",
    "g_strdup",
    "g_slist_free",
    // Older QEMUs' names of functions above (bookworm's 7.2; see
    // `src/compat_7_2.rs`). The 10.0 headers have neither (a macro and a
    // renamed function), so nothing is generated for them there.
    "device_class_set_props",
    "qemu_mutex_iothread_locked",
];

/// Types the runtime uses directly (functions pull in the rest).
const TYPES: &[&str] = &[
    "TypeInfo",
    "InterfaceInfo",
    "ObjectClass",
    "Object",
    "DeviceClass",
    "DeviceState",
    "SysBusDevice",
    "SysBusDeviceClass",
    "PCIDevice",
    "PCIDeviceClass",
    "MachineClass",
    "ResettableClass",
    "ResettablePhases",
    "ResetType",
    "Property",
    "PropertyInfo",
    "MemoryRegion",
    "MemoryRegionOps",
    "AddressSpace",
    "MemTxAttrs",
    "MemTxResult",
    "CharBackend",
    "QEMUChrEvent",
    "QEMUTimer",
    "QEMUClockType",
    "VMStateDescription",
    "VMStateField",
    "VMStateInfo",
    "VMStateFlags",
    "VersionInfo",
    "Error",
    "Clock",
    "module_init_type",
    "GSList",
    "TraceEvent",
    "VersionTriple",
    "device_endian",
    "DeviceCategory",
];

/// Constants and macros the runtime uses.
const VARS: &[&str] = &[
    "TYPE_.*",
    "RESET_TYPE_.*",
    "INTERFACE_.*",
    "PCI_.*",
    "LOG_GUEST_ERROR",
    "LOG_UNIMP",
    "MEMTX_.*",
    "QEMU_PKGVERSION",
    "QEMU_VERSION.*",
];

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=build.rs");
    for var in [
        "QDEV_SDK",
        "PKG_CONFIG_PATH",
        "QDEV_QEMU",
        "QDEV_CACHE",
        "XDG_CACHE_HOME",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let sdk = match qdev_tool::sdk::locate() {
        Ok(sdk) => sdk,
        Err(e) => {
            // Cargo shows a build script's stderr on failure; one clear line.
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "cargo:rerun-if-changed={}",
        sdk.root.join("manifest.toml").display()
    );
    println!("cargo:sdk_root={}", sdk.root.display());
    // A QEMU upgrade means another SDK: look again when the binary changes.
    if let Some(qemu) = qdev_tool::qemu::which(&qdev_tool::qemu::default_binary()) {
        println!("cargo:rerun-if-changed={}", qemu.display());
    }

    let mut clang_args = sdk.manifest.clang_args_for(&sdk.root);
    clang_args.extend(pkg_config_cflags("glib-2.0"));

    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&clang_args)
        .use_core()
        .derive_default(true)
        .derive_debug(false)
        .layout_tests(true)
        .generate_comments(false)
        .default_enum_style(bindgen::EnumVariation::Rust {
            non_exhaustive: false,
        })
        .prepend_enum_name(false)
        // Flags that are combined with `|` must not be a Rust enum.
        .bitfield_enum("^VMStateFlags$")
        .dynamic_library_name("QemuSymbols")
        .dynamic_link_require_all(true)
        .allowlist_recursively(true);
    for f in FUNCTIONS {
        builder = builder.allowlist_function(format!("^{f}$"));
    }
    for t in TYPES {
        builder = builder.allowlist_type(format!("^{t}$"));
    }
    for v in VARS {
        builder = builder.allowlist_var(format!("^{v}$"));
    }
    let api = qemu_api(&sdk.manifest.qemu_version);
    // `cfg(qemu_api = "7.2")` selects the alternatives for bookworm's QEMU
    // 7.2 API, here and (through `links` metadata) in qdev-runtime; the
    // runtime is written for QEMU 10.0.
    println!("cargo:rustc-check-cfg=cfg(qemu_api, values(\"7.2\", \"10.0\", {api:?}))");
    println!("cargo:rustc-cfg=qemu_api={api:?}");
    println!("cargo:qemu_api={api}");

    let bindings = builder.generate().unwrap_or_else(|e| {
        eprintln!(
            "error: bindgen failed on the SDK in {}: {e}",
            sdk.root.display()
        );
        std::process::exit(1);
    });
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let text = bindings.to_string();
    std::fs::write(out.join("bindings.rs"), &text).expect("writing bindings.rs");

    let info = sdk.manifest.module_info();
    // The functions this SDK's headers declare, which the module resolves.
    let symbols: Vec<String> = FUNCTIONS
        .iter()
        .filter(|f| {
            // `pub NAME: unsafe extern ...`, on one line or (a long
            // signature) broken after the colon.
            let field = format!("    pub {f}:");
            text.match_indices(&field).any(|(i, _)| {
                text[i + field.len()..]
                    .trim_start()
                    .starts_with("unsafe extern")
            })
        })
        .map(|f| format!("{f:?}"))
        .collect();
    std::fs::write(
        out.join("sdk.rs"),
        format!(
            "/// The record every module built from this SDK embeds (NUL-terminated).\n\
             pub const MODULE_INFO: &str = {:?};\n\
             /// The QEMU version the bindings are for.\n\
             pub const SDK_QEMU_VERSION: &str = {:?};\n\
             /// QEMU's package string for that build.\n\
             pub const SDK_QEMU_PACKAGE: &str = {:?};\n\
             /// The SDK the bindings were generated from.\n\
             pub const SDK_ROOT: &str = {:?};\n\
             /// The QEMU functions resolved at initialization.\n\
             pub const SYMBOLS: &[&str] = &[{}];\n",
            format!("{}\0", info.encode()),
            info.qemu_version,
            info.package,
            sdk.root.display().to_string(),
            symbols.join(", ")
        ),
    )
    .expect("writing sdk.rs");
}

/// `major.minor` of an upstream version (`7.2` for `7.2.22`).
fn qemu_api(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn pkg_config_cflags(pkg: &str) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(["--cflags", pkg])
        .output()
        .unwrap_or_else(|e| panic!("cannot run pkg-config for {pkg}: {e}"));
    if !out.status.success() {
        eprintln!(
            "error: pkg-config cannot find {pkg}; install its development files \
             (scripts/bootstrap.sh does)"
        );
        std::process::exit(1);
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
