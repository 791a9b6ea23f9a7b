// SPDX-License-Identifier: GPL-2.0-or-later
//! PCI helpers: configuration space through configuration mechanism #1
//! (ports 0xcf8/0xcfc, as on `-M pc` and `-M q35`), bus scan, BAR sizing
//! and mapping, capabilities, INTx routing and MSI.
//!
//! There is no firmware (QEMU starts paused, and on x86 the harness
//! replaces the BIOS with a stub), so nothing has assigned BARs or
//! interrupt routes: tests do it with these helpers.

use std::fmt;

use crate::error::{HarnessError, Result};
use crate::qemu::Qemu;

/// Configuration address port of mechanism #1.
pub const PCI_CONFIG_ADDRESS: u16 = 0xcf8;
/// Configuration data port of mechanism #1.
pub const PCI_CONFIG_DATA: u16 = 0xcfc;

/// Command register offset.
pub const PCI_COMMAND: u8 = 0x04;
/// Command register: I/O space decoding.
pub const PCI_COMMAND_IO: u16 = 0x1;
/// Command register: memory space decoding.
pub const PCI_COMMAND_MEMORY: u16 = 0x2;
/// Command register: bus mastering (DMA, MSI).
pub const PCI_COMMAND_MASTER: u16 = 0x4;
/// Command register: INTx disable.
pub const PCI_COMMAND_INTX_DISABLE: u16 = 0x400;
/// Status register offset.
pub const PCI_STATUS: u8 = 0x06;
/// Capability pointer offset.
pub const PCI_CAPABILITY_LIST: u8 = 0x34;
/// Interrupt line register offset.
pub const PCI_INTERRUPT_LINE: u8 = 0x3c;
/// Interrupt pin register offset (1 = INTA# ... 4 = INTD#, 0 = none).
pub const PCI_INTERRUPT_PIN: u8 = 0x3d;
/// Capability ID of MSI.
pub const PCI_CAP_ID_MSI: u8 = 0x05;
/// Capability ID of the vendor-specific capability.
pub const PCI_CAP_ID_VNDR: u8 = 0x09;
/// Capability ID of PCI Express.
pub const PCI_CAP_ID_EXP: u8 = 0x10;
/// Capability ID of MSI-X.
pub const PCI_CAP_ID_MSIX: u8 = 0x11;

/// i440FX host bridge (`-M pc`), vendor | device << 16.
const HOST_I440FX: u32 = 0x1237_8086;
/// Q35 host bridge (`-M q35`).
const HOST_Q35: u32 = 0x29c0_8086;

/// A PCI bus/device/function address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bdf {
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number, 0..32.
    pub device: u8,
    /// Function number, 0..8.
    pub function: u8,
}

impl Bdf {
    /// `bus:device.function`; `device` < 32 and `function` < 8.
    pub const fn new(bus: u8, device: u8, function: u8) -> Bdf {
        Bdf {
            bus,
            device,
            function,
        }
    }

    fn check(self) -> Result<()> {
        if self.device >= 32 || self.function >= 8 {
            return Err(HarnessError::Usage(format!("invalid PCI address {self}")));
        }
        Ok(())
    }

    /// The 32-bit value written to 0xcf8 for register `offset` (dword
    /// aligned down).
    pub fn config_address(self, offset: u8) -> u32 {
        0x8000_0000
            | u32::from(self.bus) << 16
            | u32::from(self.device) << 11
            | u32::from(self.function) << 8
            | u32::from(offset & 0xfc)
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{:x}",
            self.bus, self.device, self.function
        )
    }
}

