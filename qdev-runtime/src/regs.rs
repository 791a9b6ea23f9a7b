// SPDX-License-Identifier: GPL-2.0-or-later
//! What a register access does to the stored value, for the access kinds a
//! datasheet uses. The macro turns each `#[reg]` into a [`Semantics`]
//! constant, so after inlining a register write is a handful of mask
//! operations, the same a C author writes by hand.

/// The access kind of a register (or of some of its bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-write.
    ReadWrite,
    /// Read-only: writes are ignored (and logged as guest errors).
    ReadOnly,
    /// Write-only: reads return 0 (and are logged as guest errors).
    WriteOnly,
    /// Write 1 to clear.
    W1C,
    /// Write 1 to set.
    W1S,
    /// Write 0 to clear.
    W0C,
    /// Cleared by a read.
    ClearOnRead,
    /// Set by a read.
    SetOnRead,
    /// Writing 1 toggles the bit.
    Toggle,
}

impl Access {
    /// The keyword used in `#[reg(access = ...)]`.
    pub const fn keyword(self) -> &'static str {
        match self {
            Access::ReadWrite => "rw",
            Access::ReadOnly => "ro",
            Access::WriteOnly => "wo",
            Access::W1C => "w1c",
            Access::W1S => "w1s",
            Access::W0C => "w0c",
            Access::ClearOnRead => "rc",
            Access::SetOnRead => "rs",
            Access::Toggle => "toggle",
        }
    }
}

/// Per-bit behaviour of one register: each mask selects the bits that
/// follow one access kind. Bits in no mask are read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Semantics {
    /// Bits the register holds (`u8` register: `0xff`).
    pub width_mask: u64,
    /// Read-write bits.
    pub rw: u64,
    /// Write-only bits (stored, but read as 0).
    pub wo: u64,
    /// Write-1-to-clear bits.
    pub w1c: u64,
    /// Write-1-to-set bits.
    pub w1s: u64,
    /// Write-0-to-clear bits.
    pub w0c: u64,
    /// Toggle-on-1 bits.
    pub toggle: u64,
    /// Bits cleared by a read.
    pub rc: u64,
    /// Bits set by a read.
    pub rs: u64,
    /// Reserved bits: a write that changes them is a guest error.
    pub reserved: u64,
}

impl Semantics {
    /// A register of `width` bytes whose bits all follow `access`.
    pub const fn uniform(access: Access, width: u32) -> Semantics {
        let all = width_mask(width);
        let mut s = Semantics {
            width_mask: all,
            rw: 0,
            wo: 0,
            w1c: 0,
            w1s: 0,
            w0c: 0,
            toggle: 0,
            rc: 0,
            rs: 0,
            reserved: 0,
        };
        match access {
            Access::ReadWrite => s.rw = all,
            Access::ReadOnly => {}
            Access::WriteOnly => {
                s.rw = all;
                s.wo = all;
            }
            Access::W1C => s.w1c = all,
            Access::W1S => s.w1s = all,
            Access::W0C => s.w0c = all,
            Access::ClearOnRead => s.rc = all,
            Access::SetOnRead => s.rs = all,
            Access::Toggle => s.toggle = all,
        }
        s
    }

    /// Bits a guest write can change.
    pub const fn writable(&self) -> u64 {
        self.rw | self.w1c | self.w1s | self.w0c | self.toggle
    }

    /// The stored value after the guest writes `value` over `old`.
    #[inline(always)]
    pub const fn write(&self, old: u64, value: u64) -> u64 {
        let value = value & self.width_mask;
        let mut new = (old & !self.rw) | (value & self.rw);
        new &= !(value & self.w1c);
        new |= value & self.w1s;
        new &= !(!value & self.w0c);
        new ^= value & self.toggle;
        new & self.width_mask
    }

    /// The full-width value a write of `size` bytes at byte `lane` stands
    /// for: the written bytes, and for the other bytes whatever leaves them
    /// unchanged (stored value for read-write bits, 1 for write-0-to-clear,
    /// 0 for write-1-to-clear/set and toggle bits).
    #[inline(always)]
    pub const fn merge_lane(&self, old: u64, value: u64, lane: u32, size: u32) -> u64 {
        let lane_mask = (width_mask(size) << (lane * 8)) & self.width_mask;
        let written = (value << (lane * 8)) & lane_mask;
        let keep = !lane_mask & self.width_mask & ((old & self.rw) | self.w0c);
        written | keep
    }

    /// What a read returns, and the stored value after it.
    #[inline(always)]
    pub const fn read(&self, stored: u64) -> (u64, u64) {
        let ret = stored & !self.wo & self.width_mask;
        let new = ((stored & !self.rc) | self.rs) & self.width_mask;
        (ret, new)
    }

    /// Whether a read changes the stored value (clear- or set-on-read bits).
    pub const fn read_has_side_effects(&self) -> bool {
        self.rc != 0 || self.rs != 0
    }

    /// Reserved bits of `old` that a write of `size` bytes at byte `lane`
    /// (merged into `value`) tries to change. Bytes the guest did not
    /// write are not its doing.
    #[inline(always)]
    pub const fn reserved_violation(&self, old: u64, value: u64, lane: u32, size: u32) -> u64 {
        let written = width_mask(size) << (lane * 8);
        (old ^ value) & self.reserved & written
    }
}

