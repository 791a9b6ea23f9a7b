// SPDX-License-Identifier: GPL-2.0-or-later
//! The functions QEMU calls into a device: MMIO, GPIO inputs, timers,
//! chardev input and events, reset and finalize. Each finds the instance
//! from its opaque and forwards to the device, if it is realized.
//!
//! QEMU calls them with the BQL held, but one may still run inside another:
//! a DMA issued from a timer callback into the device's own BAR, an IRQ the
//! device raises that a board wired back to its own GPIO input. The `&mut T`
//! a callback hands out must always be the only one, so every entry is
//! refused (and logged) while the device is already in one. The flag that
//! says so is QEMU's own per-device re-entrancy guard
//! (`DeviceState.mem_reentrancy_guard.engaged_in_io`):
//!
//! - QEMU's memory core engages it around every MMIO callback of a region
//!   the device owns (`access_with_adjusted_size` in `system/memory.c`), and
//!   refuses an MMIO access to the device while it is engaged, with the
//!   warning `Blocked re-entrant IO on MemoryRegion: <region> at addr: ...`.
//!   So the MMIO callbacks need no flag of their own: [`device_in_io`].
//! - Every other hook (timers, GPIO inputs, chardev, reset, PCI config
//!   space) engages it itself, as QEMU's guarded bottom halves do, and
//!   refuses to run while it is engaged: [`with_device`]. An MMIO access
//!   the hook makes into its own device is then refused by the memory core.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr::addr_of_mut;

use qdev_sys as sys;

use super::instance::{class_data_of, Ctx, Instance};
use super::services::timer_arm;
use crate::chardev::CharEvent;
use crate::device::{Device, ResetKind};

/// QEMU's re-entrancy guard of the device `inst`.
///
/// # Safety
/// `inst` is a live instance of our type.
#[inline(always)]
unsafe fn io_guard<T: Device, P>(inst: *mut Instance<T, P>) -> *mut bool {
    // SAFETY: an instance starts with its parent (SysBusDevice or
    // PCIDevice), which starts with its DeviceState.
    unsafe {
        addr_of_mut!(
            (*inst.cast::<sys::DeviceState>())
                .mem_reentrancy_guard
                .engaged_in_io
        )
    }
}

/// Runs `f` on the device of `inst` in a hook QEMU's memory core does not
/// guard (all but MMIO): `otherwise` when the device is not realized, or
/// when it is already in a callback (re-entry, logged).
///
/// # Safety
/// `inst` is a live instance of our type whose `state` was initialized by
/// instance_init.
unsafe fn with_device<T: Device, P, R>(
    inst: *mut Instance<T, P>,
    hook: &str,
    otherwise: R,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    super::assert_bql(T::DESCRIPTOR.name, hook);
    // SAFETY: see the function's contract; the guard and `state` are
    // distinct fields, reached through the raw pointer without a reference
    // to the whole instance.
    unsafe {
        let engaged = io_guard(inst);
        if *engaged {
            crate::guest_error!(
                "{}: re-entrant access blocked (the device was already handling one)",
                T::DESCRIPTOR.name
            );
            return otherwise;
        }
        let Some(dev) = (*addr_of_mut!((*inst).state)).assume_init_mut().as_mut() else {
            return otherwise;
        };
        *engaged = true;
        // A panic in the device's code must not unwind into QEMU's C
        // frames (undefined behaviour): it is caught here and stops QEMU
        // with a message naming the device and the hook.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(dev)));
        *engaged = false;
        match r {
            Ok(v) => v,
            Err(payload) => super::panicked(T::DESCRIPTOR.name, hook, &*payload),
        }
    }
}

/// The device of `inst`, in an MMIO callback: `None` when it is not
/// realized. QEMU's memory core calls MMIO callbacks only with the
/// device's re-entrancy guard engaged by itself (and never while another
/// hook holds it), so this `&mut T` is the only one.
///
/// # Safety
/// `inst` is a live instance of our type whose `state` was initialized by
/// instance_init; the caller is an MMIO callback of a region it owns.
#[inline(always)]
unsafe fn device_in_io<'a, T: Device, P>(inst: *mut Instance<T, P>) -> Option<&'a mut T> {
    super::assert_bql(T::DESCRIPTOR.name, "mmio");
    // SAFETY: see the function's contract.
    unsafe {
        // What the scheme rests on, checked where the tests run.
        debug_assert!(
            *io_guard(inst),
            "QEMU engages the re-entrancy guard around MMIO"
        );
        (*addr_of_mut!((*inst).state)).assume_init_mut().as_mut()
    }
}

