// SPDX-License-Identifier: GPL-2.0-or-later
//! The device model as data: what `#[qemu_device]` generates, and what both
//! backends (QEMU and the mocked bus) read. A device is plain Rust; this is
//! its datasheet table.

use crate::chardev::CharEvent;
use crate::lines::Wiring;
use crate::regs::Semantics;
use crate::Error;

/// Which bus the device plugs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusKind {
    /// A system-bus device (`sys-bus-device`): MMIO regions and IRQ lines.
    SysBus,
    /// A PCI device.
    Pci(PciIds),
}

/// PCI identification, as `#[qemu_device(pci(...))]` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciIds {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Subsystem vendor ID (0: QEMU's default subsystem, `1af4:1100`).
    pub subsystem_vendor: u16,
    /// Subsystem ID.
    pub subsystem: u16,
    /// Class code: base class, subclass (`0x0700`).
    pub class: u16,
    /// Programming interface.
    pub prog_if: u8,
    /// Revision.
    pub revision: u8,
    /// PCI Express endpoint instead of conventional PCI.
    pub express: bool,
    /// Interrupt pin (1 = INTA; 0 = none).
    pub interrupt_pin: u8,
    /// MSI vectors (0: no MSI capability).
    pub msi_vectors: u32,
    /// MSI-X vectors (0: no MSI-X).
    pub msix_vectors: u32,
    /// The BAR that holds the MSI-X table and PBA.
    pub msix_bar: u8,
}

/// One register of a region.
#[derive(Debug, Clone, Copy)]
pub struct RegisterDescriptor {
    /// The datasheet name.
    pub name: &'static str,
    /// Byte offset of the first instance in its region.
    pub offset: u64,
    /// Width in bytes (1, 2, 4 or 8).
    pub width: u32,
    /// Value at reset.
    pub reset: u64,
    /// What accesses do, bit by bit.
    pub semantics: Semantics,
    /// Number of instances (1 unless it is an array).
    pub count: u32,
    /// Distance in bytes between instances of an array.
    pub stride: u64,
    /// Named bit fields.
    pub fields: &'static [FieldDescriptor],
    /// The access sizes (bytes) the register takes (`sizes = [...]`);
    /// empty: any size within the register.
    pub sizes: &'static [u32],
    /// The model does not implement the register: every access is logged
    /// as unimplemented (`unimplemented`).
    pub unimplemented: bool,
    /// Bits the model does not implement: a write changing them is logged
    /// (`unimplemented = MASK`).
    pub unimplemented_bits: u64,
    /// The doc comment.
    pub doc: &'static str,
}

/// A named bit range inside a register.
#[derive(Debug, Clone, Copy)]
pub struct FieldDescriptor {
    /// The datasheet name.
    pub name: &'static str,
    /// Lowest bit.
    pub shift: u32,
    /// Number of bits.
    pub bits: u32,
}

/// One MMIO region (sysbus) or BAR (PCI).
#[derive(Debug, Clone, Copy)]
pub struct RegionDescriptor {
    /// Region name, shown in `info mtree` and logs.
    pub name: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// An I/O-port BAR instead of memory (PCI only).
    pub io: bool,
    /// A 64-bit memory BAR (PCI only).
    pub bits64: bool,
    /// A prefetchable memory BAR (PCI only).
    pub prefetch: bool,
    /// Registers in the device's own part of PCI config space (0x40 on)
    /// instead of a BAR.
    pub config: bool,
    /// The property whose value is the size, overriding `size` (a power of
    /// two for a BAR).
    pub size_property: Option<&'static str>,
    /// Registers, sorted by offset.
    pub registers: &'static [RegisterDescriptor],
}

/// The type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `String` (optional; empty when unset)
    Str,
}

/// One qdev property.
#[derive(Debug, Clone, Copy)]
pub struct PropertyDescriptor {
    /// Name as the user writes it (`-device dev,fifo-depth=32`).
    pub name: &'static str,
    /// Type.
    pub kind: PropertyKind,
    /// Byte offset in the device's `Props` storage.
    pub offset: usize,
    /// Default for integer and bool properties (bool: 0 or 1).
    pub default: i128,
    /// Inclusive range checked at realize, if any.
    pub range: Option<(i128, i128)>,
    /// Shown by `-device NAME,help`.
    pub description: &'static str,
}

/// A named group of GPIO lines.
#[derive(Debug, Clone, Copy)]
pub struct GpioDescriptor {
    /// The name (`None`: the device's unnamed GPIO lines).
    pub name: Option<&'static str>,
    /// Number of lines.
    pub count: u32,
}

/// A chardev frontend of a device.
#[derive(Debug, Clone, Copy)]
pub struct ChardevDescriptor {
    /// The property that names the backend (`chardev` by default).
    pub name: &'static str,
    /// Whether realize fails without a backend (`#[chardev(required)]`).
    pub required: bool,
}

