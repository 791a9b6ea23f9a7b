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

/// Register values as the generated code saves them.
pub trait RegisterState: Copy {
    /// Writes the value.
    fn save(self, w: &mut StateWriter);
    /// Reads a value.
    fn load(r: &mut StateReader<'_>) -> Result<Self, Error>;
}

macro_rules! register_state {
    ($($t:ty => $put:ident, $get:ident;)*) => {$(
        impl RegisterState for $t {
            fn save(self, w: &mut StateWriter) {
                w.$put(self)
            }
            fn load(r: &mut StateReader<'_>) -> Result<Self, Error> {
                r.$get()
            }
        }
    )*};
}
register_state! {
    u8 => put_u8, get_u8;
    u16 => put_u16, get_u16;
    u32 => put_u32, get_u32;
    u64 => put_u64, get_u64;
}

/// A register field or register array, as the generated code saves it.
pub trait SaveRegister {
    /// Writes it.
    fn save_into(&self, w: &mut StateWriter);
    /// Reads it back.
    fn load_from(&mut self, r: &mut StateReader<'_>) -> Result<(), Error>;
}

impl<T: RegisterState> SaveRegister for T {
    fn save_into(&self, w: &mut StateWriter) {
        self.save(w)
    }
    fn load_from(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        *self = T::load(r)?;
        Ok(())
    }
}

impl<T: RegisterState, const N: usize> SaveRegister for [T; N] {
    fn save_into(&self, w: &mut StateWriter) {
        for v in self {
            v.save(w);
        }
    }
    fn load_from(&mut self, r: &mut StateReader<'_>) -> Result<(), Error> {
        for v in self.iter_mut() {
            *v = T::load(r)?;
        }
        Ok(())
    }
}

/// Saves a register field (generated code).
pub fn save_register<R: SaveRegister>(reg: &R, w: &mut StateWriter) {
    reg.save_into(w)
}

/// Loads a register field (generated code).
pub fn load_register<R: SaveRegister>(reg: &mut R, r: &mut StateReader<'_>) -> Result<(), Error> {
    reg.load_from(r)
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