// The MMIO callbacks, the hot path of every device. An access first tries
// the generated fast path (`Device::mmio_read_plain`), which runs none of
// the author's code and so needs no panic boundary; the rest goes out of
// line to `mmio_read_full`, through `catch_unwind`. With the trace event
// off, the fast path is then a leaf function: no stack frame, no call. The
// out-of-line functions are `extern "C"` so the compiler knows they do not
// unwind (they catch panics and exit): the jump to them is a tail call.

pub(super) unsafe extern "C" fn mmio_read<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    size: c_uint,
) -> u64 {
    if super::trace::reads() {
        // SAFETY: as below.
        return unsafe { mmio_read_traced::<T, P, R>(opaque, addr, size) };
    }
    // SAFETY: the opaque of our regions is the instance.
    unsafe { mmio_read_untraced::<T, P, R>(opaque, addr, size) }
}

/// # Safety
/// As [`mmio_read`]'s: called by QEMU's memory core for one of our regions.
#[inline(always)]
unsafe fn mmio_read_untraced<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    size: c_uint,
) -> u64 {
    let inst = opaque.cast::<Instance<T, P>>();
    // SAFETY: see the function's contract.
    let Some(dev) = (unsafe { device_in_io(inst) }) else {
        return 0;
    };
    if let Some(value) = dev.mmio_read_plain(R, addr, size) {
        return value;
    }
    // SAFETY: `dev` is the device `device_in_io` handed out, still the
    // only reference to it.
    unsafe { mmio_read_full::<T, R>(dev, addr, size) }
}

/// A read the fast path does not answer, behind the panic boundary.
///
/// # Safety
/// `dev` is the device of an MMIO callback ([`device_in_io`]), with no
/// other reference to it.
#[inline(never)]
unsafe extern "C" fn mmio_read_full<T: Device, const R: u32>(
    dev: *mut T,
    addr: sys::hwaddr,
    size: c_uint,
) -> u64 {
    // SAFETY: see the function's contract.
    let dev = unsafe { &mut *dev };
    // A panic in the device's code must not unwind into QEMU's C frames:
    // it stops QEMU, naming the device and the hook.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dev.mmio_read(R, addr, size)
    })) {
        Ok(v) => v,
        Err(payload) => super::panicked(T::DESCRIPTOR.name, "mmio_read", &*payload),
    }
}

/// A read with the `qdev_mmio_read` trace event on.
///
/// # Safety
/// As [`mmio_read_untraced`].
#[cold]
#[inline(never)]
unsafe extern "C" fn mmio_read_traced<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    size: c_uint,
) -> u64 {
    // SAFETY: see the function's contract.
    let value = unsafe { mmio_read_untraced::<T, P, R>(opaque, addr, size) };
    super::trace::access(T::DESCRIPTOR, false, R, addr, size, value);
    value
}

pub(super) unsafe extern "C" fn mmio_write<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    value: u64,
    size: c_uint,
) {
    if super::trace::writes() {
        // SAFETY: as below.
        return unsafe { mmio_write_traced::<T, P, R>(opaque, addr, value, size) };
    }
    // SAFETY: the opaque of our regions is the instance.
    unsafe { mmio_write_untraced::<T, P, R>(opaque, addr, value, size) }
}

/// # Safety
/// As [`mmio_write`]'s: called by QEMU's memory core for one of our regions.
#[inline(always)]
unsafe fn mmio_write_untraced<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    value: u64,
    size: c_uint,
) {
    let inst = opaque.cast::<Instance<T, P>>();
    // SAFETY: see the function's contract.
    let Some(dev) = (unsafe { device_in_io(inst) }) else {
        return;
    };
    if dev.mmio_write_plain(R, addr, size, value) {
        return;
    }
    // SAFETY: as in `mmio_read_untraced`.
    unsafe { mmio_write_full::<T, R>(dev, addr, value, size) }
}

