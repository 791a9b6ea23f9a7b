// SPDX-License-Identifier: GPL-2.0-or-later
//! A device type in QOM: its `TypeInfo`, `class_init`, instance layout,
//! realize/reset/unrealize and the MMIO callbacks.
//!
//! The instance is one C-compatible block that QOM allocates:
//!
//! ```text
//! #[repr(C)] Instance<T, P> {
//!     parent:  P                 SysBusDevice or PCIDevice (must be first)
//!     props:   T::Props          QEMU's property setters write here
//!     regions: [MemoryRegion; MAX_REGIONS]
//!     irqs:    [qemu_irq; MAX_LINES]   sysbus IRQs, then GPIO outputs
//!     gpio_in: [GpioIn; MAX_GPIO_IN_GROUPS]
//!     state:   Option<T>         the device, built at realize
//! }
//! ```
//!
//! Fixed-size arrays keep every `MemoryRegion` and `qemu_irq` at a stable
//! address for QOM, which keeps pointers to them until finalize.

use std::ffi::{c_int, c_uint, c_void};
use std::mem::{align_of, offset_of, size_of, MaybeUninit};
use std::ptr::{addr_of_mut, null_mut};

use qdev_sys as sys;

use super::{leak_cstr, props, set_error, syms};
use crate::device::{BusKind, Device, ResetKind};
use crate::lines::{LineRef, Lines, Sink};

/// The most regions (MMIO regions or BARs) a device may have.
pub const MAX_REGIONS: usize = 8;
/// The most IRQ and GPIO output lines a device may have in all.
pub const MAX_LINES: usize = 64;
/// The most named GPIO input groups.
pub const MAX_GPIO_IN_GROUPS: usize = 8;

/// Context handed to QEMU as the opaque of a GPIO input group.
#[repr(C)]
struct GpioIn {
    instance: *mut c_void,
    group: u32,
}

/// The parent part of an instance: the C struct of the QOM parent type.
trait Parent: 'static {
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
struct Instance<T: Device, P> {
    parent: P,
    placement: Placement,
    props: T::Props,
    regions: [sys::MemoryRegion; MAX_REGIONS],
    irqs: [sys::qemu_irq; MAX_LINES],
    gpio_in: [GpioIn; MAX_GPIO_IN_GROUPS],
    state: MaybeUninit<Option<T>>,
}

/// Per-type data: the MMIO callbacks of each region, leaked (QEMU keeps
/// pointers to them in every region).
struct ClassData {
    ops: Vec<sys::MemoryRegionOps>,
    /// The parent type's reset phases, filled in by class_init.
    parent_phases: std::cell::UnsafeCell<sys::ResettablePhases>,
}

// SAFETY: ClassData is only touched from QEMU's main thread under the BQL
// (class_init and reset); the map that holds it only stores its address.
unsafe impl Sync for ClassData {}

/// Registers `T`'s QOM type (QOM init phase).
pub(super) fn register_type<T: Device>() {
    let d = T::DESCRIPTOR;
    assert!(
        d.regions.len() <= MAX_REGIONS,
        "{}: at most {MAX_REGIONS} regions",
        d.name
    );
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

unsafe extern "C" fn mmio_read<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    size: c_uint,
) -> u64 {
    // SAFETY: the opaque of our regions is the instance; QEMU serializes
    // MMIO to a device under the BQL, so this is the only reference.
    let inst = unsafe { &mut *opaque.cast::<Instance<T, P>>() };
    // SAFETY: `state` is initialized by instance_init.
    match unsafe { inst.state.assume_init_mut() } {
        Some(dev) => dev.mmio_read(R, addr, size),
        None => 0,
    }
}

unsafe extern "C" fn mmio_write<T: Device, P, const R: u32>(
    opaque: *mut c_void,
    addr: sys::hwaddr,
    value: u64,
    size: c_uint,
) {
    // SAFETY: as in mmio_read.
    let inst = unsafe { &mut *opaque.cast::<Instance<T, P>>() };
    // SAFETY: `state` is initialized by instance_init.
    if let Some(dev) = unsafe { inst.state.assume_init_mut() } {
        dev.mmio_write(R, addr, size, value);
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
        props::install::<T>(klass, offset_of!(Instance<T, P>, props), placement);
    }
}

