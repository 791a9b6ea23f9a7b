// SPDX-License-Identifier: GPL-2.0-or-later
//! Bookworm's QEMU 7.2 under QEMU 10.0's names, where one call stands for
//! the other. Only compiled for a 7.2 SDK (`cfg(qemu_api = "7.2")`); the
//! runtime's own 7.2 alternatives (reset phases, `MemTxAttrs`, trace
//! events) are `cfg`'d where they are used.

use super::*;

impl QemuSymbols {
    /// 10.0's `device_class_set_props_n`: 7.2 only has
    /// `device_class_set_props`, which takes an array ended by an all-zero
    /// `DEFINE_PROP_END_OF_LIST()` entry.
    ///
    /// # Safety
    /// As `device_class_set_props_n`: `dc` is a device class being
    /// initialized, `props` points to `n` properties that live forever.
    pub unsafe fn device_class_set_props_n(
        &self,
        dc: *mut DeviceClass,
        props: *const Property,
        n: usize,
    ) {
        // SAFETY: `props` points to `n` properties (the caller's contract).
        let mut list = unsafe { core::slice::from_raw_parts(props, n) }.to_vec();
        list.push(Property::default());
        // QOM keeps the array for the life of the process.
        let list: &'static mut [Property] = Box::leak(list.into_boxed_slice());
        // SAFETY: a terminated array that lives forever, for a class being
        // initialized.
        unsafe { (self.device_class_set_props)(dc, list.as_mut_ptr()) }
    }

    /// 10.0's `bql_locked`, which 7.2 calls `qemu_mutex_iothread_locked`.
    ///
    /// # Safety
    /// None beyond running inside QEMU: it reads a thread-local flag.
    pub unsafe fn bql_locked(&self) -> bool {
        // SAFETY: see above.
        unsafe { (self.qemu_mutex_iothread_locked)() }
    }
}

impl VMStateFlags {
    /// 10.0 ends a field list with a `VMS_END` entry; 7.2's
    /// `VMSTATE_END_OF_LIST()` is an all-zero entry (7.2 stops at the first
    /// field without a name), which this flag value, with the other fields
    /// defaulted, gives.
    pub const VMS_END: VMStateFlags = VMStateFlags(0);
}