/// Everything QEMU and the mocked bus need to know about a device type.
#[derive(Debug, Clone, Copy)]
pub struct DeviceDescriptor {
    /// The QOM type name (`-device NAME`).
    pub name: &'static str,
    /// One-line description for `-device help`.
    pub description: &'static str,
    /// The bus.
    pub bus: BusKind,
    /// MMIO regions or BARs, in order (BAR numbers for PCI are in `bars`).
    pub regions: &'static [RegionDescriptor],
    /// For PCI: the BAR number of each region.
    pub bars: &'static [u8],
    /// Properties.
    pub properties: &'static [PropertyDescriptor],
    /// Number of sysbus IRQ outputs.
    pub irqs: u32,
    /// GPIO outputs.
    pub gpio_out: &'static [GpioDescriptor],
    /// GPIO inputs.
    pub gpio_in: &'static [GpioDescriptor],
    /// Number of timers.
    pub timers: u32,
    /// Chardev frontends, by property name.
    pub chardevs: &'static [ChardevDescriptor],
    /// The version of the migration stream (`version = N`, default 1).
    pub version: u32,
    /// The oldest stream version the device can load (`minimum_version`).
    pub minimum_version: u32,
}

impl DeviceDescriptor {
    /// The index of the config-space region, if the device has one.
    pub fn config_region(&self) -> Option<usize> {
        self.regions.iter().position(|r| r.config)
    }

    /// Whether a config-space access of `len` bytes at `addr` falls in one
    /// of the device's own config registers.
    pub fn config_register_at(&self, addr: u64, len: u32) -> bool {
        let Some(r) = self.config_region() else {
            return false;
        };
        self.regions[r].registers.iter().any(|reg| {
            (0..reg.count).any(|i| {
                let start = reg.offset + u64::from(i) * reg.stride;
                addr >= start && addr + u64::from(len) <= start + u64::from(reg.width)
            })
        })
    }

    /// The property named `name`.
    pub fn property(&self, name: &str) -> Option<&PropertyDescriptor> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// Why a reset happens (QEMU's reset types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    /// Power-on or system reset.
    Cold,
    /// Reset before a snapshot is loaded (the snapshot then restores state).
    SnapshotLoad,
    /// Wake-up from suspend.
    Wakeup,
}

/// A device model. `#[qemu_device]` implements this; device authors write
/// the struct and the methods its attributes name.
pub trait Device: Sized + 'static {
    /// The datasheet table.
    const DESCRIPTOR: &'static DeviceDescriptor;

    /// Raw property storage that QEMU's property setters write into
    /// (`#[repr(C)]`, generated).
    type Props: Default + 'static;

    /// Builds the device at realize from its property values, with its
    /// lines bound to the backend. Range checks fail here, naming the
    /// property.
    fn instantiate(props: &Self::Props, wiring: &mut Wiring<'_>) -> Result<Self, Error>;

    /// A guest read of `size` bytes at `offset` in region `region`.
    fn mmio_read(&mut self, region: u32, offset: u64, size: u32) -> u64;

    /// A guest write.
    fn mmio_write(&mut self, region: u32, offset: u64, size: u32, value: u64);

    /// The fast path of [`mmio_read`](Device::mmio_read), generated: a read
    /// that register semantics alone answer, running no code of the
    /// device's author (so it cannot panic); `None` for every other read,
    /// which then goes to `mmio_read`. An implementation must not panic.
    #[doc(hidden)]
    #[inline(always)]
    fn mmio_read_plain(&mut self, region: u32, offset: u64, size: u32) -> Option<u64> {
        let _ = (region, offset, size);
        None
    }

    /// The fast path of [`mmio_write`](Device::mmio_write), as
    /// [`mmio_read_plain`](Device::mmio_read_plain): `false` when the write
    /// is not one it handles.
    #[doc(hidden)]
    #[inline(always)]
    fn mmio_write_plain(&mut self, region: u32, offset: u64, size: u32, value: u64) -> bool {
        let _ = (region, offset, size, value);
        false
    }

    /// Puts every register back to its reset value, then runs the reset
    /// hook.
    fn reset(&mut self, kind: ResetKind);

    /// The realize hook: runs after [`Device::instantiate`]; an error stops
    /// QEMU with the message.
    fn realize(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// The unrealize hook.
    fn unrealize(&mut self) {}

    /// A GPIO input changed: group `group` of [`DeviceDescriptor::gpio_in`],
    /// line `line`.
    fn gpio_in(&mut self, group: u32, line: u32, level: bool) {
        let _ = (group, line, level);
    }

    /// Writes the device's migratable state at
    /// [`DeviceDescriptor::version`]: its migrated fields in declaration
    /// order (registers, fields without an attribute, line levels, timers),
    /// then what the device's `save` hook adds.
    fn save_state(&self, w: &mut crate::StateWriter) {
        let _ = w;
    }

    /// Reads back what [`Device::save_state`] wrote at `version` (between
    /// [`DeviceDescriptor::minimum_version`] and
    /// [`DeviceDescriptor::version`]) on the destination of a migration or
    /// when a snapshot is loaded; fields added after `version` keep their
    /// reset values. Then runs the device's `post_load` hook.
    fn load_state(&mut self, r: &mut crate::StateReader<'_>, version: u32) -> Result<(), Error> {
        let _ = (r, version);
        Ok(())
    }

    /// Timer `index` expired.
    fn timer_fired(&mut self, index: u32) {
        let _ = index;
    }

    /// How many bytes chardev `index` may deliver now.
    fn chardev_can_receive(&mut self, index: u32) -> usize {
        let _ = index;
        0
    }

    /// Bytes from chardev `index` (never more than `chardev_can_receive`
    /// said).
    fn chardev_receive(&mut self, index: u32, bytes: &[u8]) {
        let _ = (index, bytes);
    }

    /// An event on chardev `index`.
    fn chardev_event(&mut self, index: u32, event: CharEvent) {
        let _ = (index, event);
    }
}
