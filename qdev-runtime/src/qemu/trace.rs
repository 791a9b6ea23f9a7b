// SPDX-License-Identifier: GPL-2.0-or-later
//! Register-access tracing with QEMU's own `-trace` option.
//!
//! The module registers two trace events with QEMU's trace subsystem, as
//! QEMU's own modules do: `qdev_mmio_read` and `qdev_mmio_write`. They are
//! off by default; `-trace 'qdev_mmio*'` (or `-trace qdev_mmio_write`, or
//! the `trace-event-set-state` QMP command at run time) turns them on, and
//! every register access of every qdev device is then logged:
//!
//! ```text
//! qdev_mmio_write qdev-gpio regs DATA_OUT offset 0x0 size 4 value 0x5a
//! ```
//!
//! Off, an access costs one load and a branch, like a C device's trace
//! point.

use std::ffi::CStr;
use std::sync::atomic::AtomicU16;

use qdev_sys as sys;

use super::syms;
use crate::device::DeviceDescriptor;

/// QEMU writes an event's dynamic state here (`TraceEvent.dstate`).
static READ_STATE: AtomicU16 = AtomicU16::new(0);
static WRITE_STATE: AtomicU16 = AtomicU16::new(0);

/// Registers the events (QOM init phase, before `-trace` is parsed).
pub(super) fn register() {
    let event = |name: &'static CStr, state: &'static AtomicU16| -> *mut sys::TraceEvent {
        Box::into_raw(Box::new(sys::TraceEvent {
            id: 0,
            // A 7.2 SDK's events have a vCPU id: TRACE_VCPU_EVENT_NONE.
            #[cfg(qemu_api = "7.2")]
            vcpu_id: u32::MAX,
            name: name.as_ptr(),
            sstate: true,
            dstate: state.as_ptr(),
        }))
    };
    let group: &'static mut [*mut sys::TraceEvent; 3] = Box::leak(Box::new([
        event(c"qdev_mmio_read", &READ_STATE),
        event(c"qdev_mmio_write", &WRITE_STATE),
        std::ptr::null_mut(),
    ]));
    // SAFETY: a NULL-terminated array of leaked events whose names and
    // state words live for the process, as QEMU's trace registry keeps them.
    unsafe { syms().trace_event_register_group(group.as_mut_ptr()) };
}

// QEMU changes an event's state from its main loop with the BQL held, and
// the MMIO callbacks run with the BQL held: the state word is read as a
// plain load, as C trace points read theirs, so that the load folds into
// the comparison.

/// Whether reads are traced.
#[inline(always)]
pub(crate) fn reads() -> bool {
    // SAFETY: a live static; no concurrent write (see above).
    unsafe { READ_STATE.as_ptr().read() != 0 }
}

/// Whether writes are traced.
#[inline(always)]
pub(crate) fn writes() -> bool {
    // SAFETY: as in `reads`.
    unsafe { WRITE_STATE.as_ptr().read() != 0 }
}

/// The register at `offset` of region `region`, for the trace line.
fn register_name(d: &DeviceDescriptor, region: u32, offset: u64) -> String {
    let Some(r) = d.regions.get(region as usize) else {
        return "?".into();
    };
    for reg in r.registers {
        for i in 0..u64::from(reg.count) {
            let start = reg.offset + i * reg.stride;
            if (start..start + u64::from(reg.width)).contains(&offset) {
                return if reg.count > 1 {
                    format!("{}[{i}]", reg.name)
                } else {
                    reg.name.to_string()
                };
            }
        }
    }
    "-".into()
}

/// Logs one access (cold: only with the event on).
#[cold]
#[inline(never)]
pub(crate) fn access(
    d: &DeviceDescriptor,
    write: bool,
    region: u32,
    offset: u64,
    size: u32,
    value: u64,
) {
    let region_name = d.regions.get(region as usize).map_or("?", |r| r.name);
    let line = format!(
        "qdev_mmio_{} {} {} {} offset 0x{offset:x} size {size} value 0x{value:x}\n",
        if write { "write" } else { "read" },
        d.name,
        region_name,
        register_name(d, region, offset),
    );
    let line = std::ffi::CString::new(line).expect("no NUL in names");
    // SAFETY: "%s" with one NUL-terminated string.
    unsafe { (syms().qemu_log)(c"%s".as_ptr(), line.as_ptr()) };
}
