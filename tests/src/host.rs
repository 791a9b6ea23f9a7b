// SPDX-License-Identifier: GPL-2.0-or-later
//! The host end of a device's chardev: a unix socket QEMU listens on
//! (`-chardev socket,server=on,wait=off`) that the test connects to.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A socket path for a chardev, removed on drop.
#[derive(Debug)]
pub struct HostSocket {
    path: PathBuf,
}

impl HostSocket {
    /// A fresh socket path (unique per process and call).
    pub fn new(tag: &str) -> HostSocket {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("qdev-{tag}-{}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        HostSocket { path }
    }

    /// The `-chardev` argument that makes QEMU listen here.
    pub fn chardev_arg(&self, id: &str) -> String {
        format!(
            "socket,id={id},path={},server=on,wait=off",
            self.path.display()
        )
    }

    /// Connects, with reads bounded by `timeout`.
    pub fn connect(&self, timeout: Duration) -> std::io::Result<UnixStream> {
        let s = UnixStream::connect(&self.path)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Ok(s)
    }
}

impl Drop for HostSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Sends `data` from a thread (a device takes bytes only as fast as the
/// guest drains it).
pub fn send_in_background(stream: &UnixStream, data: Vec<u8>) -> JoinHandle<std::io::Result<()>> {
    let mut s = stream.try_clone().expect("clone the socket");
    std::thread::spawn(move || s.write_all(&data))
}

/// Receives `len` bytes from a thread (QEMU blocks while the socket is
/// full, so the host must read while the guest writes).
pub fn receive_in_background(
    stream: &UnixStream,
    len: usize,
) -> JoinHandle<std::io::Result<Vec<u8>>> {
    let mut s = stream.try_clone().expect("clone the socket");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; len];
        s.read_exact(&mut buf).map(|_| buf)
    })
}

/// `len` pseudo-random bytes, the same for the same `seed`.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Whether a read from a socket with a read timeout failed only for now
/// (timed out, would block, interrupted): the caller reads again.
pub fn retry_read(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}
