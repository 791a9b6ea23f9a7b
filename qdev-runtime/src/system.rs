// SPDX-License-Identifier: GPL-2.0-or-later
//! Requests a device makes of the whole machine (`#[system] system: System`):
//! a watchdog's expiry action, a reset, a power-off.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A request to the machine, as the mocked bus records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemRequest {
    /// A watchdog expired: QEMU carries out its `-action watchdog=...`
    /// (reset by default).
    WatchdogExpired,
    /// Reset the machine, as the guest asked.
    Reset,
    /// Power the machine off, as the guest asked.
    Shutdown,
}

pub(crate) enum SystemSink {
    None,
    #[cfg(feature = "qemu")]
    Qemu,
    Mock(Rc<RefCell<crate::mock::Recorder>>),
}

/// The machine the device is part of.
pub struct System {
    sink: SystemSink,
}

impl Default for System {
    fn default() -> Self {
        System {
            sink: SystemSink::None,
        }
    }
}

impl fmt::Debug for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("System")
    }
}

impl System {
    pub(crate) fn with_sink(sink: SystemSink) -> System {
        System { sink }
    }

    fn request(&self, r: SystemRequest) {
        match &self.sink {
            SystemSink::None => {}
            #[cfg(feature = "qemu")]
            SystemSink::Qemu => crate::qemu::system_request(r),
            SystemSink::Mock(rec) => rec.borrow_mut().system(r),
        }
    }

    /// A watchdog expired: QEMU performs the configured watchdog action
    /// (`-action watchdog=reset|shutdown|poweroff|pause|debug|none|inject-nmi`)
    /// and emits the `WATCHDOG` QMP event.
    pub fn watchdog_expired(&self) {
        self.request(SystemRequest::WatchdogExpired);
    }

    /// Asks for a machine reset (as a guest-initiated reset).
    pub fn request_reset(&self) {
        self.request(SystemRequest::Reset);
    }

    /// Asks for a power-off (as a guest-initiated shutdown).
    pub fn request_shutdown(&self) {
        self.request(SystemRequest::Shutdown);
    }
}
