// SPDX-License-Identifier: GPL-2.0-or-later
//! Guest accesses to a device's regions: the qtest commands that make them,
//! how QEMU's memory core splits them, and which of them the module's own
//! description (`QDEV_DESCRIBE=1`, see `qdev_tool::describe`) says must be
//! reported as guest errors.
//!
//! The description names every register's offset, width, instances and
//! bits (read-write, write-only, read-only, reserved). From it alone an
//! access must be logged when it hits no register, runs past the end of the
//! register it starts in, writes a register with no writable bits, reads a
//! write-only register, or changes reserved bits. It does not say which
//! access sizes a register refuses (`sizes = [4]`) or that a register is
//! `unimplemented`: those messages are allowed on accesses the description
//! calls valid, and nothing else is.

use qdev_tool::describe::{Device, Region, Register};

/// Where a region is reached from the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// Memory at this guest-physical address.
    Mmio(u64),
    /// I/O ports from this port.
    Io(u16),
    /// PCI config space of this function (`bus << 8 | dev << 3 | fn`),
    /// through ports `0xcf8`/`0xcfc`.
    Config(u16),
}

/// One guest access as the device sees it: `size` bytes at `offset` of a
/// region, a read or a write of `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Region index (the description's order).
    pub region: u32,
    /// Byte offset in the region.
    pub offset: u64,
    /// 1, 2, 4 or 8.
    pub size: u32,
    /// `Some(value)` for a write.
    pub write: Option<u64>,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.write {
            Some(v) => write!(
                f,
                "write of 0x{v:x} ({} bytes) at region {} offset 0x{:x}",
                self.size, self.region, self.offset
            ),
            None => write!(
                f,
                "read ({} bytes) at region {} offset 0x{:x}",
                self.size, self.region, self.offset
            ),
        }
    }
}

/// All ones in the low `size` bytes.
pub fn mask(size: u32) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

/// The pieces QEMU's memory core makes of an access to a region whose
/// operations take 1 to `max` bytes and no unaligned accesses
/// (`memory_access_size` in `system/physmem.c`): each piece is the largest
/// power of two that fits, is aligned, and is at most `max`.
pub fn split(offset: u64, size: u32, max: u32) -> Vec<(u64, u32)> {
    let mut pieces = Vec::new();
    let (mut addr, mut left) = (offset, size);
    while left > 0 {
        let align = if addr == 0 {
            max
        } else {
            1u32 << addr.trailing_zeros().min(31)
        };
        let mut l = left.min(max).min(align);
        l = 1 << (31 - l.leading_zeros());
        pieces.push((addr, l));
        addr += u64::from(l);
        left -= l;
    }
    pieces
}

/// The qtest commands that make `size` bytes at `offset` of a region in
/// `space`, reading or writing `value`. The reply to the last one is the
/// read value.
pub fn commands(space: Space, offset: u64, size: u32, write: Option<u64>) -> Vec<String> {
    let suffix = |s: u32| match s {
        1 => 'b',
        2 => 'w',
        4 => 'l',
        _ => 'q',
    };
    match space {
        Space::Mmio(base) => {
            let c = suffix(size);
            vec![match write {
                Some(v) => format!("write{c} 0x{:x} 0x{:x}", base + offset, v & mask(size)),
                None => format!("read{c} 0x{:x}", base + offset),
            }]
        }
        Space::Io(port) => {
            let c = suffix(size);
            let p = u64::from(port) + offset;
            vec![match write {
                Some(v) => format!("out{c} 0x{p:x} 0x{:x}", v & mask(size)),
                None => format!("in{c} 0x{p:x}"),
            }]
        }
        Space::Config(bdf) => {
            let c = suffix(size);
            let addr = 0x8000_0000u32 | u32::from(bdf) << 8 | (offset as u32 & 0xfc);
            let port = 0xcfc + (offset & 3);
            vec![
                format!("outl 0xcf8 0x{addr:x}"),
                match write {
                    Some(v) => format!("out{c} 0x{port:x} 0x{:x}", v & mask(size)),
                    None => format!("in{c} 0x{port:x}"),
                },
            ]
        }
    }
}

