// SPDX-License-Identifier: GPL-2.0-or-later
//! Realize and unrealize: regions, timers, message interrupts and chardevs
//! are set up, the device is built from its properties with its handles
//! bound to QEMU, and its realize hook runs; a sysbus device is then placed.

use std::ffi::c_int;
use std::ptr::addr_of_mut;

use qdev_sys as sys;

use super::callbacks::{chr_can_receive, chr_event, chr_receive, timer_cb};
use super::instance::{class_data_of, Ctx, Instance, Placement};
use super::{leak_cstr, set_error, syms};
use crate::chardev::CharSink;
use crate::device::{BusKind, Device, PropertyKind};
use crate::dma::DmaSink;
use crate::lines::{Binder, LineRef, Sink, Wiring};
use crate::msi::MsiSink;
use crate::timer::TimerSink;

/// Binds a device's handles to its instance.
struct QemuBinder<T: Device, P> {
    inst: *mut Instance<T, P>,
    gpio_base: Vec<u32>,
}

impl<T: Device, P> Binder for QemuBinder<T, P> {
    fn line(&mut self, which: LineRef) -> Sink {
        let inst = self.inst;
        // SAFETY: handles live in the device, inside this instance.
        unsafe {
            match which {
                LineRef::Irq(n) => Sink::Qemu(addr_of_mut!((*inst).irqs[n as usize])),
                LineRef::GpioOut { group, line } => Sink::Qemu(addr_of_mut!(
                    (*inst).irqs[(self.gpio_base[group as usize] + line) as usize]
                )),
                LineRef::Intx => Sink::PciIntx(inst.cast()),
            }
        }
    }

    fn timer(&mut self, index: usize) -> TimerSink {
        // SAFETY: as above.
        unsafe {
            TimerSink::Qemu {
                timer: addr_of_mut!((*self.inst).timers[index]),
                state: addr_of_mut!((*self.inst).timer_state[index]),
            }
        }
    }

    fn dma(&mut self) -> DmaSink {
        // SAFETY: as above; a PCI device's DMA goes through its bus-master
        // address space (disabled while Bus Master Enable is clear).
        unsafe {
            match T::DESCRIPTOR.bus {
                BusKind::Pci(_) => DmaSink::Qemu(addr_of_mut!(
                    (*self.inst.cast::<sys::PCIDevice>()).bus_master_as
                )),
                BusKind::SysBus => {
                    match super::data_symbol::<sys::AddressSpace>(c"address_space_memory") {
                        Some(space) => DmaSink::Qemu(space),
                        None => DmaSink::None,
                    }
                }
            }
        }
    }

    fn msi(&mut self) -> MsiSink {
        match T::DESCRIPTOR.bus {
            BusKind::Pci(_) => MsiSink::Qemu(self.inst.cast(), T::DESCRIPTOR.name),
            BusKind::SysBus => MsiSink::None,
        }
    }

    fn system(&mut self) -> crate::system::SystemSink {
        crate::system::SystemSink::Qemu
    }

    fn chardev(&mut self, index: usize) -> CharSink {
        // SAFETY: as above.
        unsafe { CharSink::Qemu(addr_of_mut!((*self.inst).chardevs[index])) }
    }
}

/// The size of region `i`: its property's value if it has one.
fn region_size<T: Device>(props: &T::Props, i: usize) -> Result<u64, String> {
    let d = T::DESCRIPTOR;
    let r = &d.regions[i];
    let Some(name) = r.size_property else {
        return Ok(r.size);
    };
    let p = d.property(name).expect("the macro checks size properties");
    let base = (props as *const T::Props).cast::<u8>();
    // SAFETY: the property's offset and kind describe a field of Props.
    let size = unsafe {
        match p.kind {
            PropertyKind::U32 => u64::from(base.add(p.offset).cast::<u32>().read()),
            PropertyKind::U64 => base.add(p.offset).cast::<u64>().read(),
            _ => unreachable!("the macro checks size properties are u32 or u64"),
        }
    };
    let pci = matches!(d.bus, BusKind::Pci(_));
    if size == 0 || (pci && !size.is_power_of_two()) {
        return Err(format!(
            "property '{name}' must be {} (it sizes region '{}')",
            if pci { "a power of two" } else { "at least 1" },
            r.name
        ));
    }
    Ok(size)
}

