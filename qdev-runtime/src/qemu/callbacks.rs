// SPDX-License-Identifier: GPL-2.0-or-later
//! The functions QEMU calls into a device: MMIO, GPIO inputs, timers,
//! chardev input and events, reset and finalize. Each finds the instance
//! from its opaque and forwards to the device, if it is realized.
//!
//! QEMU calls all of them from its main loop with the BQL held, one at a
//! time, so the `&mut` to the instance made here is the only one.

use std::ffi::{c_int, c_uint, c_void};

use qdev_sys as sys;

use super::instance::{class_data_of, Ctx, Instance};
use super::services::timer_arm;
use crate::chardev::CharEvent;
use crate::device::{Device, ResetKind};

/// The realized device of `inst`, if any.
///
/// # Safety
/// `inst` is a live instance of our type whose `state` was initialized by
/// instance_init, and no other reference to it is in use.
unsafe fn device<'a, T: Device, P>(inst: *mut Instance<T, P>) -> Option<&'a mut T> {
    // SAFETY: see the function's contract.
    unsafe { (*inst).state.assume_init_mut().as_mut() }
}

pub(super) unsafe extern "C" fn mmio_read<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    size: c_uint,
) -> u64 {
    // SAFETY: the opaque of our regions is the instance.
    match unsafe { device::<T, P>(opaque.cast()) } {
        Some(dev) => dev.mmio_read(R, addr, size),
        None => 0,
    }
}

pub(super) unsafe extern "C" fn mmio_write<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    value: u64,
    size: c_uint,
) {
    // SAFETY: the opaque of our regions is the instance.
    if let Some(dev) = unsafe { device::<T, P>(opaque.cast()) } {
        dev.mmio_write(R, addr, size, value);
    }
}

pub(super) unsafe extern "C" fn config_read<T: Device, P>(
    pdev: *mut sys::PCIDevice,
    addr: u32,
    len: c_int,
) -> u32 {
    let d = T::DESCRIPTOR;
    if d.config_register_at(u64::from(addr), len as u32) {
        // SAFETY: our own PCI instance.
        if let Some(dev) = unsafe { device::<T, P>(pdev.cast()) } {
            let region = d.config_region().expect("checked above") as u32;
            return dev.mmio_read(region, u64::from(addr), len as u32) as u32;
        }
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
    if d.config_register_at(u64::from(addr), len as u32) {
        // SAFETY: our own PCI instance.
        if let Some(dev) = unsafe { device::<T, P>(pdev.cast()) } {
            let region = d.config_region().expect("checked above") as u32;
            dev.mmio_write(region, u64::from(addr), len as u32, u64::from(value));
            return;
        }
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
        if let Some(dev) = device::<T, P>(ctx.instance.cast()) {
            dev.gpio_in(ctx.index, n as u32, level != 0);
        }
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
        if let Some(dev) = device::<T, P>(inst) {
            dev.timer_fired(ctx.index);
        }
    }
}

pub(super) unsafe extern "C" fn chr_can_receive<T: Device, P>(opaque: *mut c_void) -> c_int {
    // SAFETY: the opaque is a Ctx in our instance.
    unsafe {
        let ctx = &*opaque.cast::<Ctx>();
        match device::<T, P>(ctx.instance.cast()) {
            Some(dev) => dev.chardev_can_receive(ctx.index).min(c_int::MAX as usize) as c_int,
            None => 0,
        }
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
        if let Some(dev) = device::<T, P>(ctx.instance.cast()) {
            let bytes = std::slice::from_raw_parts(buf, size.max(0) as usize);
            dev.chardev_receive(ctx.index, bytes);
        }
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
        if let Some(dev) = device::<T, P>(ctx.instance.cast()) {
            dev.chardev_event(ctx.index, event);
        }
    }
}

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
    if let Some(dev) = unsafe { device::<T, P>(obj.cast()) } {
        dev.reset(kind);
    }
}

pub(super) unsafe extern "C" fn instance_finalize<T: Device, P: 'static>(obj: *mut sys::Object) {
    let inst = obj.cast::<Instance<T, P>>();
    // SAFETY: QOM finalizes an instance once, after its properties and
    // children (regions, GPIO links) are gone; `state` was initialized by
    // instance_init.
    unsafe { (*inst).state.assume_init_drop() };
}
