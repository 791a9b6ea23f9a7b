// SPDX-License-Identifier: GPL-2.0-or-later
//! Starting QEMU under qtest and QMP, and everything that talks to it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use qdev_tool::launch::{plain_command_line, qemu_command, LaunchOptions};
use qdev_tool::qemu::{default_binary, QemuBinary};

use crate::base64;
use crate::error::{HarnessError, Result};
use crate::json::Json;
use crate::watchdog::Watchdog;

/// How long every wait lasts unless the builder says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Set to a non-empty value to echo qtest and QMP traffic and QEMU's output
/// on the test's stderr (visible with `cargo test -- --nocapture`).
pub const VERBOSE_ENV: &str = "QDEV_QTEST_VERBOSE";

/// Bytes moved by one `b64read` / `b64write` command.
const MEM_CHUNK: usize = 64 * 1024;

/// How long to wait for QEMU's exit status and the rest of its stderr once
/// it has dropped a connection, before reporting the error anyway.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// A change of an intercepted interrupt line, as qtest reports it
/// (`IRQ raise N` / `IRQ lower N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IrqEvent {
    /// The line number: the index of the GPIO within the intercepted
    /// device's GPIO list (for `irq_intercept_in("ioapic")` on x86, the GSI).
    pub line: u32,
    /// `true` for raise, `false` for lower.
    pub level: bool,
}

/// An asynchronous QMP event.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    /// The event name, e.g. `STOP`, `RESUME`, `DEVICE_DELETED`.
    pub name: String,
    /// The event's `data` member (`Json::Null` when there is none).
    pub data: Json,
    /// The whole message, including its `timestamp`.
    pub raw: Json,
}

/// Builds and starts a QEMU process under qtest. See [`Qemu::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct QemuBuilder {
    binary: Option<PathBuf>,
    modules: Vec<PathBuf>,
    machine: Option<String>,
    args: Vec<String>,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
    no_check: bool,
    log: Option<String>,
    stub_firmware: Option<bool>,
    watchdog: bool,
}

impl Default for QemuBuilder {
    fn default() -> Self {
        QemuBuilder {
            binary: None,
            modules: Vec::new(),
            machine: None,
            args: Vec::new(),
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            no_check: false,
            log: None,
            stub_firmware: None,
            watchdog: true,
        }
    }
}

impl QemuBuilder {
    /// The QEMU binary (a path, or a name looked up in `PATH`). Default:
    /// `$QDEV_QEMU`, else `qemu-system-x86_64`.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Preloads a device module (repeatable). Modules are checked against the
    /// binary first, exactly as `cargo qdev run` does.
    pub fn module(mut self, path: impl Into<PathBuf>) -> Self {
        self.modules.push(path.into());
        self
    }

    /// `-machine NAME` (`pc`, `q35`, `virt`, possibly with options).
    pub fn machine(mut self, machine: impl Into<String>) -> Self {
        self.machine = Some(machine.into());
        self
    }

    /// Adds one command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `-device SPEC`.
    pub fn device(self, spec: impl Into<String>) -> Self {
        self.arg("-device").arg(spec)
    }

    /// Sets an environment variable for QEMU (and so for the modules).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The time limit of every wait that is not given one explicitly:
    /// start-up, each qtest and QMP reply, [`Qemu::quit`]. Default 10 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Loads modules without checking their build information.
    pub fn no_check(mut self) -> Self {
        self.no_check = true;
        self
    }

    /// `-d ITEMS` (e.g. `guest_errors,unimp`): QEMU writes those logs to
    /// its stderr, which the harness captures.
    pub fn log(mut self, items: impl Into<String>) -> Self {
        self.log = Some(items.into());
        self
    }

    /// Whether to replace the x86 firmware with a 64 KiB image whose reset
    /// vector is `cli; hlt`.
    ///
    /// QEMU starts paused (`-S`) and qtest needs no guest code, but virtual
    /// time (device timers) only runs while the VM runs; with the real
    /// firmware, [`Qemu::resume`] would run SeaBIOS, which reprograms the
    /// PCI devices under test. The stub keeps the CPU halted instead.
    ///
    /// Default: on for x86 targets unless the arguments name `-bios`,
    /// `-kernel`, `-pflash` or an `if=pflash` drive; off for other targets.
    pub fn stub_firmware(mut self, on: bool) -> Self {
        self.stub_firmware = Some(on);
        self
    }

    /// Whether to start a watchdog process (`/bin/sh`) that kills QEMU if
    /// the test process dies without dropping [`Qemu`] (SIGKILL, abort).
    /// QEMU itself keeps running when its qtest and QMP connections close.
    /// Default: on.
    pub fn watchdog(mut self, on: bool) -> Self {
        self.watchdog = on;
        self
    }

    fn wants_stub_firmware(&self, binary: &QemuBinary) -> bool {
        self.stub_firmware.unwrap_or_else(|| {
            matches!(binary.target.as_str(), "x86_64" | "i386")
                && !self.args.iter().any(|a| {
                    matches!(
                        a.trim_start_matches('-'),
                        "bios" | "kernel" | "pflash" | "L"
                    ) || a.contains("if=pflash")
                })
        })
    }