/// A PCI function found by a bus scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciFunction {
    /// Its address.
    pub bdf: Bdf,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Class code: base class, subclass, programming interface (24 bits,
    /// e.g. 0x00ff00 for edu, 0x070002 for a 16550 UART).
    pub class_code: u32,
    /// Revision ID.
    pub revision: u8,
    /// Header layout (0 = device, 1 = PCI-to-PCI bridge), without the
    /// multi-function bit.
    pub header_type: u8,
    /// Whether the header's multi-function bit is set.
    pub multifunction: bool,
    /// Subsystem vendor ID (type 0 headers; 0 otherwise).
    pub subsystem_vendor_id: u16,
    /// Subsystem ID (type 0 headers; 0 otherwise).
    pub subsystem_id: u16,
    /// Interrupt pin: 1 = INTA# ... 4 = INTD#, 0 = none.
    pub interrupt_pin: u8,
}

impl PciFunction {
    /// Number of BARs its header has (6 for devices, 2 for bridges).
    pub fn bar_count(&self) -> u8 {
        match self.header_type {
            0 => 6,
            1 => 2,
            _ => 0,
        }
    }
}

impl fmt::Display for PciFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:04x}:{:04x} class {:06x} rev {:02x}",
            self.bdf, self.vendor_id, self.device_id, self.class_code, self.revision
        )
    }
}

/// What a BAR decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BarKind {
    /// I/O space (ports).
    Io,
    /// 32-bit memory space.
    Memory32,
    /// 64-bit memory space (uses this BAR and the next one).
    Memory64,
}

/// A BAR's type and size, found by writing all-ones and reading back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarInfo {
    /// BAR index, 0..6.
    pub index: u8,
    /// I/O or memory, 32 or 64 bit.
    pub kind: BarKind,
    /// Whether a memory BAR is prefetchable.
    pub prefetchable: bool,
    /// Size in bytes (a power of two).
    pub size: u64,
}

/// A mapped BAR: accesses at an offset go to `readX`/`writeX` (memory
/// BARs) or `inX`/`outX` (I/O BARs) at the BAR's address plus the offset.
#[derive(Debug, Clone, Copy)]
pub struct Bar<'q> {
    qemu: &'q Qemu,
    info: BarInfo,
    address: u64,
}

