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
/// sits in the instance, `placement_offset` where a sysbus device's
/// placement properties do. QEMU keeps one property array per class, so
/// both go in one.
///
/// # Safety
/// `klass` is `T`'s DeviceClass in its class_init.
pub(super) unsafe fn install<T: Device>(
    klass: *mut sys::ObjectClass,
    props_offset: usize,
    placement_offset: Option<usize>,
    chardevs_offset: usize,
    chardev_size: usize,
) {
    let d = T::DESCRIPTOR;
    let s = syms();
    let mut descriptions: Vec<(&str, &str)> = d
        .properties
        .iter()
        .map(|p| (p.name, p.description))
        .collect();
    let mut props: Vec<sys::Property> = d
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
    for (i, name) in d.chardevs.iter().map(|c| c.name).enumerate() {
        let info = data_symbol::<sys::PropertyInfo>(c"qdev_prop_chr")
            .unwrap_or_else(|| panic!("QEMU does not export qdev_prop_chr"));
        props.push(sys::Property {
            name: leak_cstr(name),
            info,
            offset: (chardevs_offset + i * chardev_size) as isize,
            ..Default::default()
        });
        descriptions.push((name, "ID of the chardev backend (-chardev ...,id=ID)"));
    }
    if let Some(offset) = placement_offset {
        for (prop, desc) in placement_properties(offset) {
            // SAFETY: the name was just leaked from a valid string.
            let name = unsafe { CStr::from_ptr(prop.name) }.to_str().unwrap_or("");
            descriptions.push((name, desc));
            props.push(prop);
        }
    }
    if props.is_empty() {
        return;
    }
    let count = props.len();
    let props: &'static [sys::Property] = Box::leak(props.into_boxed_slice());
    // SAFETY: see the function's contract; the leaked array lives forever,
    // as QOM requires.
    unsafe {
        s.device_class_set_props_n(klass.cast(), props.as_ptr(), count);
        for (name, desc) in descriptions.into_iter().filter(|(_, d)| !d.is_empty()) {
            s.object_class_property_set_description(klass, leak_cstr(name), leak_cstr(desc));
        }
    }
}

/// The placement properties of every sysbus device (see
/// `instance::Placement`) at `offset` in the instance.
fn placement_properties(offset: usize) -> Vec<(sys::Property, &'static str)> {
    use super::instance::Placement;
    use std::mem::offset_of;
    let info = |sym: &CStr| {
        data_symbol::<sys::PropertyInfo>(sym)
            .unwrap_or_else(|| panic!("QEMU does not export {}", sym.to_string_lossy()))
    };
    vec![
        (
            sys::Property {
                name: leak_cstr("mmio"),
                info: info(c"qdev_prop_uint64"),
                offset: (offset + offset_of!(Placement, mmio)) as isize,
                set_default: true,
                defval: sys::Property__bindgen_ty_1 { u: u64::MAX },
                ..Default::default()
            },
            "address to map the device's MMIO regions at; unset: not mapped",
        ),
        (
            sys::Property {
                name: leak_cstr("irq"),
                info: info(c"qdev_prop_int32"),
                offset: (offset + offset_of!(Placement, irq)) as isize,
                set_default: true,
                defval: sys::Property__bindgen_ty_1 { i: -1 },
                ..Default::default()
            },
            "interrupt controller input for IRQ 0 (IRQ n goes to irq+n); unset: not connected",
        ),
        (
            sys::Property {
                name: leak_cstr("intc"),
                info: info(c"qdev_prop_string"),
                offset: (offset + offset_of!(Placement, intc)) as isize,
                ..Default::default()
            },
            "QOM path of the interrupt controller for 'irq'; unset: ioapic",
        ),
    ]
}