unsafe extern "C" fn instance_init<T: Device, P: 'static>(obj: *mut sys::Object) {
    let d = T::DESCRIPTOR;
    let s = syms();
    let inst = obj.cast::<Instance<T, P>>();
    // SAFETY: QOM zeroed the instance and wrote property defaults into
    // `props`; we initialize the other fields in place without reading
    // them. The class data is the ClassData we leaked for this type.
    unsafe {
        addr_of_mut!((*inst).state).write(MaybeUninit::new(None));
        let class_data = class_data_of::<T>();
        for (i, region) in d.regions.iter().enumerate() {
            let mr = addr_of_mut!((*inst).regions[i]);
            s.memory_region_init_io(
                mr,
                obj,
                &(&(*class_data).ops)[i] as *const sys::MemoryRegionOps,
                inst.cast(),
                leak_cstr(&format!("{}-{}", d.name, region.name)),
                region.size,
            );
            if d.bus == BusKind::SysBus {
                s.sysbus_init_mmio(obj.cast(), mr);
            }
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
                group.count as c_int,
            );
            next += group.count as usize;
        }
        for (g, group) in d.gpio_in.iter().enumerate() {
            let ctx = addr_of_mut!((*inst).gpio_in[g]);
            ctx.write(GpioIn {
                instance: inst.cast(),
                group: g as u32,
            });
            let name = group.name.map_or(std::ptr::null(), leak_cstr);
            s.qdev_init_gpio_in_named_with_opaque(
                dev,
                Some(gpio_in_handler::<T, P>),
                ctx.cast(),
                name,
                group.count as c_int,
            );
        }
    }
}

/// The ClassData of type `T`, made on first use. (QOM hands `class_data`
/// to `class_init` only, so instances find it by Rust type.)
fn class_data_of<T: Device>() -> *const ClassData {
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

unsafe extern "C" fn instance_finalize<T: Device, P: 'static>(obj: *mut sys::Object) {
    let inst = obj.cast::<Instance<T, P>>();
    // SAFETY: QOM finalizes an instance once, after its properties and
    // children (regions, GPIO links) are gone; `state` was initialized by
    // instance_init.
    unsafe { (*inst).state.assume_init_drop() };
}

unsafe extern "C" fn gpio_in_handler<T: Device, P>(opaque: *mut c_void, n: c_int, level: c_int) {
    // SAFETY: the opaque is the GpioIn context in our instance.
    unsafe {
        let ctx = &*opaque.cast::<GpioIn>();
        let inst = &mut *ctx.instance.cast::<Instance<T, P>>();
        if let Some(dev) = inst.state.assume_init_mut() {
            dev.gpio_in(ctx.group, n as u32, level != 0);
        }
    }
}

/// Builds the device from its properties and runs its realize hook.
///
/// # Safety
/// `inst` is a live instance of our type.
unsafe fn realize_common<T: Device, P>(
    inst: *mut Instance<T, P>,
    errp: *mut *mut sys::Error,
) -> bool {
    let d = T::DESCRIPTOR;
    let irqs = d.irqs;
    let gpio_base: Vec<u32> = d
        .gpio_out
        .iter()
        .scan(irqs, |acc, g| {
            let base = *acc;
            *acc += g.count;
            Some(base)
        })
        .collect();
    let inst_addr = inst as usize;
    let mut lines = Lines::new(move |which| {
        let inst = inst_addr as *mut Instance<T, P>;
        // SAFETY: lines live in the device, inside this instance.
        unsafe {
            match which {
                LineRef::Irq(n) => Sink::Qemu(addr_of_mut!((*inst).irqs[n as usize])),
                LineRef::GpioOut { group, line } => Sink::Qemu(addr_of_mut!(
                    (*inst).irqs[(gpio_base[group as usize] + line) as usize]
                )),
                LineRef::Intx => Sink::PciIntx(inst.cast()),
            }
        }
    });
    // SAFETY: see the function's contract.
    let inst = unsafe { &mut *inst };
    let mut dev = match T::instantiate(&inst.props, &mut lines) {
        Ok(dev) => dev,
        Err(e) => {
            set_error(errp, e.message());
            return false;
        }
    };
    if let Err(e) = dev.realize() {
        set_error(errp, e.message());
        return false;
    }
    // SAFETY: initialized by instance_init.
    unsafe { *inst.state.assume_init_mut() = Some(dev) };
    true
}

unsafe extern "C" fn sysbus_realize<T: Device, P>(
    dev: *mut sys::DeviceState,
    errp: *mut *mut sys::Error,
) {
    let inst = dev.cast::<Instance<T, P>>();
    // SAFETY: QEMU realizes our own instance, a SysBusDevice.
    unsafe {
        if !realize_common::<T, P>(inst, errp) {
            return;
        }
        if let Err(msg) = place::<T>(dev.cast(), &(*inst).placement) {
            *(*inst).state.assume_init_mut() = None;
            set_error(errp, &msg);
        }
    }
}