impl<'q> Bar<'q> {
    /// A BAR already programmed at `address` (e.g. by a guest or an earlier
    /// [`Qemu::pci_map_bar`]).
    pub fn new(qemu: &'q Qemu, info: BarInfo, address: u64) -> Bar<'q> {
        Bar {
            qemu,
            info,
            address,
        }
    }

    /// The address it is mapped at (a port number for I/O BARs).
    pub fn address(&self) -> u64 {
        self.address
    }

    /// Its type and size.
    pub fn info(&self) -> BarInfo {
        self.info
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.info.size
    }

    /// Whether it is an I/O BAR.
    pub fn is_io(&self) -> bool {
        self.info.kind == BarKind::Io
    }

    fn at(&self, offset: u64, width: u64) -> Result<u64> {
        let inside = matches!(offset.checked_add(width), Some(end) if end <= self.info.size);
        if !inside {
            return Err(HarnessError::Usage(format!(
                "access of {width} bytes at offset {offset:#x} is outside BAR{} ({:#x} bytes)",
                self.info.index, self.info.size
            )));
        }
        Ok(self.address + offset)
    }

    fn port(&self, offset: u64, width: u64) -> Result<u16> {
        let addr = self.at(offset, width)?;
        u16::try_from(addr).map_err(|_| HarnessError::Usage(format!("port {addr:#x} out of range")))
    }

    /// Reads a byte at `offset`.
    pub fn readb(&self, offset: u64) -> Result<u8> {
        if self.is_io() {
            self.qemu.inb(self.port(offset, 1)?)
        } else {
            self.qemu.readb(self.at(offset, 1)?)
        }
    }

    /// Reads 16 bits at `offset`.
    pub fn readw(&self, offset: u64) -> Result<u16> {
        if self.is_io() {
            self.qemu.inw(self.port(offset, 2)?)
        } else {
            self.qemu.readw(self.at(offset, 2)?)
        }
    }

    /// Reads 32 bits at `offset`.
    pub fn readl(&self, offset: u64) -> Result<u32> {
        if self.is_io() {
            self.qemu.inl(self.port(offset, 4)?)
        } else {
            self.qemu.readl(self.at(offset, 4)?)
        }
    }

    /// Reads 64 bits at `offset` (memory BARs only: there is no 64-bit port
    /// access).
    pub fn readq(&self, offset: u64) -> Result<u64> {
        self.memory_only("readq")?;
        self.qemu.readq(self.at(offset, 8)?)
    }

    /// Writes a byte at `offset`.
    pub fn writeb(&self, offset: u64, value: u8) -> Result<()> {
        if self.is_io() {
            self.qemu.outb(self.port(offset, 1)?, value)
        } else {
            self.qemu.writeb(self.at(offset, 1)?, value)
        }
    }

    /// Writes 16 bits at `offset`.
    pub fn writew(&self, offset: u64, value: u16) -> Result<()> {
        if self.is_io() {
            self.qemu.outw(self.port(offset, 2)?, value)
        } else {
            self.qemu.writew(self.at(offset, 2)?, value)
        }
    }

    /// Writes 32 bits at `offset`.
    pub fn writel(&self, offset: u64, value: u32) -> Result<()> {
        if self.is_io() {
            self.qemu.outl(self.port(offset, 4)?, value)
        } else {
            self.qemu.writel(self.at(offset, 4)?, value)
        }
    }

    /// Writes 64 bits at `offset` (memory BARs only).
    pub fn writeq(&self, offset: u64, value: u64) -> Result<()> {
        self.memory_only("writeq")?;
        self.qemu.writeq(self.at(offset, 8)?, value)
    }

    /// Reads `len` bytes at `offset` (memory BARs only).
    pub fn memread(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        self.memory_only("memread")?;
        self.qemu.memread(self.at(offset, len as u64)?, len)
    }

    /// Writes `data` at `offset` (memory BARs only).
    pub fn memwrite(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.memory_only("memwrite")?;
        self.qemu
            .memwrite(self.at(offset, data.len() as u64)?, data)
    }

    fn memory_only(&self, what: &str) -> Result<()> {
        if self.is_io() {
            return Err(HarnessError::Usage(format!(
                "{what} on BAR{}, an I/O BAR",
                self.info.index
            )));
        }
        Ok(())
    }
}

impl Qemu {
    fn pci_config_check(bdf: Bdf, offset: u8, width: u8) -> Result<()> {
        bdf.check()?;
        if offset % width != 0 {
            return Err(HarnessError::Usage(format!(
                "unaligned {}-byte PCI config access at {bdf} offset {offset:#x}",
                width
            )));
        }
        Ok(())
    }

    fn cf8_port(offset: u8) -> u16 {
        PCI_CONFIG_DATA + u16::from(offset & 3)
    }

    /// Reads a byte of configuration space (offsets 0..256).
    pub fn pci_config_readb(&self, bdf: Bdf, offset: u8) -> Result<u8> {
        Self::pci_config_check(bdf, offset, 1)?;
        let _guard = self.pci_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.outl(PCI_CONFIG_ADDRESS, bdf.config_address(offset))?;
        self.inb(Self::cf8_port(offset))
    }

    /// Reads 16 bits of configuration space (`offset` 2-aligned).
    pub fn pci_config_readw(&self, bdf: Bdf, offset: u8) -> Result<u16> {
        Self::pci_config_check(bdf, offset, 2)?;
        let _guard = self.pci_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.outl(PCI_CONFIG_ADDRESS, bdf.config_address(offset))?;
        self.inw(Self::cf8_port(offset))
    }

    /// Reads 32 bits of configuration space (`offset` 4-aligned).
    pub fn pci_config_readl(&self, bdf: Bdf, offset: u8) -> Result<u32> {
        Self::pci_config_check(bdf, offset, 4)?;
        let _guard = self.pci_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.outl(PCI_CONFIG_ADDRESS, bdf.config_address(offset))?;
        self.inl(PCI_CONFIG_DATA)
    }

