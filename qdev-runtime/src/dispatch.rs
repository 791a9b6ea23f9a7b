// SPDX-License-Identifier: GPL-2.0-or-later
//! The cold paths of generated register dispatch: every access the
//! datasheet does not allow is logged as a guest error naming the device,
//! region, register and offset, and never crashes QEMU.

use crate::device::DeviceDescriptor;
use crate::guest_error;

fn region_name(d: &DeviceDescriptor, region: u32) -> &'static str {
    d.regions.get(region as usize).map_or("?", |r| r.name)
}

/// An access to an offset with no register. Reads return 0.
#[cold]
#[inline(never)]
pub fn unmapped(
    d: &DeviceDescriptor,
    region: u32,
    offset: u64,
    size: u32,
    write: Option<u64>,
) -> u64 {
    match write {
        Some(v) => guest_error!(
            "{}: write of 0x{v:x} ({size} bytes) to unmapped offset 0x{offset:x} of region '{}'",
            d.name,
            region_name(d, region)
        ),
        None => guest_error!(
            "{}: read ({size} bytes) from unmapped offset 0x{offset:x} of region '{}'",
            d.name,
            region_name(d, region)
        ),
    }
    0
}

/// An access that runs past the end of the register it starts in.
/// Reads return 0; writes are ignored.
#[cold]
#[inline(never)]
pub fn straddle(d: &DeviceDescriptor, region: u32, reg: &str, offset: u64, size: u32) -> u64 {
    guest_error!(
        "{}: {size}-byte access at offset 0x{offset:x} of region '{}' runs past the end of register {reg}",
        d.name,
        region_name(d, region)
    );
    0
}

/// A write to a read-only register (ignored).
#[cold]
#[inline(never)]
pub fn read_only(d: &DeviceDescriptor, region: u32, reg: &str, offset: u64, value: u64) {
    guest_error!(
        "{}: write of 0x{value:x} to read-only register {reg} (offset 0x{offset:x} of region '{}')",
        d.name,
        region_name(d, region)
    );
}

/// An access of a size the register does not take. Reads return 0; writes
/// are ignored.
#[cold]
#[inline(never)]
pub fn bad_size(d: &DeviceDescriptor, region: u32, reg: &str, offset: u64, size: u32) -> u64 {
    guest_error!(
        "{}: {size}-byte access at offset 0x{offset:x} of region '{}': register {reg} does not take that size",
        d.name,
        region_name(d, region)
    );
    0
}

/// A read of a write-only register (returns 0).
#[cold]
#[inline(never)]
pub fn write_only(d: &DeviceDescriptor, region: u32, reg: &str, offset: u64) -> u64 {
    guest_error!(
        "{}: read of write-only register {reg} (offset 0x{offset:x} of region '{}')",
        d.name,
        region_name(d, region)
    );
    0
}

/// A write that tries to change reserved bits (those bits are ignored).
#[cold]
#[inline(never)]
pub fn reserved(d: &DeviceDescriptor, region: u32, reg: &str, offset: u64, bits: u64) {
    guest_error!(
        "{}: write to register {reg} (offset 0x{offset:x} of region '{}') changes reserved bits 0x{bits:x}",
        d.name,
        region_name(d, region)
    );
}

/// An access to a register or bits the model does not implement.
#[cold]
#[inline(never)]
pub fn unimplemented(
    d: &DeviceDescriptor,
    region: u32,
    reg: &str,
    offset: u64,
    write: Option<u64>,
) {
    match write {
        Some(v) => crate::unimp!(
            "{}: write of 0x{v:x} to unimplemented register {reg} (offset 0x{offset:x} of region '{}')",
            d.name,
            region_name(d, region)
        ),
        None => crate::unimp!(
            "{}: read of unimplemented register {reg} (offset 0x{offset:x} of region '{}')",
            d.name,
            region_name(d, region)
        ),
    }
}

/// A write that changes bits the model does not implement (stored, but
/// without the effect the hardware would have).
#[cold]
#[inline(never)]
pub fn unimplemented_bits(d: &DeviceDescriptor, region: u32, reg: &str, offset: u64, bits: u64) {
    crate::unimp!(
        "{}: write to register {reg} (offset 0x{offset:x} of region '{}') changes unimplemented bits 0x{bits:x}",
        d.name,
        region_name(d, region)
    );
}
