// SPDX-License-Identifier: GPL-2.0-or-later
//! The QEMU backend: everything that touches QEMU's C API.
//!
//! A module is preloaded into the stock QEMU binary. Each device's
//! constructor calls [`register`]; the first call hands QEMU our init
//! functions with `register_module_init`, so QEMU's own `main` calls them
//! at the right phases:
//! - `MODULE_INIT_QOM`: resolve QEMU's functions, refuse to run under a QEMU
//!   other than the SDK's, register the QOM types;
//! - `MODULE_INIT_MIGRATION` (right after, once every type of QEMU exists):
//!   allow the sysbus devices on every machine (`-device` on any board).
//!
//! In a test binary there is no QEMU: [`register`] sees that
//! `register_module_init` does not resolve and does nothing.

mod callbacks;
mod instance;
mod migration;
mod props;
mod realize;
mod services;
mod trace;

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use qdev_sys as sys;

use crate::device::{Device, DeviceDescriptor};
use crate::log::LogClass;

pub(crate) use services::{
    chr_accept_input, chr_connected, chr_write, clock_ns, dma_rw, msi_mode, msi_notify,
    pci_irq_level, set_pci_irq, system_request, timer_arm,
};

static SYMBOLS: OnceLock<sys::QemuSymbols> = OnceLock::new();

const fn info_bytes<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let b = s.as_bytes();
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// The build record the launcher reads before loading the module (see
/// `qdev_tool::modinfo`): which QEMU, package and targets it is for.
#[used]
#[link_section = ".qdev_module_info"]
static MODULE_INFO: [u8; sys::MODULE_INFO.len()] = info_bytes(sys::MODULE_INFO);

/// The resolved QEMU functions. Only called after the QOM init succeeded,
/// which is the only way QEMU can call into a device.
pub(crate) fn syms() -> &'static sys::QemuSymbols {
    SYMBOLS
        .get()
        .expect("qdev: QEMU call before the module was initialized")
}

fn this_process() -> libloading::Library {
    libloading::os::unix::Library::this().into()
}

/// The address of a data symbol exported by QEMU (or a library it loaded).
pub(crate) fn data_symbol<T>(name: &CStr) -> Option<*mut T> {
    let lib = this_process();
    // SAFETY: the symbol is looked up, not called; a `*mut T` symbol is the
    // address of the variable, which lives as long as the process.
    unsafe { lib.get::<*mut T>(name.to_bytes_with_nul()).ok().map(|s| *s) }
}

/// Whether this process is a QEMU that can take our types.
fn in_qemu() -> bool {
    data_symbol::<c_void>(c"register_module_init").is_some()
}

/// Type registrations waiting for QEMU's QOM init phase.
static PENDING: Mutex<Vec<Registration>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
struct Registration {
    name: &'static str,
    descriptor: &'static DeviceDescriptor,
    register: fn(),
    late: fn(),
}

/// Registers device type `T` with QEMU. Called by the constructor that
/// `#[qemu_device]` generates; does nothing outside QEMU.
pub fn register<T: Device>() {
    // Referenced, so the linker keeps the record in every module.
    std::hint::black_box(&MODULE_INFO);
    if !in_qemu() {
        return;
    }
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if pending.is_empty() {
        let lib = this_process();
        // SAFETY: `register_module_init` has this signature in every QEMU
        // with module support; it only appends to a list, which is safe
        // from a constructor.
        unsafe {
            if let Ok(f) = lib
                .get::<unsafe extern "C" fn(Option<unsafe extern "C" fn()>, sys::module_init_type)>(
                    b"register_module_init\0",
                )
            {
                f(Some(qom_init), sys::module_init_type::MODULE_INIT_QOM);
                f(
                    Some(late_init),
                    sys::module_init_type::MODULE_INIT_MIGRATION,
                );
            }
        }
    }
    pending.push(Registration {
        name: T::DESCRIPTOR.name,
        descriptor: T::DESCRIPTOR,
        register: instance::register_type::<T>,
        late: instance::late_init::<T>,
    });
}

fn fatal(msg: fmt::Arguments<'_>) -> ! {
    let names: Vec<&str> = PENDING
        .lock()
        .map(|p| p.iter().map(|r| r.name).collect())
        .unwrap_or_default();
    eprintln!("qdev: module with {}: {msg}", names.join(", "));
    std::process::exit(1);
}