    /// Writes a byte of configuration space.
    pub fn pci_config_writeb(&self, bdf: Bdf, offset: u8, value: u8) -> Result<()> {
        Self::pci_config_check(bdf, offset, 1)?;
        let _guard = self.pci_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.outl(PCI_CONFIG_ADDRESS, bdf.config_address(offset))?;
        self.outb(Self::cf8_port(offset), value)
    }

    /// Writes 16 bits of configuration space (`offset` 2-aligned).
    pub fn pci_config_writew(&self, bdf: Bdf, offset: u8, value: u16) -> Result<()> {
        Self::pci_config_check(bdf, offset, 2)?;
        let _guard = self.pci_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.outl(PCI_CONFIG_ADDRESS, bdf.config_address(offset))?;
        self.outw(Self::cf8_port(offset), value)
    }

    /// Writes 32 bits of configuration space (`offset` 4-aligned).
    pub fn pci_config_writel(&self, bdf: Bdf, offset: u8, value: u32) -> Result<()> {
        Self::pci_config_check(bdf, offset, 4)?;
        let _guard = self.pci_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.outl(PCI_CONFIG_ADDRESS, bdf.config_address(offset))?;
        self.outl(PCI_CONFIG_DATA, value)
    }

    /// The function at `bdf`, or `None` when nothing answers there.
    pub fn pci_function(&self, bdf: Bdf) -> Result<Option<PciFunction>> {
        let id = self.pci_config_readl(bdf, 0x00)?;
        if id == 0xffff_ffff || id & 0xffff == 0xffff || id == 0 {
            return Ok(None);
        }
        let class_rev = self.pci_config_readl(bdf, 0x08)?;
        let header = self.pci_config_readb(bdf, 0x0e)?;
        let header_type = header & 0x7f;
        let (subsystem_vendor_id, subsystem_id) = if header_type == 0 {
            let sub = self.pci_config_readl(bdf, 0x2c)?;
            (sub as u16, (sub >> 16) as u16)
        } else {
            (0, 0)
        };
        let interrupt_pin = self.pci_config_readb(bdf, PCI_INTERRUPT_PIN)?;
        Ok(Some(PciFunction {
            bdf,
            vendor_id: id as u16,
            device_id: (id >> 16) as u16,
            class_code: class_rev >> 8,
            revision: class_rev as u8,
            header_type,
            multifunction: header & 0x80 != 0,
            subsystem_vendor_id,
            subsystem_id,
            interrupt_pin,
        }))
    }

    /// Every function on bus 0, in address order (functions 1..8 are probed
    /// when function 0 is multi-function).
    pub fn pci_devices(&self) -> Result<Vec<PciFunction>> {
        let mut found = Vec::new();
        for device in 0..32 {
            let Some(f0) = self.pci_function(Bdf::new(0, device, 0))? else {
                continue;
            };
            let multifunction = f0.multifunction;
            found.push(f0);
            if multifunction {
                for function in 1..8 {
                    if let Some(f) = self.pci_function(Bdf::new(0, device, function))? {
                        found.push(f);
                    }
                }
            }
        }
        Ok(found)
    }

    /// The first function on bus 0 with this vendor and device ID.
    pub fn pci_find(&self, vendor_id: u16, device_id: u16) -> Result<Option<PciFunction>> {
        Ok(self
            .pci_devices()?
            .into_iter()
            .find(|f| f.vendor_id == vendor_id && f.device_id == device_id))
    }

    /// Sets the command register's memory, I/O and bus-master bits to the
    /// given values; the other bits are kept.
    pub fn pci_enable(
        &self,
        f: &PciFunction,
        memory: bool,
        io: bool,
        bus_master: bool,
    ) -> Result<()> {
        let mut command = self.pci_config_readw(f.bdf, PCI_COMMAND)?;
        for (bit, on) in [
            (PCI_COMMAND_MEMORY, memory),
            (PCI_COMMAND_IO, io),
            (PCI_COMMAND_MASTER, bus_master),
        ] {
            if on {
                command |= bit;
            } else {
                command &= !bit;
            }
        }
        self.pci_config_writew(f.bdf, PCI_COMMAND, command)
    }

