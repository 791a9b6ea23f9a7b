// SPDX-License-Identifier: GPL-2.0-or-later
//! A guard that kills QEMU if the test process dies without dropping its
//! handle (QEMU does not exit when its sockets close).

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A `/bin/sh` that kills QEMU and removes the socket directory when its
/// stdin reaches end-of-file, which happens when the test process dies: the
/// pipe's write end lives only here (std creates pipes close-on-exec, so no
/// other child inherits it).
pub(crate) struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    pub(crate) fn spawn(qemu_pid: u32, dir: &Path) -> Option<Watchdog> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg("read line; kill -9 \"$0\" 2>/dev/null; rm -rf \"$1\"")
            .arg(qemu_pid.to_string())
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take();
        Some(Watchdog { child, stdin })
    }

    /// Stops the watchdog without letting it act: SIGKILL first, and only
    /// then close its stdin.
    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.stdin.take());
    }
}