/// All ones in the low `bytes` bytes.
pub const fn width_mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    }
}

/// Reads the bytes of a `reg_width`-byte register value that an access of
/// `size` bytes at byte `lane` within the register sees (little-endian
/// lanes, the way a guest sees a little-endian device).
#[inline(always)]
pub const fn lane_read(value: u64, lane: u32, size: u32) -> u64 {
    (value >> (lane * 8)) & width_mask(size)
}

/// Merges an access of `size` bytes at byte `lane` into the register value
/// `old`: the bytes the guest did not write keep their stored value.
#[inline(always)]
pub const fn lane_merge(old: u64, value: u64, lane: u32, size: u32) -> u64 {
    let mask = width_mask(size) << (lane * 8);
    (old & !mask) | ((value << (lane * 8)) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rw_stores_what_is_written() {
        let s = Semantics::uniform(Access::ReadWrite, 4);
        assert_eq!(s.write(0x1234, 0xdead_beef), 0xdead_beef);
        assert_eq!(
            s.write(0, 0x1_0000_0001),
            1,
            "bits beyond the width are dropped"
        );
    }

    #[test]
    fn ro_ignores_writes() {
        let s = Semantics::uniform(Access::ReadOnly, 4);
        assert_eq!(s.write(0x55, 0xffff_ffff), 0x55);
    }

    #[test]
    fn w1c_clears_only_written_bits() {
        let s = Semantics::uniform(Access::W1C, 4);
        assert_eq!(s.write(0b1111, 0b0101), 0b1010);
    }

    #[test]
    fn w1s_sets_only_written_bits() {
        let s = Semantics::uniform(Access::W1S, 1);
        assert_eq!(s.write(0b1000_0000, 0b0000_0011), 0b1000_0011);
    }

    #[test]
    fn w0c_clears_bits_written_as_zero() {
        let s = Semantics::uniform(Access::W0C, 1);
        assert_eq!(s.write(0xff, 0xf0), 0xf0);
    }

    #[test]
    fn toggle_flips_written_ones() {
        let s = Semantics::uniform(Access::Toggle, 2);
        assert_eq!(s.write(0x00ff, 0x0f0f), 0x0ff0);
    }

    #[test]
    fn clear_on_read_returns_then_clears() {
        let s = Semantics::uniform(Access::ClearOnRead, 4);
        assert_eq!(s.read(0x81), (0x81, 0));
    }

    #[test]
    fn set_on_read_returns_then_sets() {
        let s = Semantics::uniform(Access::SetOnRead, 1);
        assert_eq!(s.read(0x01), (0x01, 0xff));
    }

    #[test]
    fn write_only_reads_zero_but_stores() {
        let s = Semantics::uniform(Access::WriteOnly, 4);
        let stored = s.write(0, 0xabcd);
        assert_eq!(stored, 0xabcd);
        assert_eq!(s.read(stored).0, 0);
    }

    #[test]
    fn mixed_register_follows_each_mask() {
        // bits 0-7 rw, bits 8-15 w1c, bits 16-23 read-only
        let s = Semantics {
            width_mask: 0xffff_ffff,
            rw: 0xff,
            w1c: 0xff00,
            ..Semantics::default()
        };
        assert_eq!(s.write(0x00ab_ff00, 0x0000_0f12), 0x00ab_f012);
    }

    #[test]
    fn reserved_violation_names_changed_bits() {
        let s = Semantics {
            reserved: 0xf0,
            ..Semantics::uniform(Access::ReadWrite, 1)
        };
        assert_eq!(s.reserved_violation(0x00, 0x1f, 0, 1), 0x10);
        assert_eq!(s.reserved_violation(0x00, 0x0f, 0, 1), 0);
    }

    #[test]
    fn reserved_bits_in_bytes_not_written_are_not_violated() {
        // bits 8-15 reserved, reset 0xab00; a byte write to byte 0
        let s = Semantics {
            reserved: 0xff00,
            ..Semantics::uniform(Access::ReadWrite, 2)
        };
        let v = s.merge_lane(0xab00, 0x12, 0, 1);
        assert_eq!(s.reserved_violation(0xab00, v, 0, 1), 0);
    }

    #[test]
    fn narrow_w1c_write_leaves_other_lanes_alone() {
        let s = Semantics::uniform(Access::W1C, 4);
        let old = 0xffff_ffff;
        let v = s.merge_lane(old, 0x01, 1, 1);
        assert_eq!(s.write(old, v), 0xffff_feff);
    }

    #[test]
    fn narrow_rw_write_merges_into_stored_value() {
        let s = Semantics::uniform(Access::ReadWrite, 4);
        let v = s.merge_lane(0x1122_3344, 0xaa, 2, 1);
        assert_eq!(s.write(0x1122_3344, v), 0x11aa_3344);
    }

    #[test]
    fn byte_lanes_read_and_merge() {
        assert_eq!(lane_read(0x1122_3344, 1, 1), 0x33);
        assert_eq!(lane_read(0x1122_3344, 2, 2), 0x1122);
        assert_eq!(lane_merge(0x1122_3344, 0xaa, 3, 1), 0xaa22_3344);
    }
}