    fn bar_offset(f: &PciFunction, index: u8) -> Result<u8> {
        if index >= f.bar_count() {
            return Err(HarnessError::Usage(format!(
                "{} has no BAR{index} (header type {} has {} BARs)",
                f.bdf,
                f.header_type,
                f.bar_count()
            )));
        }
        Ok(0x10 + 4 * index)
    }

    /// Sizes BAR `index` (all-ones probe, decoding disabled meanwhile, then
    /// everything restored). `None` when the BAR is not implemented (or is
    /// the upper half of a 64-bit BAR).
    pub fn pci_bar_info(&self, f: &PciFunction, index: u8) -> Result<Option<BarInfo>> {
        let offset = Self::bar_offset(f, index)?;
        let command = self.pci_config_readw(f.bdf, PCI_COMMAND)?;
        self.pci_config_writew(
            f.bdf,
            PCI_COMMAND,
            command & !(PCI_COMMAND_IO | PCI_COMMAND_MEMORY),
        )?;
        let result = self.probe_bar(f, index, offset);
        let restored = self.pci_config_writew(f.bdf, PCI_COMMAND, command);
        let info = result?;
        restored?;
        Ok(info)
    }

    fn probe_bar(&self, f: &PciFunction, index: u8, offset: u8) -> Result<Option<BarInfo>> {
        let original = self.pci_config_readl(f.bdf, offset)?;
        self.pci_config_writel(f.bdf, offset, 0xffff_ffff)?;
        let probe = self.pci_config_readl(f.bdf, offset)?;
        self.pci_config_writel(f.bdf, offset, original)?;
        if probe == 0 || probe == 0xffff_ffff {
            return Ok(None);
        }
        if probe & 1 == 1 {
            let mask = u64::from(probe & !0x3);
            if mask == 0 {
                return Ok(None);
            }
            return Ok(Some(BarInfo {
                index,
                kind: BarKind::Io,
                prefetchable: false,
                size: mask & mask.wrapping_neg(),
            }));
        }
        let prefetchable = probe & 0x8 != 0;
        let (kind, mask) = match (probe >> 1) & 3 {
            0 => (BarKind::Memory32, u64::from(probe & !0xf)),
            2 => {
                if index + 1 >= f.bar_count() {
                    return Err(HarnessError::Protocol {
                        context: format!("sizing BAR{index} of {}", f.bdf),
                        detail: "a 64-bit BAR in the last BAR slot".into(),
                    });
                }
                let high_offset = offset + 4;
                let original_high = self.pci_config_readl(f.bdf, high_offset)?;
                self.pci_config_writel(f.bdf, high_offset, 0xffff_ffff)?;
                let probe_high = self.pci_config_readl(f.bdf, high_offset)?;
                self.pci_config_writel(f.bdf, high_offset, original_high)?;
                (
                    BarKind::Memory64,
                    u64::from(probe_high) << 32 | u64::from(probe & !0xf),
                )
            }
            other => {
                return Err(HarnessError::Protocol {
                    context: format!("sizing BAR{index} of {}", f.bdf),
                    detail: format!("reserved memory BAR type {other}"),
                })
            }
        };
        if mask == 0 {
            return Ok(None);
        }
        Ok(Some(BarInfo {
            index,
            kind,
            prefetchable,
            size: mask & mask.wrapping_neg(),
        }))
    }

    fn pci_bar_required(&self, f: &PciFunction, index: u8) -> Result<BarInfo> {
        self.pci_bar_info(f, index)?
            .ok_or_else(|| HarnessError::Usage(format!("BAR{index} of {f} is not implemented")))
    }

    /// Size of BAR `index` in bytes (error when it is not implemented).
    pub fn pci_bar_size(&self, f: &PciFunction, index: u8) -> Result<u64> {
        Ok(self.pci_bar_required(f, index)?.size)
    }

