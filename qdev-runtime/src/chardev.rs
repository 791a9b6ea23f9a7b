// SPDX-License-Identifier: GPL-2.0-or-later
//! A byte stream to the host: a chardev backend given as a property
//! (`#[chardev(receive = Self::rx, can_receive = Self::room)] serial: CharDev`,
//! then `-chardev socket,id=c0,... -device dev,chardev=c0`).
//!
//! Receiving has backpressure: the backend asks `can_receive` how many bytes
//! the device takes and never delivers more; when the device makes room it
//! calls [`CharDev::accept_input`] so the backend delivers again.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A chardev event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharEvent {
    /// The backend connected (e.g. a socket client).
    Opened,
    /// It disconnected.
    Closed,
    /// A serial break.
    Break,
}

pub(crate) enum CharSink {
    None,
    #[cfg(feature = "qemu")]
    Qemu(*mut qdev_sys::CharBackend),
    Mock(Rc<RefCell<crate::mock::MockChar>>),
}

/// A chardev frontend.
pub struct CharDev {
    sink: CharSink,
}

impl Default for CharDev {
    fn default() -> Self {
        CharDev {
            sink: CharSink::None,
        }
    }
}

impl fmt::Debug for CharDev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CharDev")
            .field("connected", &self.connected())
            .finish()
    }
}

impl CharDev {
    pub(crate) fn with_sink(sink: CharSink) -> CharDev {
        CharDev { sink }
    }

    /// Whether a backend is attached (`chardev=` was given).
    pub fn connected(&self) -> bool {
        match &self.sink {
            CharSink::None => false,
            #[cfg(feature = "qemu")]
            CharSink::Qemu(be) => crate::qemu::chr_connected(*be),
            CharSink::Mock(_) => true,
        }
    }

    /// Sends `bytes`, blocking until the backend took them all (as QEMU's
    /// UARTs do); returns how many were sent (0 without a backend).
    pub fn write(&self, bytes: &[u8]) -> usize {
        match &self.sink {
            CharSink::None => 0,
            #[cfg(feature = "qemu")]
            CharSink::Qemu(be) => crate::qemu::chr_write(*be, bytes),
            CharSink::Mock(c) => {
                c.borrow_mut().sent.extend_from_slice(bytes);
                bytes.len()
            }
        }
    }

    /// Tells the backend the device can take input again.
    pub fn accept_input(&self) {
        match &self.sink {
            CharSink::None => {}
            #[cfg(feature = "qemu")]
            CharSink::Qemu(be) => crate::qemu::chr_accept_input(*be),
            CharSink::Mock(c) => c.borrow_mut().wants_input = true,
        }
    }
}