/// A write the fast path does not take, behind the panic boundary.
///
/// # Safety
/// As [`mmio_read_full`].
#[inline(never)]
unsafe extern "C" fn mmio_write_full<T: Device, const R: u32>(
    dev: *mut T,
    addr: sys::hwaddr,
    value: u64,
    size: c_uint,
) {
    // SAFETY: see the function's contract.
    let dev = unsafe { &mut *dev };
    // As in `mmio_read_full`.
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dev.mmio_write(R, addr, size, value)
    })) {
        super::panicked(T::DESCRIPTOR.name, "mmio_write", &*payload);
    }
}

/// A write with the `qdev_mmio_write` trace event on: traced before it
/// happens, as before.
///
/// # Safety
/// As [`mmio_write_untraced`].
#[cold]
#[inline(never)]
unsafe extern "C" fn mmio_write_traced<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    value: u64,
    size: c_uint,
) {
    super::trace::access(T::DESCRIPTOR, true, R, addr, size, value);
    // SAFETY: see the function's contract.
    unsafe { mmio_write_untraced::<T, P, R>(opaque, addr, value, size) }
}

pub(super) unsafe extern "C" fn config_read<T: Device, P>(
    pdev: *mut sys::PCIDevice,
    addr: u32,
    len: c_int,
) -> u32 {
    let d = T::DESCRIPTOR;
    if let (true, Some(region)) = (
        d.config_register_at(u64::from(addr), len as u32),
        d.config_region(),
    ) {
        // SAFETY: our own PCI instance.
        return unsafe {
            with_device::<T, P, _>(pdev.cast(), "config_read", 0, |dev| {
                dev.mmio_read(region as u32, u64::from(addr), len as u32) as u32
            })
        };
    }
    // SAFETY: QEMU's default handling of the rest of config space.
    unsafe { super::syms().pci_default_read_config(pdev, addr, len) }
}

pub(super) unsafe extern "C" fn config_write<T: Device, P>(
    pdev: *mut sys::PCIDevice,
    addr: u32,
    value: u32,
    len: c_int,
) {
    let d = T::DESCRIPTOR;
    if let (true, Some(region)) = (
        d.config_register_at(u64::from(addr), len as u32),
        d.config_region(),
    ) {
        // SAFETY: our own PCI instance.
        return unsafe {
            with_device::<T, P, _>(pdev.cast(), "config_write", (), |dev| {
                dev.mmio_write(region as u32, u64::from(addr), len as u32, u64::from(value))
            })
        };
    }
    // SAFETY: QEMU's default handling of the rest of config space.
    unsafe { super::syms().pci_default_write_config(pdev, addr, value, len) }
}

pub(super) unsafe extern "C" fn gpio_in_handler<T: Device, P>(
    opaque: *mut c_void,
    n: c_int,
    level: c_int,
) {
    // SAFETY: the opaque is a Ctx in our instance.
    unsafe {
        let ctx = &*opaque.cast::<Ctx>();
        with_device::<T, P, _>(ctx.instance.cast(), "gpio_in", (), |dev| {
            dev.gpio_in(ctx.index, n as u32, level != 0)
        });
    }
}

pub(super) unsafe extern "C" fn timer_cb<T: Device, P>(opaque: *mut c_void) {
    // SAFETY: the opaque is a Ctx in our instance; the timer and its state
    // sit beside it.
    unsafe {
        let ctx = &*opaque.cast::<Ctx>();
        let inst = ctx.instance.cast::<Instance<T, P>>();
        let i = ctx.index as usize;
        let state = &(*inst).timer_state[i];
        // A periodic timer is re-armed from its previous deadline first,
        // so the period does not drift with callback latency.
        let next = match (state.deadline.get(), state.period.get()) {
            (Some(d), Some(p)) => Some(d + p),
            _ => None,
        };
        state.deadline.set(next);
        if next.is_some() {
            timer_arm(std::ptr::addr_of_mut!((*inst).timers[i]), next);
        }
        with_device::<T, P, _>(inst, "timer", (), |dev| dev.timer_fired(ctx.index));
    }
}