/// The value in a reply (`OK 0x...`), if it holds one.
pub fn reply_value(reply: &str) -> Option<u64> {
    let hex = reply.strip_prefix("OK 0x")?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// What the description says of an access (one piece, as the device sees
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: logged only if the register refuses the size or is not
    /// implemented (facts the description does not carry).
    Valid,
    /// Must appear in the guest-error log, for this reason.
    Invalid(&'static str),
}

fn is_config(r: &Region) -> bool {
    r.kind == "config"
}

fn mask_of(r: &Register, kind: &str) -> u64 {
    r.masks.get(kind).copied().unwrap_or(0)
}

/// The register instance containing `offset`, and the offset's lane in it.
pub fn register_at(region: &Region, offset: u64) -> Option<(&Register, u32)> {
    region.registers.iter().find_map(|r| {
        let rel = offset.checked_sub(r.offset)?;
        let stride = r.stride.max(1);
        let idx = rel / stride;
        let lane = rel % stride;
        (idx < u64::from(r.count.max(1)) && lane < u64::from(r.width)).then_some((r, lane as u32))
    })
}

/// The description's verdict on `access`, given as the device sees it
/// (after QEMU's split).
pub fn verdict(device: &Device, access: &Access) -> Verdict {
    let region = &device.regions[access.region as usize];
    let Some((reg, lane)) = register_at(region, access.offset) else {
        // Config space outside the device's registers is QEMU's own.
        return if is_config(region) {
            Verdict::Valid
        } else {
            Verdict::Invalid("unmapped")
        };
    };
    if lane + access.size > reg.width {
        return if is_config(region) {
            Verdict::Valid
        } else {
            Verdict::Invalid("runs past the register")
        };
    }
    if !reg.sizes.is_empty() && !reg.sizes.contains(&access.size) {
        return Verdict::Invalid("a size the register does not take");
    }
    if reg.unimplemented {
        return Verdict::Invalid("unimplemented register");
    }
    let writable = ["rw", "wo", "w1c", "w1s", "w0c", "toggle"]
        .iter()
        .fold(0, |m, k| m | mask_of(reg, k));
    match access.write {
        Some(_) if writable == 0 => Verdict::Invalid("read-only register"),
        Some(v) => {
            let shift = lane * 8;
            let reserved = (mask_of(reg, "reserved") >> shift) & mask(access.size);
            if (v ^ (reg.reset >> shift)) & reserved != 0 {
                Verdict::Invalid("changes reserved bits")
            } else {
                Verdict::Valid
            }
        }
        None if reg.access() == "wo" => Verdict::Invalid("write-only register"),
        None => Verdict::Valid,
    }
}

/// Whether a log message is one the description cannot predict from the
/// access alone: a write changing bits the model does not implement (that
/// depends on the register's current value).
pub fn undescribed_policy(message: &str) -> bool {
    message.contains("changes unimplemented bits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdev_tool::describe::Description;

    #[test]
    fn split_follows_qemus_alignment_rule() {
        assert_eq!(split(0x10, 8, 8), [(0x10, 8)]);
        assert_eq!(split(0x1, 4, 8), [(0x1, 1), (0x2, 2), (0x4, 1)]);
        assert_eq!(split(0x2, 8, 8), [(0x2, 2), (0x4, 4), (0x8, 2)]);
        assert_eq!(split(0x0, 8, 4), [(0x0, 4), (0x4, 4)]);
        assert_eq!(split(0x3, 2, 4), [(0x3, 1), (0x4, 1)]);
    }

    const DESC: &str = "module m\n\
device d sysbus \"d\"\n\
region d regs size=0x100 kind=mmio\n\
register d regs CTRL offset=0x10 width=4 count=1 stride=4 reset=0x0 rw=0xff wo=0x0 w1c=0x0 w1s=0x0 w0c=0x0 toggle=0x0 rc=0x0 rs=0x0 reserved=0xffffff00 \"\"\n\
register d regs ID offset=0x14 width=4 count=1 stride=4 reset=0x1 rw=0x0 wo=0x0 w1c=0x0 w1s=0x0 w0c=0x0 toggle=0x0 rc=0x0 rs=0x0 reserved=0x0 \"\"\n\
register d regs GO offset=0x18 width=4 count=1 stride=4 reset=0x0 rw=0xffffffff wo=0xffffffff w1c=0x0 w1s=0x0 w0c=0x0 toggle=0x0 rc=0x0 rs=0x0 reserved=0x0 \"\"\n\
register d regs PIN offset=0x20 width=2 count=2 stride=4 reset=0x0 rw=0xffff wo=0x0 w1c=0x0 w1s=0x0 w0c=0x0 toggle=0x0 rc=0x0 rs=0x0 reserved=0x0 \"\"\n";

    fn at(offset: u64, size: u32, write: Option<u64>) -> Verdict {
        let d = &Description::parse(DESC).devices[0];
        verdict(
            d,
            &Access {
                region: 0,
                offset,
                size,
                write,
            },
        )
    }

    #[test]
    fn the_description_decides_what_must_be_logged() {
        assert_eq!(at(0x0, 4, None), Verdict::Invalid("unmapped"));
        assert_eq!(
            at(0x12, 4, None),
            Verdict::Invalid("runs past the register")
        );
        assert_eq!(at(0x10, 4, Some(0xff)), Verdict::Valid);
        assert_eq!(
            at(0x11, 1, Some(0)),
            Verdict::Valid,
            "reserved bits unchanged"
        );
        assert_eq!(
            at(0x10, 4, Some(0x100)),
            Verdict::Invalid("changes reserved bits")
        );
        assert_eq!(at(0x14, 4, Some(1)), Verdict::Invalid("read-only register"));
        assert_eq!(at(0x18, 4, None), Verdict::Invalid("write-only register"));
        assert_eq!(at(0x24, 2, None), Verdict::Valid, "second instance");
        assert_eq!(
            at(0x22, 2, None),
            Verdict::Invalid("unmapped"),
            "gap in the array"
        );
    }

    #[test]
    fn commands_for_each_space() {
        assert_eq!(
            commands(Space::Mmio(0x1000), 4, 2, Some(0x12345)),
            ["writew 0x1004 0x2345"]
        );
        assert_eq!(commands(Space::Io(0xc000), 1, 1, None), ["inb 0xc001"]);
        assert_eq!(
            commands(Space::Config(0x20), 0x62, 2, None),
            ["outl 0xcf8 0x80002060", "inw 0xcfe"]
        );
        assert_eq!(reply_value("OK 0x00000000000000a5"), Some(0xa5));
        assert_eq!(reply_value("OK"), None);
    }
}
