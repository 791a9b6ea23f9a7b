// SPDX-License-Identifier: GPL-2.0-or-later
//! Named bit fields of registers. `#[reg(field(name = "MODE", bits = 1..=2))]`
//! on a field `ctrl` makes a constant `CTRL_MODE: Field` on the device.

/// The integer types a register is stored in.
pub trait RegisterValue: Copy {
    /// Widens to `u64`.
    fn to_u64(self) -> u64;
    /// Narrows from `u64` (high bits dropped).
    fn from_u64(v: u64) -> Self;
}

macro_rules! register_value {
    ($($t:ty)*) => {$(
        impl RegisterValue for $t {
            #[inline(always)]
            fn to_u64(self) -> u64 {
                u64::from(self)
            }
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
        }
    )*};
}
register_value!(u8 u16 u32 u64);

/// A bit range of a register.
///
/// ```
/// use qdev_runtime::Field;
/// const MODE: Field = Field::new(4, 3); // bits 4..=6
/// assert_eq!(MODE.get(0x50u32), 5);
/// assert_eq!(MODE.set(0xffu32, 0), 0x8f);
/// assert_eq!(MODE.mask(), 0x70);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    shift: u32,
    bits: u32,
}

impl Field {
    /// Bits `shift .. shift + bits`.
    pub const fn new(shift: u32, bits: u32) -> Field {
        Field { shift, bits }
    }

    /// The lowest bit.
    pub const fn shift(self) -> u32 {
        self.shift
    }

    /// The number of bits.
    pub const fn bits(self) -> u32 {
        self.bits
    }

    /// The field's bits in place.
    pub const fn mask(self) -> u64 {
        (u64::MAX >> (64 - self.bits)) << self.shift
    }

    /// The field's value in `reg`.
    #[inline(always)]
    pub fn get<R: RegisterValue>(self, reg: R) -> u64 {
        (reg.to_u64() & self.mask()) >> self.shift
    }

    /// Whether any bit of the field is set in `reg`.
    #[inline(always)]
    pub fn is_set<R: RegisterValue>(self, reg: R) -> bool {
        reg.to_u64() & self.mask() != 0
    }

    /// `reg` with the field set to `value` (excess bits dropped).
    #[inline(always)]
    pub fn set<R: RegisterValue>(self, reg: R, value: u64) -> R {
        let v = (reg.to_u64() & !self.mask()) | ((value << self.shift) & self.mask());
        R::from_u64(v)
    }
}

/// A type whose values a register field holds (made with [`crate::field_enum!`]).
pub trait FieldValue: Sized {
    /// The value for `bits`, if one is defined.
    fn from_bits(bits: u64) -> Option<Self>;
    /// The bits of this value.
    fn to_bits(self) -> u64;
    /// Every value, for the compile-time check that a field can hold them.
    const VALUES: &'static [u64] = &[];
}

/// Declares an enum for the values of a register field.
///
/// ```
/// qdev_runtime::field_enum! {
///     /// Transfer speed.
///     pub enum Speed { Slow = 0, Fast = 1, Turbo = 3 }
/// }
/// use qdev_runtime::FieldValue;
/// assert_eq!(Speed::from_bits(3), Some(Speed::Turbo));
/// assert_eq!(Speed::from_bits(2), None);
/// assert_eq!(Speed::Fast.to_bits(), 1);
/// ```
#[macro_export]
macro_rules! field_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant = $value),* }

        impl $crate::FieldValue for $name {
            fn from_bits(bits: u64) -> ::core::option::Option<Self> {
                match bits {
                    $($value => ::core::option::Option::Some($name::$variant),)*
                    _ => ::core::option::Option::None,
                }
            }
            fn to_bits(self) -> u64 {
                self as u64
            }
            const VALUES: &'static [u64] = &[$($value),*];
        }
    };
}