    /// Starts QEMU, connects qtest and QMP, and waits until the machine is
    /// built (a bad `-device` is reported here with QEMU's message).
    pub fn start(self) -> Result<Qemu> {
        let binary_path = self.binary.clone().unwrap_or_else(default_binary);
        let binary = QemuBinary::inspect(&binary_path)?;
        let mut cmd = qemu_command(
            &binary,
            &self.modules,
            &LaunchOptions {
                no_check: self.no_check,
            },
        )?;

        let dir = TempDir::new().map_err(|e| HarnessError::io("creating a socket directory", e))?;
        let qtest_path = dir.path.join("qtest.sock");
        let qmp_path = dir.path.join("qmp.sock");
        let qtest_listener = listen(&qtest_path)?;
        let qmp_listener = listen(&qmp_path)?;

        let mut args: Vec<String> = vec![
            "-qtest".into(),
            format!("unix:{}", qtest_path.display()),
            // Without this QEMU logs every qtest command to its stderr.
            "-qtest-log".into(),
            "none".into(),
            "-chardev".into(),
            format!("socket,id=qdev-qmp,path={}", qmp_path.display()),
            "-mon".into(),
            "chardev=qdev-qmp,mode=control".into(),
            "-S".into(),
            "-display".into(),
            "none".into(),
            "-nodefaults".into(),
        ];
        if let Some(machine) = &self.machine {
            args.push("-machine".into());
            args.push(machine.clone());
        }
        if let Some(log) = &self.log {
            args.push("-d".into());
            args.push(log.clone());
        }
        if self.wants_stub_firmware(&binary) {
            let bios = dir.path.join("stub-bios.bin");
            fs::write(&bios, stub_bios())
                .map_err(|e| HarnessError::io(format!("writing {}", bios.display()), e))?;
            args.push("-bios".into());
            args.push(bios.display().to_string());
        }
        args.extend(self.args.iter().cloned());

        let command_line = plain_command_line(&binary, &self.modules, &args);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }

        let verbose = std::env::var_os(VERBOSE_ENV).is_some_and(|v| !v.is_empty());
        if verbose {
            eprintln!("[qtest] starting {command_line}");
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::io(format!("starting `{command_line}`"), e))?;
        let pid = child.id();
        let watchdog = if self.watchdog {
            Watchdog::spawn(pid, &dir.path)
        } else {
            None
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let process = Mutex::new(Process {
            child,
            status: None,
            watchdog,
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            verbose,
        });
        if let Some(out) = stdout {
            spawn_output_reader("stdout", out, Arc::clone(&shared), OutputKind::Stdout);
        }
        if let Some(err) = stderr {
            spawn_output_reader("stderr", err, Arc::clone(&shared), OutputKind::Stderr);
        }

        let context = format!("starting `{command_line}`");
        let (qtest_stream, qmp_stream) = accept_both(
            &qtest_listener,
            &qmp_listener,
            &process,
            &shared,
            self.timeout,
            &context,
        )?;
        drop(qtest_listener);
        drop(qmp_listener);
        let _ = fs::remove_file(&qtest_path);
        let _ = fs::remove_file(&qmp_path);

        for stream in [&qtest_stream, &qmp_stream] {
            // A QEMU that stops reading must not block a test forever.
            stream
                .set_write_timeout(Some(self.timeout))
                .map_err(|e| HarnessError::io("configuring a socket", e))?;
        }
        spawn_qtest_reader(clone_stream(&qtest_stream)?, Arc::clone(&shared));
        spawn_qmp_reader(clone_stream(&qmp_stream)?, Arc::clone(&shared));

        let qemu = Qemu {
            process,
            shared,
            qtest: Mutex::new(Writer {
                stream: qtest_stream,
                sent: 0,
            }),
            qmp: Mutex::new(Writer {
                stream: qmp_stream,
                sent: 0,
            }),
            pci_lock: Mutex::new(()),
            pid,
            binary,
            command_line,
            timeout: self.timeout,
            dir,
        };
        qemu.handshake(&context)?;
        Ok(qemu)
    }
}

/// A running QEMU under qtest, with a QMP monitor.
///
/// All methods take `&self`: a `Qemu` can be shared between threads, and
/// [`Bar`](crate::Bar)s borrow it. Commands are serialized. Dropping it kills
/// QEMU (SIGKILL) and reaps it, also when the test panics.
pub struct Qemu {
    process: Mutex<Process>,
    shared: Arc<Shared>,
    qtest: Mutex<Writer>,
    qmp: Mutex<Writer>,
    pub(crate) pci_lock: Mutex<()>,
    pid: u32,
    binary: QemuBinary,
    command_line: String,
    timeout: Duration,
    dir: TempDir,
}

impl std::fmt::Debug for Qemu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qemu")
            .field("pid", &self.pid)
            .field("command_line", &self.command_line)
            .finish_non_exhaustive()
    }
}

