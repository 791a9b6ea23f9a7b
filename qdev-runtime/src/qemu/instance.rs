// SPDX-License-Identifier: GPL-2.0-or-later
//! A device type in QOM: its `TypeInfo`, `class_init` and instance layout.
//!
//! The instance is one C-compatible block that QOM allocates:
//!
//! ```text
//! #[repr(C)] Instance<T, P> {
//!     parent:    P              SysBusDevice or PCIDevice (must be first)
//!     placement: Placement      sysbus only: the mmio/irq/intc properties
//!     props:     T::Props       QEMU's property setters write here
//!     regions:   [MemoryRegion; MAX_REGIONS]
//!     irqs:      [qemu_irq; MAX_LINES]      sysbus IRQs, then GPIO outputs
//!     gpio_in:   [Ctx; MAX_GPIO_IN_GROUPS]  opaques of GPIO input groups
//!     timers:    [QEMUTimer; MAX_TIMERS]    + their Ctx and TimerState
//!     chardevs:  [CharBackend; MAX_CHARDEVS] written by the chardev properties
//!     state:     Option<T>      the device, built at realize
//! }
//! ```
//!
//! Fixed-size arrays keep every object QEMU points into at a stable address
//! for the life of the instance.

use std::ffi::{c_uint, c_void};
use std::mem::{align_of, offset_of, size_of, MaybeUninit};
use std::ptr::{addr_of_mut, null_mut};

use qdev_sys as sys;

use super::callbacks::{
    config_read, config_write, gpio_in_handler, instance_finalize, mmio_read, mmio_write,
    reset_hold,
};
use super::realize::{pci_exit, pci_realize, sysbus_realize, unrealize};
use super::{leak_cstr, props, syms};
use crate::device::{BusKind, Device};
use crate::timer::TimerState;

/// The most regions (MMIO regions or BARs) a device may have.
pub const MAX_REGIONS: usize = 8;
/// The most IRQ and GPIO output lines a device may have in all.
pub const MAX_LINES: usize = 64;
/// The most GPIO input groups.
pub const MAX_GPIO_IN_GROUPS: usize = 8;
/// The most timers.
pub const MAX_TIMERS: usize = 8;
/// The most chardev frontends.
pub const MAX_CHARDEVS: usize = 4;

/// The opaque QEMU hands back to a callback: the instance and which of its
/// GPIO groups, timers or chardevs it is about.
#[repr(C)]
pub(super) struct Ctx {
    pub instance: *mut c_void,
    pub index: u32,
}

/// The parent part of an instance: the C struct of the QOM parent type.
pub(super) trait Parent: 'static {
    const TYPE: &'static [u8];
}

impl Parent for sys::SysBusDevice {
    const TYPE: &'static [u8] = sys::TYPE_SYS_BUS_DEVICE;
}

impl Parent for sys::PCIDevice {
    const TYPE: &'static [u8] = sys::TYPE_PCI_DEVICE;
}

/// Where a sysbus device goes on a board that has no slot for it: the
/// runtime's own properties of every sysbus device (`mmio`, `irq`, `intc`).
#[repr(C)]
pub(super) struct Placement {
    /// Address of region 0 (further regions follow, each aligned to its
    /// size); `u64::MAX`: not mapped by the device.
    pub mmio: u64,
    /// First interrupt controller input for IRQ 0 (IRQ n goes to
    /// `irq + n`); -1: not connected by the device.
    pub irq: i32,
    /// QOM path of the interrupt controller (partial paths resolve, e.g.
    /// `ioapic`).
    pub intc: crate::props::RawString,
}

#[repr(C)]
pub(super) struct Instance<T: Device, P> {
    pub parent: P,
    pub placement: Placement,
    pub props: T::Props,
    pub regions: [sys::MemoryRegion; MAX_REGIONS],
    pub irqs: [sys::qemu_irq; MAX_LINES],
    pub gpio_in: [Ctx; MAX_GPIO_IN_GROUPS],
    pub timers: [sys::QEMUTimer; MAX_TIMERS],
    pub timer_ctx: [Ctx; MAX_TIMERS],
    pub timer_state: [TimerState; MAX_TIMERS],
    pub chardevs: [sys::CharBackend; MAX_CHARDEVS],
    pub chardev_ctx: [Ctx; MAX_CHARDEVS],
    /// Migration: the length and address of the device's state buffer,
    /// and the buffer itself while QEMU saves it (see `migration`).
    pub mig_len: u32,
    pub mig_buf: *mut u8,
    pub mig_saved: Vec<u8>,
    pub state: MaybeUninit<Option<T>>,
}

/// Per-type data: the MMIO callbacks of each region (leaked: QEMU keeps
/// pointers to them in every region) and the parent's reset phases.
pub(super) struct ClassData {
    pub ops: Vec<sys::MemoryRegionOps>,
    /// The parent type's reset phases, filled in by class_init.
    pub parent_phases: std::cell::UnsafeCell<sys::ResettablePhases>,
}

// SAFETY: ClassData is only touched from QEMU's main thread under the BQL
// (class_init and reset); the map that holds it only stores its address.
unsafe impl Sync for ClassData {}

