// SPDX-License-Identifier: GPL-2.0-or-later
//! Property values as QEMU stores them, and the checks made at realize.

use std::ffi::{c_char, CStr, CString};

use crate::Error;

/// Storage of a string property: a C string owned by QEMU's property code
/// (or, on the mocked bus, by the test). `None`/NULL when unset.
#[repr(transparent)]
#[derive(Debug)]
pub struct RawString(*mut c_char);

impl Default for RawString {
    fn default() -> Self {
        RawString(std::ptr::null_mut())
    }
}

impl RawString {
    /// The value, or `None` when the property is unset.
    pub fn get(&self) -> Option<String> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: a non-NULL pointer here was stored by QEMU's string
        // property setter (g_strdup) or by `set`, and stays valid until the
        // property is released or set again.
        Some(
            unsafe { CStr::from_ptr(self.0) }
                .to_string_lossy()
                .into_owned(),
        )
    }

    /// Sets the value outside QEMU (the mocked bus). The previous value,
    /// if set by this function, is leaked: tests are short-lived.
    pub(crate) fn set(&mut self, value: &str) {
        let c = CString::new(value.replace('\0', "")).expect("NULs removed");
        self.0 = c.into_raw();
    }
}

/// Checks an integer property against its declared range, naming it.
pub fn check_range(name: &str, value: i128, min: i128, max: i128) -> Result<(), Error> {
    if value < min || value > max {
        return Err(Error::new(format!(
            "property '{name}' must be between {min} and {max}, not {value}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_error_names_the_property() {
        let e = check_range("fifo-depth", 100, 1, 64).unwrap_err();
        assert_eq!(
            e.message(),
            "property 'fifo-depth' must be between 1 and 64, not 100"
        );
        assert!(check_range("fifo-depth", 64, 1, 64).is_ok());
    }

    #[test]
    fn raw_string_is_none_until_set() {
        let mut s = RawString::default();
        assert_eq!(s.get(), None);
        s.set("uart0");
        assert_eq!(s.get().as_deref(), Some("uart0"));
    }
}