/// With `QDEV_DESCRIBE` set, prints what the module holds and what it needs
/// of QEMU, then exits (see `crate::describe`).
fn describe_and_exit() -> ! {
    let pending = PENDING.lock().map(|p| p.clone()).unwrap_or_default();
    let devices: Vec<&DeviceDescriptor> = pending.iter().map(|r| r.descriptor).collect();
    let mut out = format!("module {}\n", sys::MODULE_INFO.trim_end_matches('\0'));
    let lib = this_process();
    for name in sys::SYMBOLS {
        let cname = format!("{name}\0");
        // SAFETY: looked up, not called.
        let found = unsafe { lib.get::<*const c_void>(cname.as_bytes()).is_ok() };
        out.push_str(&format!(
            "symbol {name} {}\n",
            if found { "found" } else { "missing" }
        ));
    }
    out.push_str(&crate::describe::describe(&devices));
    print!("{out}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

unsafe extern "C" fn qom_init() {
    if std::env::var_os(crate::describe::DESCRIBE_ENV).is_some() {
        describe_and_exit();
    }
    // The version before the functions: a module built for another QEMU
    // may need functions this one lacks, and the version is the reason.
    check_version();
    // SAFETY: resolving symbols in our own process; `from_library` checks
    // every name and fails on the first one QEMU does not export.
    let symbols = unsafe { sys::QemuSymbols::from_library(this_process()) };
    let symbols = match symbols {
        Ok(s) => s,
        Err(e) => fatal(format_args!(
            "this QEMU lacks a function the module needs ({e}); \
             the module was built for QEMU {} ({})",
            sys::SDK_QEMU_VERSION,
            sys::SDK_QEMU_PACKAGE
        )),
    };
    SYMBOLS.get_or_init(|| symbols);
    crate::log::set_in_qemu();
    trace::register();
    let pending = PENDING.lock().map(|p| p.clone()).unwrap_or_default();
    for r in pending {
        (r.register)();
    }
}

unsafe extern "C" fn late_init() {
    if SYMBOLS.get().is_none() {
        return;
    }
    let pending = PENDING.lock().map(|p| p.clone()).unwrap_or_default();
    for r in pending {
        (r.late)();
    }
}

/// Refuses to run in a QEMU other than the one the SDK was made from:
/// struct layouts and inline functions in the headers are that build's.
/// Resolves its two functions itself, before [`syms`] exists: their
/// signatures and `VersionInfo` are the same in every QEMU with modules.
fn check_version() {
    let lib = this_process();
    // SAFETY: QEMU's `qmp_query_version` and `qapi_free_VersionInfo` have
    // these signatures (bindgen's, from the SDK).
    let (query, free) = unsafe {
        let query = lib.get::<unsafe extern "C" fn(*mut *mut sys::Error) -> *mut sys::VersionInfo>(
            b"qmp_query_version\0",
        );
        let free =
            lib.get::<unsafe extern "C" fn(*mut sys::VersionInfo)>(b"qapi_free_VersionInfo\0");
        match (query, free) {
            (Ok(q), Ok(f)) => (*q, *f),
            _ => fatal(format_args!("cannot query QEMU's version")),
        }
    };
    let mut err: *mut sys::Error = std::ptr::null_mut();
    // SAFETY: `qmp_query_version` only formats compile-time constants into
    // a freshly allocated VersionInfo, which we free below.
    let info = unsafe { query(&mut err) };
    if info.is_null() {
        fatal(format_args!("cannot query QEMU's version"));
    }
    // SAFETY: `info` is a valid VersionInfo; `qemu` is always set and
    // `package` is a NUL-terminated string (possibly empty).
    let (running, package) = unsafe {
        let t = &*(*info).qemu;
        let package = CStr::from_ptr((*info).package)
            .to_string_lossy()
            .trim()
            .to_string();
        (format!("{}.{}.{}", t.major, t.minor, t.micro), package)
    };
    // SAFETY: allocated by qmp_query_version, not used after this.
    unsafe { free(info) };
    if running != sys::SDK_QEMU_VERSION || package != sys::SDK_QEMU_PACKAGE {
        fatal(format_args!(
            "refusing to load: built for QEMU {} ({}), but this is QEMU {} ({}); \
             rebuild the module with an SDK for this QEMU (`cargo qdev sdk`)",
            sys::SDK_QEMU_VERSION,
            sys::SDK_QEMU_PACKAGE,
            running,
            package
        ));
    }
}

/// A `'static` C string for QEMU (type names, property names): QOM keeps
/// the pointers for the life of the process.
pub(crate) fn leak_cstr(s: &str) -> *const c_char {
    CString::new(s)
        .expect("names have no NUL bytes")
        .into_raw()
        .cast_const()
}

/// Writes a log message if QEMU's `-d` mask has its class.
pub(crate) fn log(class: LogClass, args: fmt::Arguments<'_>) {
    static LOGLEVEL: OnceLock<usize> = OnceLock::new();
    let level =
        *LOGLEVEL.get_or_init(|| data_symbol::<c_int>(c"qemu_loglevel").map_or(0, |p| p as usize));
    if level == 0 {
        return;
    }
    let mask = match class {
        LogClass::GuestError => sys::LOG_GUEST_ERROR,
        LogClass::Unimplemented => sys::LOG_UNIMP,
    };
    // SAFETY: `level` is the address of QEMU's `int qemu_loglevel`, which
    // lives for the process; QEMU reads it unlocked the same way.
    let enabled = unsafe { *(level as *const c_int) } as u32 & mask != 0;
    if !enabled {
        return;
    }
    let mut text = args.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let text = CString::new(text.replace('\0', "\\0")).expect("NULs replaced");
    // SAFETY: "%s" with one NUL-terminated string argument.
    unsafe { (syms().qemu_log)(c"%s".as_ptr(), text.as_ptr()) };
}

/// Drives the `qemu_irq` stored in `cell` (connected by the board, or NULL).
pub(crate) fn set_irq(cell: *const sys::qemu_irq, level: bool) {
    // SAFETY: `cell` points into a device instance that outlives its lines;
    // QEMU's qemu_set_irq accepts a NULL (unconnected) irq.
    unsafe { syms().qemu_set_irq(*cell, c_int::from(level)) }
}

/// Ends QEMU after a panic in a device's code, naming the device and the
/// hook, with exit status 1: a device whose own code failed cannot be
/// trusted to go on, and unwinding into QEMU's C frames is not allowed.
pub(crate) fn panicked(device: &str, hook: &str, payload: &(dyn std::any::Any + Send)) -> ! {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string());
    let msg = CString::new(format!(
        "qdev: device {device} panicked in its {hook} hook ({what}); stopping QEMU"
    ))
    .unwrap_or_default();
    // SAFETY: "%s" with one NUL-terminated string.
    unsafe { (syms().error_report)(c"%s".as_ptr(), msg.as_ptr()) };
    std::process::exit(1);
}

/// Debug builds: checks that QEMU entered the device with its big lock
/// (the BQL) held, as every device callback must be; stops QEMU naming the
/// device and hook when it was not. Device state is touched only from
/// these entries (device handles are neither `Send` nor `Sync`), so this
/// covers every access to it. Release builds skip the check.
#[inline(always)]
pub(crate) fn assert_bql(device: &str, hook: &str) {
    #[cfg(debug_assertions)]
    {
        // SAFETY: bql_locked only reads a thread-local flag.
        if !unsafe { syms().bql_locked() } {
            bql_not_held(device, hook);
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = (device, hook);
}

#[cfg(debug_assertions)]
#[cold]
#[inline(never)]
fn bql_not_held(device: &str, hook: &str) -> ! {
    let msg = CString::new(format!(
        "qdev: device {device} entered in its {hook} hook without QEMU's big lock held; stopping QEMU"
    ))
    .unwrap_or_default();
    // SAFETY: "%s" with one NUL-terminated string.
    unsafe { (syms().error_report)(c"%s".as_ptr(), msg.as_ptr()) };
    std::process::abort();
}

/// Sets `*errp` to an error with `msg`, as `error_setg` does.
pub(crate) fn set_error(errp: *mut *mut sys::Error, msg: &str) {
    let msg = CString::new(msg.replace('\0', "\\0")).expect("NULs replaced");
    // SAFETY: errp is the Error** QEMU passed us; "%s" with one string.
    unsafe {
        (syms().error_setg_internal)(
            errp,
            c"qdev-runtime".as_ptr(),
            0,
            c"realize".as_ptr(),
            c"%s".as_ptr(),
            msg.as_ptr(),
        )
    }
}