/// Maps the regions and connects the IRQs as the `mmio`, `irq` and `intc`
/// properties say.
///
/// # Safety
/// `sbd` is our instance, being realized.
unsafe fn place<T: Device>(sbd: *mut sys::SysBusDevice, p: &Placement) -> Result<(), String> {
    let d = T::DESCRIPTOR;
    let s = syms();
    if p.irq >= 0 && d.irqs > 0 {
        let path = p.intc.get().unwrap_or_else(|| "ioapic".to_string());
        let cpath = std::ffi::CString::new(path.clone()).map_err(|e| e.to_string())?;
        let mut ambiguous = false;
        // SAFETY: a NUL-terminated path; QOM returns a borrowed object.
        let intc = unsafe { s.object_resolve_path(cpath.as_ptr(), &mut ambiguous) };
        if intc.is_null() {
            let why = if ambiguous { "more than one" } else { "no" };
            return Err(format!(
                "property 'intc': {why} interrupt controller '{path}' on this machine"
            ));
        }
        for n in 0..d.irqs as c_int {
            // SAFETY: `intc` is a device; an input out of its range is NULL,
            // which we refuse.
            unsafe {
                let line = s.qdev_get_gpio_in(intc.cast(), p.irq + n);
                if line.is_null() {
                    return Err(format!(
                        "property 'irq': '{path}' has no input {}",
                        p.irq + n
                    ));
                }
                s.sysbus_connect_irq(sbd, n, line);
            }
        }
    }
    if p.mmio != u64::MAX {
        let mut addr = p.mmio;
        for (i, r) in d.regions.iter().enumerate() {
            addr = addr.next_multiple_of(r.size.next_power_of_two());
            // SAFETY: region `i` was registered in instance_init.
            unsafe { s.sysbus_mmio_map(sbd, i as c_int, addr) };
            addr += r.size;
        }
    }
    Ok(())
}

unsafe extern "C" fn pci_realize<T: Device, P>(
    pdev: *mut sys::PCIDevice,
    errp: *mut *mut sys::Error,
) {
    let d = T::DESCRIPTOR;
    let BusKind::Pci(ids) = d.bus else { return };
    let s = syms();
    // SAFETY: QEMU realizes our own instance, a PCIDevice with its config
    // space allocated.
    unsafe {
        let config = (*pdev).config;
        *config.add(sys::PCI_CLASS_PROG as usize) = ids.prog_if;
        *config.add(sys::PCI_INTERRUPT_PIN as usize) = ids.interrupt_pin;
        let inst = pdev.cast::<Instance<T, P>>();
        for (i, region) in d.regions.iter().enumerate() {
            let bar = d.bars.get(i).copied().unwrap_or(i as u8);
            let ty = if region.io {
                sys::PCI_BASE_ADDRESS_SPACE_IO
            } else {
                sys::PCI_BASE_ADDRESS_SPACE_MEMORY
            };
            s.pci_register_bar(
                pdev,
                c_int::from(bar),
                ty as u8,
                addr_of_mut!((*inst).regions[i]),
            );
        }
        realize_common::<T, P>(inst, errp);
    }
}

unsafe extern "C" fn unrealize<T: Device, P>(dev: *mut sys::DeviceState) {
    let inst = dev.cast::<Instance<T, P>>();
    // SAFETY: our own instance, realized before.
    unsafe {
        if let Some(d) = (*inst).state.assume_init_mut() {
            d.unrealize();
        }
    }
}

unsafe extern "C" fn pci_exit<T: Device, P>(pdev: *mut sys::PCIDevice) {
    // SAFETY: our own instance.
    unsafe { unrealize::<T, P>(pdev.cast()) }
}

unsafe extern "C" fn reset_hold<T: Device, P>(obj: *mut sys::Object, ty: sys::ResetType) {
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
    let inst = obj.cast::<Instance<T, P>>();
    // SAFETY: our own instance; reset runs under the BQL.
    unsafe {
        if let Some(d) = (*inst).state.assume_init_mut() {
            d.reset(kind);
        }
    }
}

/// Drives PCI INTx of `dev`.
pub(crate) fn set_pci_irq(dev: *mut sys::PCIDevice, level: bool) {
    // SAFETY: `dev` is the realized PCI device that owns the line.
    unsafe { syms().pci_set_irq(dev, c_int::from(level)) }
}