impl Qemu {
    /// A builder with the defaults: `$QDEV_QEMU` or `qemu-system-x86_64`,
    /// the binary's default machine, no modules, 10 s timeout.
    pub fn builder() -> QemuBuilder {
        QemuBuilder::default()
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The QEMU binary, inspected.
    pub fn binary(&self) -> &QemuBinary {
        &self.binary
    }

    /// The equivalent shell command line (for reproducing a failure by hand;
    /// the sockets it names exist only while this `Qemu` lives).
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// The default timeout given to the builder.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The private temporary directory holding the sockets; removed on drop.
    /// Tests may put files there (e.g. a chardev's output file).
    pub fn temp_dir(&self) -> &Path {
        &self.dir.path
    }

    fn handshake(&self, context: &str) -> Result<()> {
        let greeting = self.shared.wait(self.timeout, |st| {
            if let Some(g) = &st.qmp_greeting {
                Some(Ok(g.clone()))
            } else if st.qmp_closed {
                Some(Err(()))
            } else {
                None
            }
        });
        match greeting {
            Some(Ok(_)) => {}
            Some(Err(())) => return Err(self.exited_error(context)),
            None => {
                return Err(self.timeout_error(format!("{context}: waiting for the QMP greeting")))
            }
        }
        self.qmp("qmp_capabilities", None)
            .map_err(|e| self.startup_error(e, context))?;
        // qtest commands run in QEMU's main loop, which starts only after
        // every -device has been created: an answer means the machine is up.
        let endianness = self
            .qtest_command("endianness")
            .map_err(|e| self.startup_error(e, context))?;
        if endianness != "little" && endianness != "big" {
            return Err(HarnessError::Protocol {
                context: context.to_string(),
                detail: format!("unexpected answer to `endianness`: {endianness:?}"),
            });
        }
        Ok(())
    }

    fn startup_error(&self, e: HarnessError, context: &str) -> HarnessError {
        match e {
            HarnessError::Exited { .. } => self.exited_error(context),
            other => other,
        }
    }

    // ----- qtest -----

    /// Sends a raw qtest command line and returns what follows `OK` in the
    /// reply (e.g. `0x00000000010000ed`, or an empty string). `FAIL ...` and
    /// `ERR ...` replies are errors naming the command and the reply.
    ///
    /// Beware: QEMU aborts on some malformed commands (its parser asserts).
    pub fn qtest_command(&self, command: &str) -> Result<String> {
        if command.contains('\n') || command.trim().is_empty() {
            return Err(HarnessError::Usage(format!(
                "invalid qtest command {command:?}"
            )));
        }
        let reply = self.qtest_roundtrip(command)?;
        match reply.strip_prefix("OK") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => Ok(rest.trim().to_string()),
            _ => Err(HarnessError::Qtest {
                command: command.to_string(),
                reply,
            }),
        }
    }

    fn qtest_roundtrip(&self, command: &str) -> Result<String> {
        let mut writer = lock(&self.qtest);
        let seq = writer.sent;
        writer.sent += 1;
        if self.shared.verbose {
            eprintln!("[qtest] > {command}");
        }
        if let Err(e) = writer.stream.write_all(format!("{command}\n").as_bytes()) {
            return Err(self.write_error(&format!("sending qtest `{command}`"), e));
        }
        let reply = self.shared.wait(self.timeout, |st| {
            while st.qtest_replies.front().is_some_and(|(n, _)| *n < seq) {
                st.qtest_replies.pop_front();
            }
            match st.qtest_replies.front() {
                Some((n, _)) if *n == seq => st.qtest_replies.pop_front().map(|(_, l)| Ok(l)),
                _ if st.qtest_closed => Some(Err(())),
                _ => None,
            }
        });
        drop(writer);
        match reply {
            Some(Ok(line)) => Ok(line),
            Some(Err(())) => {
                Err(self.exited_error(&format!("waiting for the reply to qtest `{command}`")))
            }
            None => Err(self.timeout_error(format!(
                "after {:?} waiting for the reply to qtest `{command}`",
                self.timeout
            ))),
        }
    }

    fn qtest_ok(&self, command: &str) -> Result<()> {
        let rest = self.qtest_command(command)?;
        if rest.is_empty() {
            Ok(())
        } else {
            Err(HarnessError::Protocol {
                context: format!("qtest `{command}`"),
                detail: format!("unexpected reply `OK {rest}`"),
            })
        }
    }

    fn qtest_value(&self, command: &str, bits: u32) -> Result<u64> {
        let rest = self.qtest_command(command)?;
        let value = rest
            .strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .filter(|v| bits == 64 || *v >> bits == 0);
        value.ok_or_else(|| HarnessError::Protocol {
            context: format!("qtest `{command}`"),
            detail: format!("expected a {bits}-bit hex value, QEMU answered `OK {rest}`"),
        })
    }

    /// Reads a byte of guest physical memory (MMIO included).
    pub fn readb(&self, addr: u64) -> Result<u8> {
        self.qtest_value(&format!("readb 0x{addr:x}"), 8)
            .map(|v| v as u8)
    }

    /// Reads a 16-bit value (guest byte order) at `addr`.
    pub fn readw(&self, addr: u64) -> Result<u16> {
        self.qtest_value(&format!("readw 0x{addr:x}"), 16)
            .map(|v| v as u16)
    }

    /// Reads a 32-bit value (guest byte order) at `addr`.
    pub fn readl(&self, addr: u64) -> Result<u32> {
        self.qtest_value(&format!("readl 0x{addr:x}"), 32)
            .map(|v| v as u32)
    }

    /// Reads a 64-bit value (guest byte order) at `addr`.
    pub fn readq(&self, addr: u64) -> Result<u64> {
        self.qtest_value(&format!("readq 0x{addr:x}"), 64)
    }