/// Sets up a device being realized and builds it.
///
/// # Safety
/// `inst` is a live instance of our type, being realized.
unsafe fn realize_common<T: Device, P>(
    inst: *mut Instance<T, P>,
    errp: *mut *mut sys::Error,
) -> bool {
    let d = T::DESCRIPTOR;
    let s = syms();
    let obj = inst.cast::<sys::Object>();
    for (i, c) in d.chardevs.iter().enumerate().filter(|(_, c)| c.required) {
        let name = c.name;
        // SAFETY: the chardev properties were set before realize; the
        // backend cell lives in the instance.
        let connected =
            unsafe { s.qemu_chr_fe_backend_connected(addr_of_mut!((*inst).chardevs[i])) };
        if !connected {
            set_error(
                errp,
                &format!(
                    "property '{name}' is required: give the device a chardev \
                     (-chardev socket,id=ID,... and {name}=ID)"
                ),
            );
            return false;
        }
    }
    // SAFETY: see the function's contract; each object below is
    // initialized in place in the instance, which outlives it.
    unsafe {
        let class_data = class_data_of::<T>();
        for (i, region) in d.regions.iter().enumerate().filter(|(_, r)| !r.config) {
            let size = match region_size::<T>(&(*inst).props, i) {
                Ok(size) => size,
                Err(msg) => {
                    set_error(errp, &msg);
                    return false;
                }
            };
            let mr = addr_of_mut!((*inst).regions[i]);
            s.memory_region_init_io(
                mr,
                obj,
                &(&(*class_data).ops)[i] as *const sys::MemoryRegionOps,
                inst.cast(),
                leak_cstr(&format!("{}-{}", d.name, region.name)),
                size,
            );
        }
        for i in 0..d.timers as usize {
            let ctx = addr_of_mut!((*inst).timer_ctx[i]);
            ctx.write(Ctx {
                instance: inst.cast(),
                index: i as u32,
            });
            s.timer_init_full(
                addr_of_mut!((*inst).timers[i]),
                std::ptr::null_mut(),
                sys::QEMUClockType::QEMU_CLOCK_VIRTUAL,
                1, // SCALE_NS
                0,
                Some(timer_cb::<T, P>),
                ctx.cast(),
            );
        }
    }
    let gpio_base: Vec<u32> = d
        .gpio_out
        .iter()
        .scan(d.irqs, |acc, g| {
            let base = *acc;
            *acc += g.count;
            Some(base)
        })
        .collect();
    let mut binder = QemuBinder { inst, gpio_base };
    // SAFETY: see the function's contract.
    let props = unsafe { &(*inst).props };
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut dev = T::instantiate(props, &mut Wiring::new(&mut binder))?;
        dev.realize()?;
        Ok::<T, crate::Error>(dev)
    }));
    let dev = match built {
        Ok(Ok(dev)) => dev,
        Ok(Err(e)) => {
            set_error(errp, e.message());
            return false;
        }
        Err(payload) => super::panicked(d.name, "realize", &*payload),
    };
    // SAFETY: initialized by instance_init; then the chardev handlers,
    // which may call into the device at once (set_open), see it.
    unsafe {
        *(*inst).state.assume_init_mut() = Some(dev);
        for i in 0..d.chardevs.len() {
            let ctx = addr_of_mut!((*inst).chardev_ctx[i]);
            ctx.write(Ctx {
                instance: inst.cast(),
                index: i as u32,
            });
            s.qemu_chr_fe_set_handlers(
                addr_of_mut!((*inst).chardevs[i]),
                Some(chr_can_receive::<T, P>),
                Some(chr_receive::<T, P>),
                Some(chr_event::<T, P>),
                None,
                ctx.cast(),
                std::ptr::null_mut(),
                true,
            );
        }
    }
    true
}