    /// Kind of BAR `index` (error when it is not implemented).
    pub fn pci_bar_kind(&self, f: &PciFunction, index: u8) -> Result<BarKind> {
        Ok(self.pci_bar_required(f, index)?.kind)
    }

    /// Sizes BAR `index`, programs it at `address` (which must be aligned to
    /// the BAR's size; a port number below 0x10000 for I/O BARs) and turns on
    /// the matching decoding bit (memory or I/O) in the command register.
    ///
    /// Free addresses: on `pc` and `q35` with default RAM, 0xe000_0000 and up
    /// (below 0xfec0_0000) for memory, 0xc000..0xffff for I/O.
    pub fn pci_map_bar(&self, f: &PciFunction, index: u8, address: u64) -> Result<Bar<'_>> {
        let info = self.pci_bar_required(f, index)?;
        if address % info.size != 0 {
            return Err(HarnessError::Usage(format!(
                "address {address:#x} is not aligned to BAR{index}'s size {:#x}",
                info.size
            )));
        }
        let offset = Self::bar_offset(f, index)?;
        let decode = match info.kind {
            BarKind::Io => {
                if address + info.size > 0x1_0000 {
                    return Err(HarnessError::Usage(format!(
                        "I/O BAR{index} of {} cannot sit at {address:#x}",
                        f.bdf
                    )));
                }
                self.pci_config_writel(f.bdf, offset, address as u32)?;
                PCI_COMMAND_IO
            }
            BarKind::Memory32 => {
                let low = u32::try_from(address).map_err(|_| {
                    HarnessError::Usage(format!(
                        "32-bit BAR{index} of {} cannot sit at {address:#x}",
                        f.bdf
                    ))
                })?;
                self.pci_config_writel(f.bdf, offset, low)?;
                PCI_COMMAND_MEMORY
            }
            BarKind::Memory64 => {
                self.pci_config_writel(f.bdf, offset, address as u32)?;
                self.pci_config_writel(f.bdf, offset + 4, (address >> 32) as u32)?;
                PCI_COMMAND_MEMORY
            }
        };
        let command = self.pci_config_readw(f.bdf, PCI_COMMAND)?;
        self.pci_config_writew(f.bdf, PCI_COMMAND, command | decode)?;
        Ok(Bar::new(self, info, address))
    }

    /// The config-space offset of the first capability with ID `id`
    /// (e.g. [`PCI_CAP_ID_MSI`], [`PCI_CAP_ID_MSIX`]), walking the list from
    /// 0x34; `None` when the function has no such capability.
    pub fn pci_find_capability(&self, f: &PciFunction, id: u8) -> Result<Option<u8>> {
        let status = self.pci_config_readw(f.bdf, PCI_STATUS)?;
        if status & 0x10 == 0 {
            return Ok(None);
        }
        let mut pointer = self.pci_config_readb(f.bdf, PCI_CAPABILITY_LIST)? & 0xfc;
        // 48 capabilities fill the 192 bytes after the header: more means a loop.
        for _ in 0..48 {
            if pointer < 0x40 {
                return Ok(None);
            }
            let header = self.pci_config_readw(f.bdf, pointer)?;
            if header as u8 == id {
                return Ok(Some(pointer));
            }
            pointer = (header >> 8) as u8 & 0xfc;
        }
        Err(HarnessError::Protocol {
            context: format!("walking the capability list of {}", f.bdf),
            detail: "the list does not end".into(),
        })
    }