    /// Writes a byte at `addr`.
    pub fn writeb(&self, addr: u64, value: u8) -> Result<()> {
        self.qtest_ok(&format!("writeb 0x{addr:x} 0x{value:x}"))
    }

    /// Writes a 16-bit value (guest byte order) at `addr`.
    pub fn writew(&self, addr: u64, value: u16) -> Result<()> {
        self.qtest_ok(&format!("writew 0x{addr:x} 0x{value:x}"))
    }

    /// Writes a 32-bit value (guest byte order) at `addr`.
    pub fn writel(&self, addr: u64, value: u32) -> Result<()> {
        self.qtest_ok(&format!("writel 0x{addr:x} 0x{value:x}"))
    }

    /// Writes a 64-bit value (guest byte order) at `addr`.
    pub fn writeq(&self, addr: u64, value: u64) -> Result<()> {
        self.qtest_ok(&format!("writeq 0x{addr:x} 0x{value:x}"))
    }

    /// Reads a byte from an I/O port.
    pub fn inb(&self, port: u16) -> Result<u8> {
        self.qtest_value(&format!("inb 0x{port:x}"), 8)
            .map(|v| v as u8)
    }

    /// Reads 16 bits from an I/O port.
    pub fn inw(&self, port: u16) -> Result<u16> {
        self.qtest_value(&format!("inw 0x{port:x}"), 16)
            .map(|v| v as u16)
    }

    /// Reads 32 bits from an I/O port.
    pub fn inl(&self, port: u16) -> Result<u32> {
        self.qtest_value(&format!("inl 0x{port:x}"), 32)
            .map(|v| v as u32)
    }

    /// Writes a byte to an I/O port.
    pub fn outb(&self, port: u16, value: u8) -> Result<()> {
        self.qtest_ok(&format!("outb 0x{port:x} 0x{value:x}"))
    }

    /// Writes 16 bits to an I/O port.
    pub fn outw(&self, port: u16, value: u16) -> Result<()> {
        self.qtest_ok(&format!("outw 0x{port:x} 0x{value:x}"))
    }

    /// Writes 32 bits to an I/O port.
    pub fn outl(&self, port: u16, value: u32) -> Result<()> {
        self.qtest_ok(&format!("outl 0x{port:x} 0x{value:x}"))
    }