pub(super) unsafe extern "C" fn sysbus_realize<T: Device, P>(
    dev: *mut sys::DeviceState,
    errp: *mut *mut sys::Error,
) {
    let inst = dev.cast::<Instance<T, P>>();
    let s = syms();
    // SAFETY: QEMU realizes our own instance, a SysBusDevice.
    unsafe {
        if !realize_common::<T, P>(inst, errp) {
            return;
        }
        for i in 0..T::DESCRIPTOR.regions.len() {
            s.sysbus_init_mmio(dev.cast(), addr_of_mut!((*inst).regions[i]));
        }
        if let Err(msg) = place::<T>(dev.cast(), &(*inst).placement) {
            teardown::<T, P>(inst);
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
        // SAFETY: `intc` is a device (QOM found it by path).
        let inputs = unsafe { unnamed_gpio_inputs(intc.cast()) };
        let last = p.irq + d.irqs as c_int - 1;
        if last >= inputs {
            return Err(format!(
                "property 'irq': '{path}' has inputs 0 to {}, the device needs {} to {last}",
                inputs - 1,
                p.irq
            ));
        }
        for n in 0..d.irqs as c_int {
            // SAFETY: the input exists (checked above; QEMU asserts
            // otherwise).
            unsafe {
                let line = s.qdev_get_gpio_in(intc.cast(), p.irq + n);
                s.sysbus_connect_irq(sbd, n, line);
            }
        }
    }
    if p.mmio != u64::MAX {
        let mut addr = p.mmio;
        for i in 0..d.regions.len() {
            // SAFETY: region `i` was registered at realize.
            let size = unsafe { s.memory_region_size((*sbd).mmio[i].memory) };
            // Region 0 goes exactly at `mmio`; each further one at the next
            // multiple of its own size.
            if i > 0 {
                addr = addr.next_multiple_of(size.next_power_of_two());
            }
            // Two devices at one address: QEMU would let the later one hide
            // the other; refuse it, naming what is there.
            // SAFETY: system memory is live; the lookup is QEMU's, under
            // the BQL.
            if let Some(what) = unsafe { mapped_at(addr, size) } {
                return Err(format!(
                    "property 'mmio': region '{}' at {addr:#x}..{:#x} overlaps {what}",
                    d.regions[i].name,
                    addr + size - 1
                ));
            }
            // SAFETY: as above.
            unsafe { s.sysbus_mmio_map(sbd, i as c_int, addr) };
            addr += size;
        }
    }
    Ok(())
}

/// What system memory already maps in `[addr, addr + size)`, described
/// for an error message (`None`: nothing).
///
/// # Safety
/// Called under the BQL, after QEMU's memory API is up.
unsafe fn mapped_at(addr: u64, size: u64) -> Option<String> {
    let s = syms();
    // SAFETY: memory_region_find takes a reference on the region it
    // returns, dropped below; the name and owner path are QEMU's strings
    // (the path is ours to free).
    unsafe {
        let found = s.memory_region_find(s.get_system_memory(), addr, size);
        if found.mr.is_null() {
            return None;
        }
        let cstr = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let name = cstr(s.memory_region_name(found.mr));
        let owner = (*found.mr).owner;
        let path = if owner.is_null() {
            String::new()
        } else {
            let p = s.object_get_canonical_path(owner);
            let path = cstr(p);
            s.g_free(p.cast());
            path
        };
        s.memory_region_unref(found.mr);
        let at = found.offset_within_address_space;
        Some(if path.is_empty() {
            format!("'{name}' mapped at {at:#x}")
        } else {
            format!("'{name}' of {path} mapped at {at:#x}")
        })
    }
}

/// The number of unnamed GPIO inputs of `dev` (an interrupt controller's
/// input lines).
///
/// # Safety
/// `dev` is a live device.
unsafe fn unnamed_gpio_inputs(dev: *mut sys::DeviceState) -> c_int {
    // SAFETY: QOM's list of the device's GPIO groups, read under the BQL.
    unsafe {
        let mut it = (*dev).gpios.lh_first;
        while !it.is_null() {
            if (*it).name.is_null() {
                return (*it).num_in;
            }
            it = (*it).node.le_next;
        }
    }
    0
}

pub(super) unsafe extern "C" fn pci_realize<T: Device, P>(
    pdev: *mut sys::PCIDevice,
    errp: *mut *mut sys::Error,
) {
    let d = T::DESCRIPTOR;
    let BusKind::Pci(ids) = d.bus else { return };
    let s = syms();
    let inst = pdev.cast::<Instance<T, P>>();
    // SAFETY: QEMU realizes our own instance, a PCIDevice with its config
    // space allocated.
    unsafe {
        let config = (*pdev).config;
        *config.add(sys::PCI_CLASS_PROG as usize) = ids.prog_if;
        *config.add(sys::PCI_INTERRUPT_PIN as usize) = ids.interrupt_pin;
        // The device's own config registers: taken, so that capabilities
        // are not placed over them, and written only through the device.
        if let Some(ci) = d.config_region() {
            for reg in d.regions[ci].registers {
                for k in 0..reg.count {
                    let start = (reg.offset + u64::from(k) * reg.stride) as usize;
                    let end = start + reg.width as usize;
                    for b in start..end {
                        *(*pdev).wmask.add(b) = 0;
                    }
                    // Whole dwords: QEMU places capabilities at the first
                    // free byte, and they must stay dword-aligned.
                    for b in (start & !3)..end.next_multiple_of(4) {
                        *(*pdev).used.add(b) = 0xff;
                    }
                }
            }
        }
        if ids.express && s.pcie_endpoint_cap_init(pdev, 0) < 0 {
            set_error(errp, "cannot add the PCI Express capability");
            return;
        }
        if ids.msi_vectors > 0 && s.msi_init(pdev, 0, ids.msi_vectors, true, false, errp) < 0 {
            return;
        }
        if ids.msix_vectors > 0 {
            if s.msix_init_exclusive_bar(pdev, ids.msix_vectors as u16, ids.msix_bar, errp) < 0 {
                return;
            }
            for v in 0..ids.msix_vectors {
                s.msix_vector_use(pdev, v);
            }
        }
        if !realize_common::<T, P>(inst, errp) {
            return;
        }
        for (i, region) in d.regions.iter().enumerate().filter(|(_, r)| !r.config) {
            let bar = d.bars.get(i).copied().unwrap_or(i as u8);
            let mut ty = if region.io {
                sys::PCI_BASE_ADDRESS_SPACE_IO
            } else {
                sys::PCI_BASE_ADDRESS_SPACE_MEMORY
            };
            if region.bits64 {
                ty |= sys::PCI_BASE_ADDRESS_MEM_TYPE_64;
            }
            if region.prefetch {
                ty |= sys::PCI_BASE_ADDRESS_MEM_PREFETCH;
            }
            s.pci_register_bar(
                pdev,
                c_int::from(bar),
                ty as u8,
                addr_of_mut!((*inst).regions[i]),
            );
        }
    }
}

/// Undoes what realize set up: timers, chardev handlers, the device.
///
/// # Safety
/// `inst` is our instance, realized (or failing realize after
/// `realize_common` succeeded).
unsafe fn teardown<T: Device, P>(inst: *mut Instance<T, P>) {
    let d = T::DESCRIPTOR;
    let s = syms();
    // SAFETY: see the function's contract.
    unsafe {
        if let Some(dev) = (*inst).state.assume_init_mut() {
            if let Err(payload) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dev.unrealize()))
            {
                super::panicked(d.name, "unrealize", &*payload);
            }
        }
        let dev = (*inst).state.assume_init_mut().take();
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(dev))) {
            super::panicked(d.name, "drop", &*payload);
        }
        for i in 0..d.timers as usize {
            s.timer_del(addr_of_mut!((*inst).timers[i]));
        }
        for i in 0..d.chardevs.len() {
            s.qemu_chr_fe_deinit(addr_of_mut!((*inst).chardevs[i]), false);
        }
    }
}

pub(super) unsafe extern "C" fn unrealize<T: Device, P>(dev: *mut sys::DeviceState) {
    // SAFETY: our own instance, realized before.
    unsafe { teardown::<T, P>(dev.cast()) }
}

pub(super) unsafe extern "C" fn pci_exit<T: Device, P>(pdev: *mut sys::PCIDevice) {
    let BusKind::Pci(ids) = T::DESCRIPTOR.bus else {
        return;
    };
    let s = syms();
    // SAFETY: our own instance, realized before.
    unsafe {
        teardown::<T, P>(pdev.cast());
        if ids.msix_vectors > 0 {
            s.msix_uninit_exclusive_bar(pdev);
        }
        if ids.msi_vectors > 0 {
            s.msi_uninit(pdev);
        }
    }
}