/// The ClassData of type `T`, made on first use. (QOM hands `class_data`
/// to `class_init` only, so instances find it by Rust type.)
pub(super) fn class_data_of<T: Device>() -> *const ClassData {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::Mutex;
    static DATA: Mutex<Option<HashMap<TypeId, usize>>> = Mutex::new(None);
    let mut map = DATA.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    let ptr = *map.entry(TypeId::of::<T>()).or_insert_with(|| {
        let d = T::DESCRIPTOR;
        let ops: Vec<sys::MemoryRegionOps> = match d.bus {
            BusKind::SysBus => (0..d.regions.len())
                .map(region_ops::<T, sys::SysBusDevice>)
                .collect(),
            BusKind::Pci(_) => (0..d.regions.len())
                .map(region_ops::<T, sys::PCIDevice>)
                .collect(),
        };
        Box::into_raw(Box::new(ClassData {
            ops,
            parent_phases: Default::default(),
        })) as usize
    });
    ptr as *const ClassData
}

/// Registers `T`'s QOM type (QOM init phase).
pub(super) fn register_type<T: Device>() {
    let d = T::DESCRIPTOR;
    let limits = [
        (d.regions.len(), MAX_REGIONS, "regions"),
        (d.gpio_in.len(), MAX_GPIO_IN_GROUPS, "GPIO input groups"),
        (d.timers as usize, MAX_TIMERS, "timers"),
        (d.chardevs.len(), MAX_CHARDEVS, "chardevs"),
        (
            d.irqs as usize + d.gpio_out.iter().map(|g| g.count as usize).sum::<usize>(),
            MAX_LINES,
            "IRQ and GPIO output lines",
        ),
    ];
    for (n, max, what) in limits {
        assert!(n <= max, "{}: at most {max} {what}", d.name);
    }
    match d.bus {
        BusKind::SysBus => register_with::<T, sys::SysBusDevice>(),
        BusKind::Pci(_) => register_with::<T, sys::PCIDevice>(),
    }
}

fn register_with<T: Device, P: Parent>() {
    let d = T::DESCRIPTOR;
    let interfaces: *mut sys::InterfaceInfo = match d.bus {
        BusKind::Pci(ids) => {
            let iface: &[u8] = if ids.express {
                sys::INTERFACE_PCIE_DEVICE
            } else {
                sys::INTERFACE_CONVENTIONAL_PCI_DEVICE
            };
            Box::leak(Box::new([
                sys::InterfaceInfo {
                    type_: iface.as_ptr().cast(),
                },
                sys::InterfaceInfo {
                    type_: std::ptr::null(),
                },
            ]))
            .as_mut_ptr()
        }
        BusKind::SysBus => null_mut(),
    };
    let info = Box::leak(Box::new(sys::TypeInfo {
        name: leak_cstr(d.name),
        parent: P::TYPE.as_ptr().cast(),
        instance_size: size_of::<Instance<T, P>>(),
        instance_align: align_of::<Instance<T, P>>(),
        instance_init: Some(instance_init::<T, P>),
        instance_finalize: Some(instance_finalize::<T, P>),
        class_init: Some(class_init::<T, P>),
        interfaces,
        ..Default::default()
    }));
    // SAFETY: `info` and everything it points to are leaked, so they live
    // as long as QOM keeps them.
    unsafe { syms().type_register_static(info) };
}

/// Lets the sysbus device be created with `-device` on every machine
/// (MIGRATION init phase: all of QEMU's types exist by then).
pub(super) fn late_init<T: Device>() {
    if T::DESCRIPTOR.bus != BusKind::SysBus {
        return;
    }
    let s = syms();
    let name = leak_cstr(T::DESCRIPTOR.name);
    // SAFETY: QOM's class list; each element's data is a MachineClass.
    unsafe {
        let list = s.object_class_get_list(sys::TYPE_MACHINE.as_ptr().cast(), false);
        let mut it = list;
        while !it.is_null() {
            let mc = (*it).data.cast::<sys::MachineClass>();
            s.machine_class_allow_dynamic_sysbus_dev(mc, name);
            it = (*it).next;
        }
        s.g_slist_free(list);
    }
}

/// Picks the monomorphized callbacks for region `index`.
fn region_ops<T: Device, P: Parent>(index: usize) -> sys::MemoryRegionOps {
    macro_rules! by_index {
        ($($i:literal)*) => {
            match index {
                $($i => (mmio_read::<T, P, $i> as ReadFn, mmio_write::<T, P, $i> as WriteFn),)*
                _ => unreachable!("at most MAX_REGIONS regions"),
            }
        };
    }
    type ReadFn = unsafe extern "C" fn(*mut c_void, sys::hwaddr, c_uint) -> u64;
    type WriteFn = unsafe extern "C" fn(*mut c_void, sys::hwaddr, u64, c_uint);
    let (read, write) = by_index!(0 1 2 3 4 5 6 7);
    sys::MemoryRegionOps {
        read: Some(read),
        write: Some(write),
        endianness: sys::device_endian::DEVICE_LITTLE_ENDIAN,
        // Every size reaches the device; the generated dispatch applies
        // the byte-lane policy of each register.
        valid: sys::MemoryRegionOps__bindgen_ty_1 {
            min_access_size: 1,
            max_access_size: 8,
            ..Default::default()
        },
        impl_: sys::MemoryRegionOps__bindgen_ty_2 {
            min_access_size: 1,
            max_access_size: 8,
            ..Default::default()
        },
        ..Default::default()
    }
}