    /// Reads `len` bytes of guest physical memory (qtest `b64read`, in
    /// 64 KiB pieces).
    pub fn memread(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (len - out.len()).min(MEM_CHUNK);
            let at = addr.wrapping_add(out.len() as u64);
            let command = format!("b64read 0x{at:x} 0x{n:x}");
            let text = self.qtest_command(&command)?;
            let bytes = base64::decode(&text)
                .filter(|b| b.len() == n)
                .ok_or_else(|| HarnessError::Protocol {
                    context: format!("qtest `{command}`"),
                    detail: format!("expected {n} bytes of base64, QEMU answered `OK {text}`"),
                })?;
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// Writes `data` to guest physical memory (qtest `b64write`, in 64 KiB
    /// pieces).
    pub fn memwrite(&self, addr: u64, data: &[u8]) -> Result<()> {
        for (i, chunk) in data.chunks(MEM_CHUNK).enumerate() {
            let at = addr.wrapping_add((i * MEM_CHUNK) as u64);
            self.qtest_ok(&format!(
                "b64write 0x{at:x} 0x{:x} {}",
                chunk.len(),
                base64::encode(chunk)
            ))?;
        }
        Ok(())
    }

    /// Fills `len` bytes of guest physical memory with `value`.
    pub fn memset(&self, addr: u64, len: u64, value: u8) -> Result<()> {
        self.qtest_ok(&format!("memset 0x{addr:x} 0x{len:x} 0x{value:x}"))
    }

    // ----- interrupts -----

    fn check_qom_path(path: &str) -> Result<()> {
        if path.is_empty() || path.contains(char::is_whitespace) {
            return Err(HarnessError::Usage(format!("invalid QOM path {path:?}")));
        }
        Ok(())
    }

    /// Intercepts the GPIO inputs of the device at `qom_path` (a full path
    /// or an unambiguous partial one such as `ioapic`). Only one device per
    /// QEMU can be intercepted (qtest's limit).
    pub fn irq_intercept_in(&self, qom_path: &str) -> Result<()> {
        Self::check_qom_path(qom_path)?;
        self.qtest_ok(&format!("irq_intercept_in {qom_path}"))
    }

    /// Intercepts the unnamed GPIO outputs (e.g. sysbus IRQs) of the device
    /// at `qom_path`.
    pub fn irq_intercept_out(&self, qom_path: &str) -> Result<()> {
        Self::check_qom_path(qom_path)?;
        self.qtest_ok(&format!("irq_intercept_out {qom_path}"))
    }

    /// Intercepts the GPIO outputs named `name` of the device at `qom_path`.
    pub fn irq_intercept_out_named(&self, qom_path: &str, name: &str) -> Result<()> {
        Self::check_qom_path(qom_path)?;
        Self::check_qom_path(name)?;
        self.qtest_ok(&format!("irq_intercept_out {qom_path} {name}"))
    }

    /// Drives GPIO input `line` of the list `name` (`None`: the unnamed
    /// list) of the device at `qom_path` to `level` (qtest `set_irq_in`).
    pub fn set_irq_in(
        &self,
        qom_path: &str,
        name: Option<&str>,
        line: u32,
        level: i32,
    ) -> Result<()> {
        Self::check_qom_path(qom_path)?;
        let name = name.unwrap_or("unnamed-gpio-in");
        Self::check_qom_path(name)?;
        self.qtest_ok(&format!("set_irq_in {qom_path} {name} {line} {level}"))
    }

    /// The interrupt changes seen since the last call, in order (drains).
    pub fn irq_events(&self) -> Vec<IrqEvent> {
        self.shared.lock().irq_events.drain(..).collect()
    }

    /// The level of an intercepted line as last reported by QEMU (`false`
    /// for a line never reported). Changes caused by a qtest command are
    /// known when that command returns.
    pub fn irq_level(&self, line: u32) -> bool {
        self.shared
            .lock()
            .irq_levels
            .get(&line)
            .copied()
            .unwrap_or(false)
    }

    /// Waits until intercepted `line` is at `level` (returns at once if it
    /// already is).
    pub fn wait_irq(&self, line: u32, level: bool, timeout: Duration) -> Result<()> {
        let done = self.shared.wait(timeout, |st| {
            if st.irq_levels.get(&line).copied().unwrap_or(false) == level {
                Some(Ok(()))
            } else if st.qtest_closed {
                Some(Err(()))
            } else {
                None
            }
        });
        let what = if level { "raised" } else { "lowered" };
        match done {
            Some(Ok(())) => Ok(()),
            Some(Err(())) => {
                Err(self.exited_error(&format!("waiting for IRQ {line} to be {what}")))
            }
            None => Err(self.timeout_error(format!(
                "after {timeout:?} waiting for IRQ {line} to be {what}"
            ))),
        }
    }

    // ----- QMP -----

    /// Runs a QMP command and returns its `return` value; a QMP error is
    /// [`HarnessError::Qmp`] with its class and description.
    pub fn qmp(&self, command: &str, args: Option<Json>) -> Result<Json> {
        let mut writer = lock(&self.qmp);
        let id = writer.sent;
        writer.sent += 1;
        let mut message = vec![("execute".to_string(), Json::from(command))];
        if let Some(args) = args {
            message.push(("arguments".to_string(), args));
        }
        message.push(("id".to_string(), Json::UInt(id)));
        let text = Json::Object(message).to_string();
        if self.shared.verbose {
            eprintln!("[qmp] > {text}");
        }
        if let Err(e) = writer.stream.write_all(format!("{text}\n").as_bytes()) {
            return Err(self.write_error(&format!("sending QMP `{command}`"), e));
        }
        let reply = self.shared.wait(self.timeout, |st| {
            if let Some(r) = st.qmp_replies.remove(&id) {
                Some(Ok(r))
            } else if let Some(r) = st.qmp_anonymous.pop_front() {
                Some(Ok(r))
            } else if st.qmp_closed {
                Some(Err(()))
            } else {
                None
            }
        });
        drop(writer);
        let reply = match reply {
            Some(Ok(r)) => r,
            Some(Err(())) => {
                return Err(self.exited_error(&format!("waiting for the reply to QMP `{command}`")))
            }
            None => {
                return Err(self.timeout_error(format!(
                    "after {:?} waiting for the reply to QMP `{command}`",
                    self.timeout
                )))
            }
        };
        if let Some(value) = reply.get("return") {
            return Ok(value.clone());
        }
        if let Some(error) = reply.get("error") {
            return Err(HarnessError::Qmp {
                command: command.to_string(),
                class: error["class"].as_str().unwrap_or("?").to_string(),
                desc: error["desc"].as_str().unwrap_or("").to_string(),
            });
        }
        Err(HarnessError::Protocol {
            context: format!("QMP `{command}`"),
            detail: format!("reply has neither `return` nor `error`: {reply}"),
        })
    }

    /// The QMP greeting QEMU sent (`{"QMP": {"version": ...}}`).
    pub fn qmp_greeting(&self) -> Json {
        self.shared
            .lock()
            .qmp_greeting
            .clone()
            .unwrap_or(Json::Null)
    }

    /// The QMP events received since the last call, in order (drains).
    pub fn qmp_events(&self) -> Vec<QmpEvent> {
        self.shared.lock().qmp_events.drain(..).collect()
    }

    /// Waits for the first event called `name` (possibly one that arrived
    /// earlier) and removes it from the queue; other events stay queued.
    pub fn wait_qmp_event(&self, name: &str, timeout: Duration) -> Result<QmpEvent> {
        let event = self.shared.wait(timeout, |st| {
            if let Some(i) = st.qmp_events.iter().position(|e| e.name == name) {
                st.qmp_events.remove(i).map(Ok)
            } else if st.qmp_closed {
                Some(Err(()))
            } else {
                None
            }
        });
        match event {
            Some(Ok(e)) => Ok(e),
            Some(Err(())) => Err(self.exited_error(&format!("waiting for QMP event {name}"))),
            None => {
                Err(self.timeout_error(format!("after {timeout:?} waiting for QMP event {name}")))
            }
        }
    }

    /// Runs an HMP command through QMP (`human-monitor-command`), e.g.
    /// `info qtree`, and returns its output.
    pub fn hmp(&self, command_line: &str) -> Result<String> {
        let out = self.qmp(
            "human-monitor-command",
            Some(Json::object([("command-line", Json::from(command_line))])),
        )?;
        Ok(out.as_str().unwrap_or("").to_string())
    }

    /// `qom-get`: a property of the object at `path`.
    pub fn qom_get(&self, path: &str, property: &str) -> Result<Json> {
        self.qmp(
            "qom-get",
            Some(Json::object([
                ("path", Json::from(path)),
                ("property", Json::from(property)),
            ])),
        )
    }

    /// `qom-set`: sets a property of the object at `path`.
    pub fn qom_set(&self, path: &str, property: &str, value: Json) -> Result<()> {
        self.qmp(
            "qom-set",
            Some(Json::object([
                ("path", Json::from(path)),
                ("property", Json::from(property)),
                ("value", value),
            ])),
        )
        .map(drop)
    }

    /// Lets the VM run (QMP `cont`): virtual time and device timers advance.
    /// On x86 with the stub firmware the CPU just halts.
    pub fn resume(&self) -> Result<()> {
        self.qmp("cont", None).map(drop)
    }

    /// Pauses the VM (QMP `stop`).
    pub fn pause(&self) -> Result<()> {
        self.qmp("stop", None).map(drop)
    }

    // ----- output -----

    /// Everything QEMU wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().stderr).into_owned()
    }

