// SPDX-License-Identifier: GPL-2.0-or-later
//! Migration and snapshots: one `VMStateDescription` per device type.
//!
//! QEMU's own parts of the device go as QEMU describes them (a PCI device's
//! config space with `vmstate_pci_device`, its MSI-X table with
//! `vmstate_msix`); the Rust device's state goes as one length-prefixed
//! byte buffer that `Device::save_state` writes in `pre_save` and
//! `Device::load_state` reads in `post_load` (its migrated fields, line
//! levels and timers, which re-arm themselves on the destination, then the
//! device's `save`/`load` and `post_load` hooks). The description carries
//! the device's `version` and `minimum_version`: QEMU refuses a stream
//! outside that range, and `load_state` gets the stream's version.

use std::ffi::{c_int, c_void};
use std::mem::{offset_of, size_of};
use std::ptr::addr_of_mut;

use qdev_sys as sys;

use super::instance::Instance;
use super::{data_symbol, leak_cstr, syms};
use crate::device::{BusKind, Device};
use crate::state::{StateReader, StateWriter};

fn field(name: &str) -> sys::VMStateField {
    sys::VMStateField {
        name: leak_cstr(name),
        ..Default::default()
    }
}

/// The `VMStateDescription` of `T` (leaked: QEMU keeps it).
pub(super) fn vmsd<T: Device, P>() -> *const sys::VMStateDescription {
    let d = T::DESCRIPTOR;
    let mut fields = Vec::new();
    if let BusKind::Pci(ids) = d.bus {
        let pci = data_symbol::<sys::VMStateDescription>(c"vmstate_pci_device")
            .expect("QEMU exports vmstate_pci_device");
        fields.push(sys::VMStateField {
            size: size_of::<sys::PCIDevice>(),
            vmsd: pci,
            flags: sys::VMStateFlags::VMS_STRUCT,
            offset: 0,
            ..field("parent_obj")
        });
        if ids.msix_vectors > 0 {
            let msix = data_symbol::<sys::VMStateDescription>(c"vmstate_msix")
                .expect("QEMU exports vmstate_msix");
            fields.push(sys::VMStateField {
                size: size_of::<sys::PCIDevice>(),
                vmsd: msix,
                flags: sys::VMStateFlags::VMS_STRUCT,
                offset: 0,
                ..field("msix")
            });
        }
    }
    let uint32 = data_symbol::<sys::VMStateInfo>(c"vmstate_info_uint32")
        .expect("QEMU exports vmstate_info_uint32");
    let buffer = data_symbol::<sys::VMStateInfo>(c"vmstate_info_buffer")
        .expect("QEMU exports vmstate_info_buffer");
    fields.push(sys::VMStateField {
        size: 4,
        info: uint32,
        flags: sys::VMStateFlags::VMS_SINGLE,
        offset: offset_of!(Instance<T, P>, mig_len),
        ..field("qdev_state_len")
    });
    fields.push(sys::VMStateField {
        size_offset: offset_of!(Instance<T, P>, mig_len),
        info: buffer,
        flags: sys::VMStateFlags::VMS_VBUFFER
            | sys::VMStateFlags::VMS_POINTER
            | sys::VMStateFlags::VMS_ALLOC,
        offset: offset_of!(Instance<T, P>, mig_buf),
        ..field("qdev_state")
    });
    fields.push(sys::VMStateField {
        flags: sys::VMStateFlags::VMS_END,
        ..Default::default()
    });
    let fields = Box::leak(fields.into_boxed_slice());
    Box::leak(Box::new(sys::VMStateDescription {
        name: leak_cstr(d.name),
        version_id: d.version as c_int,
        minimum_version_id: d.minimum_version as c_int,
        pre_save: Some(pre_save::<T, P>),
        post_save: Some(post_save::<T, P>),
        post_load: Some(post_load::<T, P>),
        fields: fields.as_ptr(),
        ..Default::default()
    }))
}

unsafe extern "C" fn pre_save<T: Device, P>(opaque: *mut c_void) -> c_int {
    let inst = opaque.cast::<Instance<T, P>>();
    super::assert_bql(T::DESCRIPTOR.name, "save");
    let mut w = StateWriter::new();
    // SAFETY: QEMU saves our own instance with the BQL held; nothing else
    // runs in the device meanwhile.
    unsafe {
        if let Some(dev) = (*inst).state.assume_init_ref() {
            let saved =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dev.save_state(&mut w)));
            if let Err(payload) = saved {
                super::panicked(T::DESCRIPTOR.name, "save", &*payload);
            }
        }
        let mut bytes = w.into_bytes();
        (*inst).mig_len = bytes.len() as u32;
        (*inst).mig_buf = bytes.as_mut_ptr();
        *addr_of_mut!((*inst).mig_saved) = bytes;
    }
    0
}

unsafe extern "C" fn post_save<T: Device, P>(opaque: *mut c_void) -> c_int {
    let inst = opaque.cast::<Instance<T, P>>();
    // SAFETY: the buffer pre_save handed QEMU is no longer read.
    unsafe {
        (*inst).mig_buf = std::ptr::null_mut();
        (*inst).mig_len = 0;
        *addr_of_mut!((*inst).mig_saved) = Vec::new();
    }
    0
}

unsafe extern "C" fn post_load<T: Device, P>(opaque: *mut c_void, version: c_int) -> c_int {
    let inst = opaque.cast::<Instance<T, P>>();
    super::assert_bql(T::DESCRIPTOR.name, "load");
    // SAFETY: QEMU allocated `mig_buf` (VMS_ALLOC) with `mig_len` bytes
    // and loads our own instance with the BQL held.
    unsafe {
        let buf = (*inst).mig_buf;
        let bytes: &[u8] = if buf.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts(buf, (*inst).mig_len as usize)
        };
        let mut r = StateReader::new(bytes);
        let result = match (*inst).state.assume_init_mut() {
            Some(dev) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    dev.load_state(&mut r, version as u32)
                })) {
                    Ok(loaded) => loaded.and_then(|()| crate::state::all_read(&r)),
                    Err(payload) => super::panicked(T::DESCRIPTOR.name, "load", &*payload),
                }
            }
            None => Ok(()),
        };
        if !buf.is_null() {
            syms().g_free(buf.cast());
            (*inst).mig_buf = std::ptr::null_mut();
        }
        match result {
            Ok(()) => 0,
            Err(e) => {
                let msg = std::ffi::CString::new(format!(
                    "{}: cannot load its state: {}",
                    T::DESCRIPTOR.name,
                    e.message()
                ))
                .unwrap_or_default();
                (syms().error_report)(c"%s".as_ptr(), msg.as_ptr());
                -1
            }
        }
    }
}