    /// Routes the function's INTx pin to an I/O APIC input the way firmware
    /// would, writes that number into its Interrupt Line register and returns
    /// it: the line to watch after `irq_intercept_in("ioapic")`.
    ///
    /// `pc` (i440FX/PIIX3): INTx of slot S goes to PIRQ[(pin - 1 + S - 1) % 4];
    /// an unrouted PIRQ is routed to ISA IRQ 10, 10, 11, 11 (PIRQA..D, as
    /// SeaBIOS does) through PIIX3 registers 0x60..0x63. `q35` (ICH9): slot S
    /// pin P goes to PIRQ[E + (S + P - 1) % 4], which the I/O APIC sees as
    /// GSI 16 + PIRQ, i.e. 20..23. Only bus 0 is supported.
    pub fn pci_intx_gsi(&self, f: &PciFunction) -> Result<u32> {
        let pin = self.pci_config_readb(f.bdf, PCI_INTERRUPT_PIN)?;
        if pin == 0 || pin > 4 {
            return Err(HarnessError::Usage(format!("{f} has no INTx pin")));
        }
        if f.bdf.bus != 0 {
            return Err(HarnessError::Usage(format!(
                "INTx routing is only known for bus 0, not {}",
                f.bdf
            )));
        }
        let slot = u32::from(f.bdf.device);
        let pin_index = u32::from(pin - 1);
        let host = self.pci_config_readl(Bdf::new(0, 0, 0), 0)?;
        let gsi = match host {
            HOST_I440FX => {
                let pirq = (pin_index + slot + 3) % 4;
                let piix = Bdf::new(0, 1, 0);
                let route_offset = 0x60 + pirq as u8;
                let route = self.pci_config_readb(piix, route_offset)?;
                if route & 0x80 != 0 || route >= 16 {
                    let irq = [10, 10, 11, 11][pirq as usize];
                    self.pci_config_writeb(piix, route_offset, irq)?;
                    u32::from(irq)
                } else {
                    u32::from(route)
                }
            }
            HOST_Q35 => 16 + 4 + (slot + pin_index) % 4,
            other => {
                return Err(HarnessError::Usage(format!(
                    "INTx routing unknown for host bridge {:04x}:{:04x} (known: pc, q35)",
                    other & 0xffff,
                    other >> 16
                )))
            }
        };
        self.pci_config_writeb(f.bdf, PCI_INTERRUPT_LINE, gsi as u8)?;
        Ok(gsi)
    }

    /// Enables single-vector MSI: the function will write `data` (32 bits,
    /// little-endian; the upper 16 bits are zero) to guest physical `address`
    /// when it signals. Point `address` at RAM and poll it to observe
    /// interrupts without a CPU. Also enables bus mastering, which MSI
    /// writes need.
    pub fn pci_enable_msi(&self, f: &PciFunction, address: u64, data: u16) -> Result<()> {
        let cap = self
            .pci_find_capability(f, PCI_CAP_ID_MSI)?
            .ok_or_else(|| HarnessError::Usage(format!("{f} has no MSI capability")))?;
        let control = self.pci_config_readw(f.bdf, cap + 2)?;
        let is_64bit = control & 0x80 != 0;
        if !is_64bit && address >> 32 != 0 {
            return Err(HarnessError::Usage(format!(
                "{f} has 32-bit MSI, cannot target {address:#x}"
            )));
        }
        self.pci_config_writel(f.bdf, cap + 4, address as u32)?;
        let data_offset = if is_64bit {
            self.pci_config_writel(f.bdf, cap + 8, (address >> 32) as u32)?;
            cap + 12
        } else {
            cap + 8
        };
        self.pci_config_writew(f.bdf, data_offset, data)?;
        // One vector (Multiple Message Enable = 0), MSI enable.
        self.pci_config_writew(f.bdf, cap + 2, (control & !0x70) | 1)?;
        let command = self.pci_config_readw(f.bdf, PCI_COMMAND)?;
        self.pci_config_writew(f.bdf, PCI_COMMAND, command | PCI_COMMAND_MASTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_address_layout() {
        assert_eq!(Bdf::new(0, 3, 0).config_address(0x10), 0x8000_1810);
        assert_eq!(Bdf::new(1, 31, 7).config_address(0x3d), 0x8001_ff3c);
        assert_eq!(Bdf::new(0, 2, 1).to_string(), "00:02.1");
    }
}