    /// Everything QEMU wrote to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().stdout).into_owned()
    }

    /// Waits until QEMU's stderr contains `needle`; returns all of it.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> Result<String> {
        self.wait_output(OutputKind::Stderr, needle, timeout)
    }

    /// Waits until QEMU's stdout contains `needle`; returns all of it.
    pub fn wait_stdout(&self, needle: &str, timeout: Duration) -> Result<String> {
        self.wait_output(OutputKind::Stdout, needle, timeout)
    }

    fn wait_output(&self, kind: OutputKind, needle: &str, timeout: Duration) -> Result<String> {
        let found = self.shared.wait(timeout, |st| {
            let (buf, closed) = match kind {
                OutputKind::Stdout => (&st.stdout, st.stdout_closed),
                OutputKind::Stderr => (&st.stderr, st.stderr_closed),
            };
            let text = String::from_utf8_lossy(buf);
            if text.contains(needle) {
                Some(Ok(text.into_owned()))
            } else if closed {
                Some(Err(()))
            } else {
                None
            }
        });
        let stream = kind.name();
        match found {
            Some(Ok(text)) => Ok(text),
            Some(Err(())) => Err(self.exited_error(&format!(
                "waiting for {needle:?} on QEMU's {stream} (it was closed)"
            ))),
            None => {
                let mut context =
                    format!("after {timeout:?} waiting for {needle:?} on QEMU's {stream}");
                if let OutputKind::Stdout = kind {
                    context.push_str(&format!("; stdout so far: {:?}", self.stdout()));
                }
                Err(self.timeout_error(context))
            }
        }
    }

    // ----- process lifecycle -----

    /// QEMU's exit status if it has exited (reaps it), without waiting.
    pub fn try_exit_status(&self) -> Result<Option<ExitStatus>> {
        lock(&self.process).try_status()
    }

    /// Waits up to `timeout` for QEMU to exit on its own.
    pub fn wait_exit(&self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit_status()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(self.timeout_error(format!(
                    "after {timeout:?} waiting for QEMU (pid {}) to exit",
                    self.pid
                )));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Asks QEMU to quit (QMP `quit`) and waits for it to exit.
    pub fn quit(&self) -> Result<ExitStatus> {
        match self.qmp("quit", None) {
            // QEMU may close the socket before its reply is read.
            Ok(_) | Err(HarnessError::Exited { .. }) => {}
            Err(e) => return Err(e),
        }
        self.wait_exit(self.timeout)
    }

    /// Kills QEMU now (SIGKILL) and reaps it.
    pub fn kill(&self) -> Result<ExitStatus> {
        lock(&self.process).kill()
    }

    /// Polls `condition` (about every millisecond) until it returns `true`;
    /// `what` names the condition in the timeout error. Use it for device
    /// state that changes on its own, e.g. a DMA status bit.
    pub fn wait_until<F>(&self, what: &str, timeout: Duration, mut condition: F) -> Result<()>
    where
        F: FnMut() -> Result<bool>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if condition()? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.timeout_error(format!("after {timeout:?} waiting until {what}")));
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    // ----- errors -----

    fn timeout_error(&self, context: String) -> HarnessError {
        HarnessError::Timeout {
            context,
            stderr: self.stderr(),
        }
    }

    fn write_error(&self, context: &str, e: io::Error) -> HarnessError {
        match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                self.exited_error(context)
            }
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.timeout_error(format!("after {:?} {context}", self.timeout))
            }
            _ => HarnessError::io(context, e),
        }
    }

    /// QEMU dropped a connection: give it a moment to exit and finish its
    /// stderr, then report both.
    fn exited_error(&self, context: &str) -> HarnessError {
        exited_error(&self.process, &self.shared, context)
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let process = self.process.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = process.kill();
        // Readers hold duplicates of the sockets; shutting them down ends
        // their threads even if QEMU left something connected.
        for writer in [&mut self.qtest, &mut self.qmp] {
            let writer = writer.get_mut().unwrap_or_else(|e| e.into_inner());
            let _ = writer.stream.shutdown(Shutdown::Both);
        }
    }
}

