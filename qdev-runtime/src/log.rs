// SPDX-License-Identifier: GPL-2.0-or-later
//! Logging guest errors and unimplemented features, QEMU's way.
//!
//! Inside QEMU a message goes to QEMU's log when the user asked for its
//! class (`-d guest_errors`, `-d unimp`). On the mocked bus it is kept per
//! thread, so a unit test can assert on it.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// The class of a log message (QEMU's `LOG_GUEST_ERROR`, `LOG_UNIMP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogClass {
    /// The guest did something the hardware does not allow.
    GuestError,
    /// The guest used a feature the model does not implement.
    Unimplemented,
}

/// One message kept on the mocked bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its class.
    pub class: LogClass,
    /// The text, without the trailing newline.
    pub message: String,
}

#[cfg_attr(not(feature = "qemu"), allow(dead_code))]
static IN_QEMU: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MOCK_LOG: RefCell<Vec<LogEntry>> = const { RefCell::new(Vec::new()) };
}

/// Called by the QEMU backend once the module initializes inside QEMU.
#[cfg_attr(not(feature = "qemu"), allow(dead_code))]
pub(crate) fn set_in_qemu() {
    IN_QEMU.store(true, Ordering::Relaxed);
}

/// Logs a message of `class`.
pub fn log(class: LogClass, args: fmt::Arguments<'_>) {
    #[cfg(feature = "qemu")]
    if IN_QEMU.load(Ordering::Relaxed) {
        crate::qemu::log(class, args);
        return;
    }
    let message = args.to_string();
    MOCK_LOG.with(|l| {
        l.borrow_mut().push(LogEntry {
            class,
            message: message.trim_end().to_string(),
        })
    });
}

/// Takes the messages logged on this thread outside QEMU.
pub fn take_mock_log() -> Vec<LogEntry> {
    MOCK_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Logs a guest error (`-d guest_errors`), like QEMU's
/// `qemu_log_mask(LOG_GUEST_ERROR, ...)`.
#[macro_export]
macro_rules! guest_error {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogClass::GuestError, ::core::format_args!($($arg)*))
    };
}

/// Logs use of an unimplemented feature (`-d unimp`).
#[macro_export]
macro_rules! unimp {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogClass::Unimplemented, ::core::format_args!($($arg)*))
    };
}
