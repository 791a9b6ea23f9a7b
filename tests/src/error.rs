// SPDX-License-Identifier: GPL-2.0-or-later
//! The harness's error type.

use std::fmt;
use std::io;
use std::process::ExitStatus;

use qdev_tool::launch::LaunchError;
use qdev_tool::qemu::QemuError;

/// At most this much of QEMU's stderr is shown in an error message (the
/// end of it; the full text stays in the error).
const STDERR_SHOWN: usize = 6000;

/// Everything that can go wrong while driving QEMU.
#[derive(Debug)]
#[non_exhaustive]
pub enum HarnessError {
    /// The QEMU binary could not be found or inspected.
    Binary(QemuError),
    /// A module was refused before QEMU started (built for another QEMU,
    /// no module information, unreadable, ...).
    Launch(LaunchError),
    /// An operating-system call failed.
    Io {
        /// What the harness was doing.
        context: String,
        /// The error.
        source: io::Error,
    },
    /// QEMU exited, or closed its connection to the harness, while the
    /// harness needed it: for example a bad `-device` option at start-up.
    Exited {
        /// What the harness was doing.
        context: String,
        /// QEMU's exit status, when it had exited by the time the error was
        /// made.
        status: Option<ExitStatus>,
        /// Everything QEMU wrote to stderr.
        stderr: String,
    },
    /// A wait ran out of time.
    Timeout {
        /// What the harness was waiting for.
        context: String,
        /// QEMU's stderr so far.
        stderr: String,
    },
    /// A qtest command was answered with `FAIL ...` / `ERR ...` or with a
    /// reply the harness could not parse.
    Qtest {
        /// The command sent.
        command: String,
        /// QEMU's reply line.
        reply: String,
    },
    /// A QMP command was answered with an error.
    Qmp {
        /// The command sent (`execute` name).
        command: String,
        /// The error class, e.g. `GenericError`, `CommandNotFound`.
        class: String,
        /// The error description.
        desc: String,
    },
    /// QEMU said something the harness does not understand.
    Protocol {
        /// What the harness was doing.
        context: String,
        /// What was wrong.
        detail: String,
    },
    /// The test asked for something impossible (a BAR that does not exist,
    /// an unaligned PCI config access, ...).
    Usage(String),
}

impl HarnessError {
    /// The module refusal, when QEMU was not started because a module was
    /// refused.
    pub fn launch_error(&self) -> Option<&LaunchError> {
        match self {
            HarnessError::Launch(e) => Some(e),
            _ => None,
        }
    }

    /// QEMU's stderr carried by the error, if any.
    pub fn stderr(&self) -> Option<&str> {
        match self {
            HarnessError::Exited { stderr, .. } | HarnessError::Timeout { stderr, .. } => {
                Some(stderr)
            }
            _ => None,
        }
    }

    /// QEMU's exit status, when the error is that QEMU exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            HarnessError::Exited { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether QEMU had exited or dropped its connection.
    pub fn is_exited(&self) -> bool {
        matches!(self, HarnessError::Exited { .. })
    }

    /// Whether a wait ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, HarnessError::Timeout { .. })
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> HarnessError {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}

fn write_stderr(f: &mut fmt::Formatter<'_>, stderr: &str) -> fmt::Result {
    let stderr = stderr.trim_end();
    if stderr.is_empty() {
        return f.write_str("\n(QEMU wrote nothing to stderr)");
    }
    f.write_str("\n--- QEMU stderr ---\n")?;
    if stderr.len() > STDERR_SHOWN {
        let mut cut = stderr.len() - STDERR_SHOWN;
        while !stderr.is_char_boundary(cut) {
            cut += 1;
        }
        write!(f, "[... {cut} bytes left out ...]\n{}", &stderr[cut..])?;
    } else {
        f.write_str(stderr)?;
    }
    f.write_str("\n--- end of QEMU stderr ---")
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Binary(e) => write!(f, "{e}"),
            HarnessError::Launch(e) => write!(f, "module refused: {e}"),
            HarnessError::Io { context, source } => write!(f, "{context}: {source}"),
            HarnessError::Exited {
                context,
                status,
                stderr,
            } => {
                match status {
                    Some(status) => write!(f, "{context}: QEMU exited ({status})")?,
                    None => write!(f, "{context}: QEMU closed the connection")?,
                }
                write_stderr(f, stderr)
            }
            HarnessError::Timeout { context, stderr } => {
                write!(f, "timed out {context}")?;
                write_stderr(f, stderr)
            }
            HarnessError::Qtest { command, reply } => {
                write!(
                    f,
                    "qtest command `{command}` failed: QEMU answered `{reply}`"
                )
            }
            HarnessError::Qmp {
                command,
                class,
                desc,
            } => write!(f, "QMP command `{command}` failed: {class}: {desc}"),
            HarnessError::Protocol { context, detail } => write!(f, "{context}: {detail}"),
            HarnessError::Usage(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for HarnessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HarnessError::Binary(e) => Some(e),
            HarnessError::Launch(e) => Some(e),
            HarnessError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<LaunchError> for HarnessError {
    fn from(e: LaunchError) -> Self {
        HarnessError::Launch(e)
    }
}

impl From<QemuError> for HarnessError {
    fn from(e: QemuError) -> Self {
        HarnessError::Binary(e)
    }
}

/// Results of harness operations.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;