fn exited_error(process: &Mutex<Process>, shared: &Shared, context: &str) -> HarnessError {
    let deadline = Instant::now() + EXIT_GRACE;
    let mut status = None;
    loop {
        if let Ok(Some(s)) = lock(process).try_status() {
            status = Some(s);
            break;
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    // The stderr reader sees EOF shortly after QEMU exits.
    let remaining = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(200));
    let _ = shared.wait(remaining, |st| st.stderr_closed.then_some(()));
    HarnessError::Exited {
        context: context.to_string(),
        status,
        stderr: String::from_utf8_lossy(&shared.lock().stderr).into_owned(),
    }
}

// ----- process and watchdog -----

struct Process {
    child: Child,
    status: Option<ExitStatus>,
    watchdog: Option<Watchdog>,
}

impl Process {
    fn reaped(&mut self, status: ExitStatus) -> ExitStatus {
        self.status = Some(status);
        // QEMU's pid may be reused from now on: the watchdog must not kill it.
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.stop();
        }
        status
    }

    fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        match self.child.try_wait() {
            Ok(Some(status)) => Ok(Some(self.reaped(status))),
            Ok(None) => Ok(None),
            Err(e) => Err(HarnessError::io("checking whether QEMU exited", e)),
        }
    }

    fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        // Fails only if it was reaped already, which `status` rules out.
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .map_err(|e| HarnessError::io("reaping QEMU", e))?;
        Ok(self.reaped(status))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.kill();
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.stop();
        }
    }
}

// ----- temporary directory -----

#[derive(Debug)]
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut base = std::env::temp_dir();
        // Unix socket paths are limited to 107 bytes, and QEMU's option
        // parser splits on commas.
        let text = base.to_string_lossy();
        if base.as_os_str().len() > 64 || text.contains(',') || !base.is_absolute() {
            base = PathBuf::from("/tmp");
        }
        let mut tries = 0;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("qdev-qtest-{}-{n}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 1000 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A 64 KiB x86 BIOS image whose reset vector (the last 16 bytes, at
/// 0xfffffff0) is `cli; hlt; jmp $-3`.
fn stub_bios() -> Vec<u8> {
    let mut image = vec![0u8; 64 * 1024];
    let reset = image.len() - 16;
    image[reset..reset + 4].copy_from_slice(&[0xfa, 0xf4, 0xeb, 0xfd]);
    image
}

// ----- sockets -----

fn listen(path: &Path) -> Result<UnixListener> {
    let listener = UnixListener::bind(path)
        .map_err(|e| HarnessError::io(format!("listening on {}", path.display()), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| HarnessError::io("making a listener non-blocking", e))?;
    Ok(listener)
}

fn clone_stream(stream: &UnixStream) -> Result<UnixStream> {
    stream
        .try_clone()
        .map_err(|e| HarnessError::io("duplicating a socket", e))
}

/// Accepts QEMU's qtest and QMP connections (QEMU is the client of both),
/// giving up when QEMU exits or the deadline passes.
fn accept_both(
    qtest: &UnixListener,
    qmp: &UnixListener,
    process: &Mutex<Process>,
    shared: &Shared,
    timeout: Duration,
    context: &str,
) -> Result<(UnixStream, UnixStream)> {
    let deadline = Instant::now() + timeout;
    let (mut qtest_stream, mut qmp_stream) = (None, None);
    loop {
        if qtest_stream.is_none() {
            qtest_stream = try_accept(qtest)?;
        }
        if qmp_stream.is_none() {
            qmp_stream = try_accept(qmp)?;
        }
        match (qtest_stream.take(), qmp_stream.take()) {
            (Some(a), Some(b)) => return Ok((a, b)),
            (a, b) => {
                qtest_stream = a;
                qmp_stream = b;
            }
        }
        if lock(process).try_status()?.is_some() {
            return Err(exited_error(process, shared, context));
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::Timeout {
                context: format!("after {timeout:?} {context}: QEMU did not connect"),
                stderr: String::from_utf8_lossy(&shared.lock().stderr).into_owned(),
            });
        }
        thread::sleep(Duration::from_millis(2));
    }
}

fn try_accept(listener: &UnixListener) -> Result<Option<UnixStream>> {
    match listener.accept() {
        Ok((stream, _)) => {
            stream
                .set_nonblocking(false)
                .map_err(|e| HarnessError::io("configuring a socket", e))?;
            Ok(Some(stream))
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(HarnessError::io("accepting QEMU's connection", e)),
    }
}

struct Writer {
    stream: UnixStream,
    /// Commands sent so far: the sequence number of the next one.
    sent: u64,
}

// ----- shared state and reader threads -----

#[derive(Default)]
struct State {
    /// Replies not yet taken, with their sequence number.
    qtest_replies: VecDeque<(u64, String)>,
    qtest_received: u64,
    qtest_closed: bool,
    irq_events: VecDeque<IrqEvent>,
    irq_levels: BTreeMap<u32, bool>,
    qmp_greeting: Option<Json>,
    qmp_replies: HashMap<u64, Json>,
    /// Replies without an id (QEMU answers unparsable input that way).
    qmp_anonymous: VecDeque<Json>,
    qmp_events: VecDeque<QmpEvent>,
    qmp_closed: bool,
    stdout: Vec<u8>,
    stdout_closed: bool,
    stderr: Vec<u8>,
    stderr_closed: bool,
}

struct Shared {
    state: Mutex<State>,
    cond: Condvar,
    verbose: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.cond.notify_all();
    }

    /// Waits until `check` returns `Some`; `None` when `timeout` passes.
    fn wait<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(v) = check(&mut state) {
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, Copy)]
enum OutputKind {
    Stdout,
    Stderr,
}

impl OutputKind {
    fn name(self) -> &'static str {
        match self {
            OutputKind::Stdout => "stdout",
            OutputKind::Stderr => "stderr",
        }
    }
}

