// SPDX-License-Identifier: GPL-2.0-or-later
//! A device's migratable state as bytes: what `#[qemu_device]` saves for
//! migration and snapshots (every register, then what the device's own
//! `save` hook writes), and reads back on the destination.

use crate::Error;

/// Writes state (little-endian, in a fixed order).
#[derive(Debug, Default)]
pub struct StateWriter {
    bytes: Vec<u8>,
}

impl StateWriter {
    /// An empty writer.
    pub fn new() -> StateWriter {
        StateWriter::default()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Writes a `u8`.
    pub fn put_u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    /// Writes a `u16`.
    pub fn put_u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a `u32`.
    pub fn put_u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a `u64`.
    pub fn put_u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a `bool`.
    pub fn put_bool(&mut self, v: bool) {
        self.put_u8(u8::from(v));
    }

    /// Writes a byte string with its length.
    pub fn put_bytes(&mut self, v: &[u8]) {
        self.put_u32(v.len() as u32);
        self.bytes.extend_from_slice(v);
    }
}

/// Reads what a [`StateWriter`] wrote; a short or malformed stream is an
/// [`Error`] (the migration fails), never a panic.
#[derive(Debug)]
pub struct StateReader<'a> {
    bytes: &'a [u8],
}

impl<'a> StateReader<'a> {
    /// Reads from `bytes`.
    pub fn new(bytes: &'a [u8]) -> StateReader<'a> {
        StateReader { bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.bytes.len() < n {
            return Err(Error::new(format!(
                "device state is truncated: {n} more bytes expected, {} left",
                self.bytes.len()
            )));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// Reads a `u8`.
    pub fn get_u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    /// Reads a `u16`.
    pub fn get_u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    /// Reads a `u32`.
    pub fn get_u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// Reads a `u64`.
    pub fn get_u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// Reads a `bool`.
    pub fn get_bool(&mut self) -> Result<bool, Error> {
        Ok(self.get_u8()? != 0)
    }

    /// Reads a byte string written by [`StateWriter::put_bytes`].
    pub fn get_bytes(&mut self) -> Result<&'a [u8], Error> {
        let n = self.get_u32()? as usize;
        self.take(n)
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

/// A value `#[qemu_device]` can save for migration and snapshots, and
/// read back on the destination.
///
/// Every register field and every field without an attribute is migrated
/// through this trait (opt out with `#[reg(..., migrate = false)]` or
/// `#[state(skip)]`); so are `#[irq]`/`#[gpio_out]` lines (their level)
/// and `#[timer]`s (deadline and period: they are re-armed on the
/// destination). Implemented for the integers, `bool`, `char`, `String`,
/// arrays, `Vec`, `VecDeque`, `Option` and pairs of these; implement it for
/// a type of your own with [`StateWriter`]'s `put_*` and [`StateReader`]'s
/// `get_*`:
///
/// ```
/// use qdev_runtime::{Error, Migrate, StateReader, StateWriter};
///
/// #[derive(Default)]
/// enum Phase { #[default] Idle, Busy(u32) }
///
/// impl Migrate for Phase {
///     fn save(&self, w: &mut StateWriter) {
///         match self {
///             Phase::Idle => w.put_u8(0),
///             Phase::Busy(n) => { w.put_u8(1); w.put_u32(*n) }
///         }
///     }
///     fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
///         *self = match r.get_u8()? {
///             0 => Phase::Idle,
///             1 => Phase::Busy(r.get_u32()?),
///             t => return Err(Error::new(format!("bad phase tag {t}"))),
///         };
///         Ok(())
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be migrated: qdev_runtime::Migrate is not implemented for it",
    label = "this field is saved for migration and snapshots",
    note = "implement qdev_runtime::Migrate for the type, or mark the field #[state(skip)] if the device rebuilds it (then a post_load hook may recompute it)"
)]
pub trait Migrate {
    /// Writes the value.
    fn save(&self, w: &mut StateWriter);
    /// Reads it back (into a value that holds its reset state).
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error>;
}

macro_rules! migrate_int {
    ($($t:ty => $put:ident, $get:ident as $wire:ty;)*) => {$(
        impl Migrate for $t {
            fn save(&self, w: &mut StateWriter) {
                w.$put(*self as $wire)
            }
            fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
                *self = r.$get()? as $t;
                Ok(())
            }
        }
    )*};
}
migrate_int! {
    u8 => put_u8, get_u8 as u8;
    u16 => put_u16, get_u16 as u16;
    u32 => put_u32, get_u32 as u32;
    u64 => put_u64, get_u64 as u64;
    i8 => put_u8, get_u8 as u8;
    i16 => put_u16, get_u16 as u16;
    i32 => put_u32, get_u32 as u32;
    i64 => put_u64, get_u64 as u64;
}

impl Migrate for usize {
    fn save(&self, w: &mut StateWriter) {
        w.put_u64(*self as u64)
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        let v = r.get_u64()?;
        *self = usize::try_from(v)
            .map_err(|_| Error::new(format!("saved size {v} does not fit this host")))?;
        Ok(())
    }
}

impl Migrate for bool {
    fn save(&self, w: &mut StateWriter) {
        w.put_bool(*self)
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        *self = match r.get_u8()? {
            0 => false,
            1 => true,
            b => return Err(Error::new(format!("saved bool is {b}, not 0 or 1"))),
        };
        Ok(())
    }
}

impl Migrate for char {
    fn save(&self, w: &mut StateWriter) {
        w.put_u32(u32::from(*self))
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        let v = r.get_u32()?;
        *self = char::from_u32(v)
            .ok_or_else(|| Error::new(format!("saved char {v:#x} is not a character")))?;
        Ok(())
    }
}

impl Migrate for String {
    fn save(&self, w: &mut StateWriter) {
        w.put_bytes(self.as_bytes())
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        *self = std::str::from_utf8(r.get_bytes()?)
            .map_err(|e| Error::new(format!("saved string is not UTF-8: {e}")))?
            .to_string();
        Ok(())
    }
}

impl<T: Migrate, const N: usize> Migrate for [T; N] {
    fn save(&self, w: &mut StateWriter) {
        for v in self {
            v.save(w);
        }
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        for v in self.iter_mut() {
            v.load(r)?;
        }
        Ok(())
    }
}

/// Reads a length-prefixed sequence into `push`, never trusting the
/// saved length for an allocation larger than the bytes that are left.
fn load_seq<T: Migrate + Default>(
    r: &mut StateReader<'_>,
    mut push: impl FnMut(T),
) -> Result<(), Error> {
    let n = r.get_u32()?;
    for _ in 0..n {
        let mut v = T::default();
        v.load(r)?;
        push(v);
    }
    Ok(())
}

macro_rules! migrate_seq {
    ($($seq:ident :: $push:ident),*) => {$(
        impl<T: Migrate + Default> Migrate for $seq<T> {
            fn save(&self, w: &mut StateWriter) {
                w.put_u32(self.len() as u32);
                for v in self {
                    v.save(w);
                }
            }
            fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
                self.clear();
                load_seq(r, |v| self.$push(v))
            }
        }
    )*};
}
use std::collections::VecDeque;
migrate_seq!(Vec::push, VecDeque::push_back);

impl<T: Migrate + Default> Migrate for Option<T> {
    fn save(&self, w: &mut StateWriter) {
        match self {
            None => w.put_u8(0),
            Some(v) => {
                w.put_u8(1);
                v.save(w);
            }
        }
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        *self = match r.get_u8()? {
            0 => None,
            1 => {
                let mut v = T::default();
                v.load(r)?;
                Some(v)
            }
            t => return Err(Error::new(format!("saved Option tag is {t}, not 0 or 1"))),
        };
        Ok(())
    }
}

impl<A: Migrate, B: Migrate> Migrate for (A, B) {
    fn save(&self, w: &mut StateWriter) {
        self.0.save(w);
        self.1.save(w);
    }
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        self.0.load(r)?;
        self.1.load(r)
    }
}

