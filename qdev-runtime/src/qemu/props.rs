// SPDX-License-Identifier: GPL-2.0-or-later
//! qdev properties: QEMU's setters write straight into the device's
//! `Props` storage inside the instance, with QEMU's own parsing and errors.

use std::ffi::CStr;

use qdev_sys as sys;

use super::{data_symbol, leak_cstr, syms};
use crate::device::{Device, PropertyKind};

fn info_symbol(kind: PropertyKind) -> &'static CStr {
    match kind {
        PropertyKind::Bool => c"qdev_prop_bool",
        PropertyKind::U8 => c"qdev_prop_uint8",
        PropertyKind::U16 => c"qdev_prop_uint16",
        PropertyKind::U32 => c"qdev_prop_uint32",
        PropertyKind::U64 => c"qdev_prop_uint64",
        PropertyKind::I32 => c"qdev_prop_int32",
        PropertyKind::I64 => c"qdev_prop_int64",
        PropertyKind::Str => c"qdev_prop_string",
    }
}

/// Adds `T`'s properties to its class; `props_offset` is where `T::Props`
/// sits in the instance.
///
/// # Safety
/// `klass` is `T`'s DeviceClass in its class_init.
pub(super) unsafe fn install<T: Device>(klass: *mut sys::ObjectClass, props_offset: usize) {
    let d = T::DESCRIPTOR;
    if d.properties.is_empty() {
        return;
    }
    let s = syms();
    let props: Vec<sys::Property> = d
        .properties
        .iter()
        .map(|p| {
            let sym = info_symbol(p.kind);
            let info = data_symbol::<sys::PropertyInfo>(sym)
                .unwrap_or_else(|| panic!("QEMU does not export {}", sym.to_string_lossy()));
            let mut prop = sys::Property {
                name: leak_cstr(p.name),
                info,
                offset: (props_offset + p.offset) as isize,
                set_default: p.kind != PropertyKind::Str,
                ..Default::default()
            };
            prop.defval = match p.kind {
                PropertyKind::I32 | PropertyKind::I64 => sys::Property__bindgen_ty_1 {
                    i: p.default as i64,
                },
                _ => sys::Property__bindgen_ty_1 {
                    u: p.default as u64,
                },
            };
            prop
        })
        .collect();
    let count = props.len();
    let props: &'static [sys::Property] = Box::leak(props.into_boxed_slice());
    // SAFETY: see the function's contract; the leaked array lives forever,
    // as QOM requires.
    unsafe {
        s.device_class_set_props_n(klass.cast(), props.as_ptr(), count);
        for p in d.properties.iter().filter(|p| !p.description.is_empty()) {
            s.object_class_property_set_description(
                klass,
                leak_cstr(p.name),
                leak_cstr(p.description),
            );
        }
    }
}
