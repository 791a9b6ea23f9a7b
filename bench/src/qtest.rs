// SPDX-License-Identifier: GPL-2.0-or-later
//! A minimal qtest + QMP client for QEMU started under a wrapper
//! (valgrind). The harness in `tests/` inspects and launches the QEMU
//! binary itself, so it cannot put valgrind in front; this one takes any
//! command line. QEMU connects to two unix sockets the client listens on
//! (as QEMU's libqtest does), accesses are sent pipelined (a writer thread
//! while the replies are read), and QEMU is ended with QMP `quit`, so a
//! profiler running it writes its output.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running QEMU with its qtest and QMP connections.
pub struct Session {
    child: Child,
    qtest: UnixStream,
    qtest_in: BufReader<UnixStream>,
    qmp: UnixStream,
    qmp_in: BufReader<UnixStream>,
    stderr_path: PathBuf,
}

fn accept(
    listener: &UnixListener,
    child: &mut Child,
    stderr: &Path,
    deadline: Instant,
) -> Result<UnixStream, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("accept: {e}")),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "QEMU exited during start-up ({status}):\n{}",
                tail_of(stderr)
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "QEMU did not connect within the time limit:\n{}",
                tail_of(stderr)
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn tail_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Session {
    /// Starts `cmd` (a QEMU command line, possibly behind a wrapper) with
    /// the qtest and QMP options added, in `dir`, and waits (up to
    /// `timeout`) until the machine answers.
    pub fn start(mut cmd: Command, dir: &Path, timeout: Duration) -> Result<Session, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let qtest_path = dir.join("qtest.sock");
        let qmp_path = dir.join("qmp.sock");
        let _ = std::fs::remove_file(&qtest_path);
        let _ = std::fs::remove_file(&qmp_path);
        let qtest_l = UnixListener::bind(&qtest_path).map_err(|e| format!("bind: {e}"))?;
        let qmp_l = UnixListener::bind(&qmp_path).map_err(|e| format!("bind: {e}"))?;
        let stderr_path = dir.join("qemu.stderr");
        let stderr = File::create(&stderr_path).map_err(|e| e.to_string())?;
        cmd.args([
            "-qtest".to_string(),
            format!("unix:{}", qtest_path.display()),
            "-qtest-log".into(),
            "none".into(),
            "-chardev".into(),
            format!("socket,id=bench-qmp,path={}", qmp_path.display()),
            "-mon".into(),
            "chardev=bench-qmp,mode=control".into(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {:?}: {e}", cmd.get_program()))?;
        let deadline = Instant::now() + timeout;
        let qtest = accept(&qtest_l, &mut child, &stderr_path, deadline);
        let qmp = qtest
            .as_ref()
            .ok()
            .map(|_| accept(&qmp_l, &mut child, &stderr_path, deadline));
        let (qtest, qmp) = match (qtest, qmp) {
            (Ok(a), Some(Ok(b))) => (a, b),
            (Err(e), _) | (_, Some(Err(e))) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
            _ => unreachable!(),
        };
        let _ = std::fs::remove_file(&qtest_path);
        let _ = std::fs::remove_file(&qmp_path);
        let mut s = Session {
            child,
            qtest_in: BufReader::new(qtest.try_clone().map_err(|e| e.to_string())?),
            qtest,
            qmp_in: BufReader::new(qmp.try_clone().map_err(|e| e.to_string())?),
            qmp,
            stderr_path,
        };
        s.qmp_line()?; // greeting
        s.qmp_execute("qmp_capabilities")?;
        // qtest runs in the main loop: an answer means the machine is up.
        s.command("endianness")?;
        Ok(s)
    }

    fn qmp_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self
            .qmp_in
            .read_line(&mut line)
            .map_err(|e| format!("QMP: {e}"))?;
        if n == 0 {
            return Err(format!("QMP closed:\n{}", tail_of(&self.stderr_path)));
        }
        Ok(line)
    }

    fn qmp_execute(&mut self, command: &str) -> Result<(), String> {
        writeln!(self.qmp, "{{\"execute\":\"{command}\"}}").map_err(|e| e.to_string())?;
        loop {
            let line = self.qmp_line()?;
            if line.contains("\"return\"") {
                return Ok(());
            }
            if line.contains("\"error\"") {
                return Err(format!("QMP {command}: {line}"));
            }
        }
    }

    /// One qtest command; the reply after `OK`.
    pub fn command(&mut self, line: &str) -> Result<String, String> {
        writeln!(self.qtest, "{line}").map_err(|e| format!("qtest: {e}"))?;
        self.reply(line)
    }

    fn reply(&mut self, sent: &str) -> Result<String, String> {
        loop {
            let mut reply = String::new();
            let n = self
                .qtest_in
                .read_line(&mut reply)
                .map_err(|e| format!("qtest: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "qtest closed after `{sent}`:\n{}",
                    tail_of(&self.stderr_path)
                ));
            }
            let reply = reply.trim_end();
            if reply.starts_with("IRQ ") {
                continue;
            }
            return match reply.strip_prefix("OK") {
                Some(rest) => Ok(rest.trim().to_string()),
                None => Err(format!("qtest `{sent}`: {reply}")),
            };
        }
    }

    fn value(&mut self, line: &str) -> Result<u64, String> {
        let r = self.command(line)?;
        r.strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("qtest `{line}`: unexpected reply {r:?}"))
    }

    /// Finds VENDOR:DEVICE on PCI bus 0 (configuration mechanism #1),
    /// places its BAR 0 at `addr` and turns memory decoding on.
    pub fn map_bar0(&mut self, vendor: u16, device: u16, addr: u32) -> Result<(), String> {
        let want = u64::from(vendor) | (u64::from(device) << 16);
        for slot in 0..32u32 {
            let cfg = 0x8000_0000 | (slot << 11);
            self.command(&format!("outl 0xcf8 0x{cfg:x}"))?;
            if self.value("inl 0xcfc")? != want {
                continue;
            }
            self.command(&format!("outl 0xcf8 0x{:x}", cfg | 0x10))?;
            self.command(&format!("outl 0xcfc 0x{addr:x}"))?;
            let bar = self.value("inl 0xcfc")?;
            if bar & 0x6 == 0x4 {
                // 64-bit BAR: the upper half is BAR 1.
                self.command(&format!("outl 0xcf8 0x{:x}", cfg | 0x14))?;
                self.command("outl 0xcfc 0x0")?;
            }
            self.command(&format!("outl 0xcf8 0x{:x}", cfg | 0x04))?;
            self.command("outl 0xcfc 0x2")?;
            return Ok(());
        }
        Err(format!("no PCI device {vendor:04x}:{device:04x} on bus 0"))
    }

    /// Sends `lines` (qtest commands) pipelined and returns the replies in
    /// order. Fails on the first reply that is not `OK`.
    pub fn pipeline(&mut self, lines: &[String]) -> Result<Vec<String>, String> {
        let mut text = String::with_capacity(lines.len() * 32);
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        let mut w = self.qtest.try_clone().map_err(|e| e.to_string())?;
        let writer = thread::spawn(move || w.write_all(text.as_bytes()));
        let mut out = Vec::with_capacity(lines.len());
        for l in lines {
            out.push(self.reply(l)?);
        }
        writer
            .join()
            .map_err(|_| "qtest writer panicked".to_string())?
            .map_err(|e| format!("qtest: {e}"))?;
        Ok(out)
    }

    /// QMP `quit`, then waits (up to `timeout`) for QEMU to exit.
    pub fn quit(mut self, timeout: Duration) -> Result<(), String> {
        writeln!(self.qmp, "{{\"execute\":\"quit\"}}").map_err(|e| e.to_string())?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "QEMU exited with {status}:\n{}",
                        tail_of(&self.stderr_path)
                    ))
                };
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err("QEMU did not exit after QMP quit".into());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