/// The error for state left over after a device read its own (saved by
/// another version of the device).
pub(crate) fn all_read(r: &StateReader<'_>) -> Result<(), Error> {
    match r.remaining() {
        0 => Ok(()),
        n => Err(Error::new(format!(
            "{n} bytes of device state left over (saved by another version of the device?)"
        ))),
    }
}

/// Saves a field (generated code).
#[doc(hidden)]
pub fn save_field<M: Migrate + ?Sized>(field: &M, w: &mut StateWriter) {
    field.save(w)
}

/// Loads a field (generated code).
#[doc(hidden)]
pub fn load_field<M: Migrate + ?Sized>(
    field: &mut M,
    r: &mut StateReader<'_>,
) -> Result<(), Error> {
    field.load(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_truncation_is_an_error() {
        let mut w = StateWriter::new();
        w.put_u8(1);
        w.put_u32(0xdead_beef);
        w.put_bytes(b"fifo");
        w.put_u64(7);
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes);
        assert_eq!(r.get_u8().unwrap(), 1);
        assert_eq!(r.get_u32().unwrap(), 0xdead_beef);
        assert_eq!(r.get_bytes().unwrap(), b"fifo");
        assert_eq!(r.get_u64().unwrap(), 7);
        assert_eq!(r.remaining(), 0);
        let mut short = StateReader::new(&bytes[..3]);
        short.get_u8().unwrap();
        assert!(short.get_u32().unwrap_err().message().contains("truncated"));
    }
}