fn spawn_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    // If the thread cannot start the stream is simply not read; the waits
    // then time out with a clear message rather than the test crashing here.
    let _ = thread::Builder::new()
        .name(format!("qtest-{name}"))
        .spawn(f);
}

fn spawn_output_reader(
    name: &str,
    mut reader: impl Read + Send + 'static,
    shared: Arc<Shared>,
    kind: OutputKind,
) {
    spawn_thread(name, move || {
        let mut buf = [0u8; 8192];
        // Verbose echo goes out a line at a time.
        let mut pending_echo = Vec::new();
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => 0,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if shared.verbose {
                pending_echo.extend_from_slice(&buf[..n]);
                while let Some(end) = pending_echo.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending_echo.drain(..=end).collect();
                    eprint!("[qemu {}] {}", kind.name(), String::from_utf8_lossy(&line));
                }
                if n == 0 && !pending_echo.is_empty() {
                    eprintln!(
                        "[qemu {}] {}",
                        kind.name(),
                        String::from_utf8_lossy(&pending_echo)
                    );
                }
            }
            shared.update(|st| {
                let (out, closed) = match kind {
                    OutputKind::Stdout => (&mut st.stdout, &mut st.stdout_closed),
                    OutputKind::Stderr => (&mut st.stderr, &mut st.stderr_closed),
                };
                out.extend_from_slice(&buf[..n]);
                if n == 0 {
                    *closed = true;
                }
            });
            if n == 0 {
                return;
            }
        }
    });
}

/// Reads lines up to EOF, handing each (without its line end) to `handle`.
fn read_lines(stream: UnixStream, mut handle: impl FnMut(String)) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                handle(text.trim_end_matches(['\n', '\r']).to_string());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn parse_irq(line: &str) -> Option<IrqEvent> {
    let mut words = line.split_whitespace();
    if words.next()? != "IRQ" {
        return None;
    }
    let level = match words.next()? {
        "raise" => true,
        "lower" => false,
        _ => return None,
    };
    let line = words.next()?.parse().ok()?;
    Some(IrqEvent { line, level })
}

fn spawn_qtest_reader(stream: UnixStream, shared: Arc<Shared>) {
    spawn_thread("qtest", move || {
        read_lines(stream, |line| {
            if shared.verbose {
                eprintln!("[qtest] < {line}");
            }
            shared.update(|st| {
                if let Some(event) = parse_irq(&line) {
                    st.irq_levels.insert(event.line, event.level);
                    st.irq_events.push_back(event);
                } else {
                    let n = st.qtest_received;
                    st.qtest_received += 1;
                    st.qtest_replies.push_back((n, line));
                }
            });
        });
        shared.update(|st| st.qtest_closed = true);
    });
}

fn spawn_qmp_reader(stream: UnixStream, shared: Arc<Shared>) {
    spawn_thread("qmp", move || {
        read_lines(stream, |line| {
            if shared.verbose {
                eprintln!("[qmp] < {line}");
            }
            if line.trim().is_empty() {
                return;
            }
            let Ok(msg) = Json::parse(&line) else {
                // Not JSON: nothing to match it with; verbose mode shows it.
                return;
            };
            shared.update(|st| {
                if msg.get("QMP").is_some() {
                    st.qmp_greeting = Some(msg);
                } else if let Some(name) = msg["event"].as_str() {
                    st.qmp_events.push_back(QmpEvent {
                        name: name.to_string(),
                        data: msg["data"].clone(),
                        raw: msg.clone(),
                    });
                } else if let Some(id) = msg["id"].as_u64() {
                    st.qmp_replies.insert(id, msg);
                } else {
                    st.qmp_anonymous.push_back(msg);
                }
            });
        });
        shared.update(|st| st.qmp_closed = true);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_irq_lines() {
        assert_eq!(
            parse_irq("IRQ raise 10"),
            Some(IrqEvent {
                line: 10,
                level: true
            })
        );
        assert_eq!(
            parse_irq("IRQ lower 0"),
            Some(IrqEvent {
                line: 0,
                level: false
            })
        );
        assert_eq!(parse_irq("OK 0x10"), None);
        assert_eq!(parse_irq("IRQ bogus 1"), None);
    }

    #[test]
    fn stub_bios_reset_vector() {
        let image = stub_bios();
        assert_eq!(image.len(), 65536);
        assert_eq!(&image[0xfff0..0xfff4], &[0xfa, 0xf4, 0xeb, 0xfd]);
    }

    #[test]
    fn temp_dirs_are_unique_and_removed() {
        let a = TempDir::new().unwrap();
        let b = TempDir::new().unwrap();
        assert_ne!(a.path, b.path);
        assert!(a.path.is_dir());
        let path = a.path.clone();
        drop(a);
        assert!(!path.exists());
    }
}