pub(super) unsafe extern "C" fn chr_can_receive<T: Device, P>(opaque: *mut c_void) -> c_int {
    // SAFETY: the opaque is a Ctx in our instance.
    unsafe {
        let ctx = &*opaque.cast::<Ctx>();
        with_device::<T, P, _>(ctx.instance.cast(), "chardev_can_receive", 0, |dev| {
            dev.chardev_can_receive(ctx.index).min(c_int::MAX as usize) as c_int
        })
    }
}

pub(super) unsafe extern "C" fn chr_receive<T: Device, P>(
    opaque: *mut c_void,
    buf: *const u8,
    size: c_int,
) {
    // SAFETY: the opaque is a Ctx in our instance; QEMU passes `size`
    // valid bytes at `buf`.
    unsafe {
        let ctx = &*opaque.cast::<Ctx>();
        let bytes = std::slice::from_raw_parts(buf, size.max(0) as usize);
        with_device::<T, P, _>(ctx.instance.cast(), "chardev_receive", (), |dev| {
            dev.chardev_receive(ctx.index, bytes)
        });
    }
}

pub(super) unsafe extern "C" fn chr_event<T: Device, P>(
    opaque: *mut c_void,
    event: sys::QEMUChrEvent,
) {
    let event = match event {
        sys::QEMUChrEvent::CHR_EVENT_OPENED => CharEvent::Opened,
        sys::QEMUChrEvent::CHR_EVENT_CLOSED => CharEvent::Closed,
        sys::QEMUChrEvent::CHR_EVENT_BREAK => CharEvent::Break,
        _ => return,
    };
    // SAFETY: the opaque is a Ctx in our instance.
    unsafe {
        let ctx = &*opaque.cast::<Ctx>();
        with_device::<T, P, _>(ctx.instance.cast(), "chardev_event", (), |dev| {
            dev.chardev_event(ctx.index, event)
        });
    }
}

#[cfg(not(qemu_api = "7.2"))]
pub(super) unsafe extern "C" fn reset_hold<T: Device, P>(
    obj: *mut sys::Object,
    ty: sys::ResetType,
) {
    // SAFETY: the parent phases were stored by class_init before any reset.
    let parent = unsafe { *(*class_data_of::<T>()).parent_phases.get() };
    if let Some(hold) = parent.hold {
        // SAFETY: the parent type's own hold phase, for this object.
        unsafe { hold(obj, ty) };
    }
    let kind = match ty {
        sys::ResetType::RESET_TYPE_SNAPSHOT_LOAD => ResetKind::SnapshotLoad,
        sys::ResetType::RESET_TYPE_WAKEUP => ResetKind::Wakeup,
        _ => ResetKind::Cold,
    };
    // SAFETY: our own instance.
    unsafe { with_device::<T, P, _>(obj.cast(), "reset", (), |dev| dev.reset(kind)) };
}

/// The hold phase for a QEMU 7.2 SDK, whose hold phases take no reset type
/// (and which has no snapshot-load or wakeup resets): a cold reset.
#[cfg(qemu_api = "7.2")]
pub(super) unsafe extern "C" fn reset_hold<T: Device, P>(obj: *mut sys::Object) {
    // SAFETY: the parent phases were stored by class_init before any reset.
    let parent = unsafe { *(*class_data_of::<T>()).parent_phases.get() };
    if let Some(hold) = parent.hold {
        // SAFETY: the parent type's own hold phase, for this object.
        unsafe { hold(obj) };
    }
    // SAFETY: our own instance.
    unsafe { with_device::<T, P, _>(obj.cast(), "reset", (), |dev| dev.reset(ResetKind::Cold)) };
}

pub(super) unsafe extern "C" fn instance_finalize<T: Device, P: 'static>(obj: *mut sys::Object) {
    let inst = obj.cast::<Instance<T, P>>();
    // SAFETY: QOM finalizes an instance once, after its properties and
    // children (regions, GPIO links) are gone; `state` was initialized by
    // instance_init.
    unsafe {
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (*inst).state.assume_init_drop();
        }));
        if let Err(payload) = dropped {
            super::panicked(T::DESCRIPTOR.name, "drop", &*payload);
        }
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*inst).mig_saved));
    }
}