unsafe extern "C" fn class_init<T: Device, P: Parent>(
    klass: *mut sys::ObjectClass,
    _data: *mut c_void,
) {
    let d = T::DESCRIPTOR;
    let s = syms();
    let dc = klass.cast::<sys::DeviceClass>();
    // SAFETY: `klass` is our class, a DeviceClass (and a PCIDeviceClass for
    // PCI devices) being initialized by QOM.
    unsafe {
        (*dc).desc = leak_cstr(d.description);
        (*dc).categories[0] |= 1 << (sys::DeviceCategory::DEVICE_CATEGORY_MISC as u32);
        (*dc).user_creatable = true;
        (*dc).vmsd = super::migration::vmsd::<T, P>();
        // Reset in the hold phase of QEMU's three-phase (Resettable) reset,
        // after the parent's hold phase.
        let rc = s
            .object_class_dynamic_cast_assert(
                klass,
                sys::TYPE_RESETTABLE_INTERFACE.as_ptr().cast(),
                c"qdev-runtime".as_ptr(),
                0,
                c"class_init".as_ptr(),
            )
            .cast::<sys::ResettableClass>();
        s.resettable_class_set_parent_phases(
            rc,
            None,
            Some(reset_hold::<T, P>),
            None,
            (*class_data_of::<T>()).parent_phases.get(),
        );
        match d.bus {
            BusKind::SysBus => {
                (*dc).realize = Some(sysbus_realize::<T, P>);
                (*dc).unrealize = Some(unrealize::<T, P>);
            }
            BusKind::Pci(ids) => {
                let k = klass.cast::<sys::PCIDeviceClass>();
                (*k).realize = Some(pci_realize::<T, P>);
                if d.config_region().is_some() {
                    (*k).config_read = Some(config_read::<T, P>);
                    (*k).config_write = Some(config_write::<T, P>);
                }
                (*k).exit = Some(pci_exit::<T, P>);
                (*k).vendor_id = ids.vendor;
                (*k).device_id = ids.device;
                (*k).subsystem_vendor_id = ids.subsystem_vendor;
                (*k).subsystem_id = ids.subsystem;
                (*k).class_id = ids.class;
                (*k).revision = ids.revision;
            }
        }
        let placement = (d.bus == BusKind::SysBus).then_some(offset_of!(Instance<T, P>, placement));
        let chardevs = offset_of!(Instance<T, P>, chardevs);
        props::install::<T>(
            klass,
            offset_of!(Instance<T, P>, props),
            placement,
            chardevs,
            size_of::<sys::CharBackend>(),
        );
    }
}

unsafe extern "C" fn instance_init<T: Device, P: 'static>(obj: *mut sys::Object) {
    let d = T::DESCRIPTOR;
    let s = syms();
    let inst = obj.cast::<Instance<T, P>>();
    // SAFETY: QOM zeroed the instance and wrote property defaults into
    // `props`; we initialize the other fields in place without reading
    // them. Lines exist from init on, so boards can connect them before
    // realize; regions, timers and chardevs are set up at realize.
    unsafe {
        addr_of_mut!((*inst).state).write(MaybeUninit::new(None));
        addr_of_mut!((*inst).mig_len).write(0);
        addr_of_mut!((*inst).mig_buf).write(null_mut());
        addr_of_mut!((*inst).mig_saved).write(Vec::new());
        for i in 0..MAX_TIMERS {
            addr_of_mut!((*inst).timer_state[i]).write(TimerState::default());
        }
        let dev = obj.cast::<sys::DeviceState>();
        if d.bus == BusKind::SysBus {
            for i in 0..d.irqs as usize {
                s.sysbus_init_irq(obj.cast(), addr_of_mut!((*inst).irqs[i]));
            }
        }
        let mut next = d.irqs as usize;
        for group in d.gpio_out {
            let name = group.name.map_or(std::ptr::null(), leak_cstr);
            s.qdev_init_gpio_out_named(
                dev,
                addr_of_mut!((*inst).irqs[next]),
                name,
                group.count as i32,
            );
            next += group.count as usize;
        }
        for (g, group) in d.gpio_in.iter().enumerate() {
            let ctx = addr_of_mut!((*inst).gpio_in[g]);
            ctx.write(Ctx {
                instance: inst.cast(),
                index: g as u32,
            });
            let name = group.name.map_or(std::ptr::null(), leak_cstr);
            s.qdev_init_gpio_in_named_with_opaque(
                dev,
                Some(gpio_in_handler::<T, P>),
                ctx.cast(),
                name,
                group.count as i32,
            );
        }
    }
}
