// SPDX-License-Identifier: GPL-2.0-or-later
//! A real Linux guest: boots Debian's kernel with a busybox initramfs under
//! TCG in the stock QEMU, with qdev modules preloaded, runs a shell script
//! inside the guest, and hands back what it printed and its exit status.
//!
//! ```no_run
//! use std::time::Duration;
//! use qdev_tests::guest::Guest;
//! use qdev_tests::modules::rust_module;
//!
//! let run = Guest::builder()
//!     .module(rust_module("qdev-edu").unwrap())
//!     .device("qdev-edu")
//!     .kernel_modules(["uio_pci_generic"])
//!     .script("cat /sys/bus/pci/devices/*/vendor")
//!     .timeout(Duration::from_secs(60))
//!     .run()
//!     .expect("the guest ran the script");
//! assert_eq!(run.exit_code, 0, "{}", run.output);
//! assert!(run.output.contains("0x1234"));
//! ```
//!
//! # What the guest is
//!
//! `scripts/guest-assets.sh` (run on first use in each test process; a
//! no-op once its cache is filled) fetches Debian bookworm's
//! `linux-image-amd64` kernel and `busybox-static` with `apt-get download`
//! into `$QDEV_CACHE/guest` and builds the static guest programs of
//! `tests/guest/*.c` ([`Assets::program`]). It also takes the uncompressed
//! `vmlinux` out of Debian's `vmlinuz`: QEMU boots that ELF image through
//! its PVH entry point, which skips decompressing the kernel under TCG and
//! halves the boot (about 3 s instead of 6 s from start to power-off on a
//! 2-core machine).
//!
//! For each run the harness writes an uncompressed `newc` initramfs (the
//! kernel takes one without compression, which saves gzip on the host and
//! inflating it under TCG) holding busybox, the requested kernel modules
//! with everything they depend on (read from each module's `.modinfo`), the
//! test's files and script, and an `/init` that mounts `proc`, `sysfs`,
//! `devtmpfs` and a `tmpfs` on `/tmp`, `insmod`s the modules in dependency
//! order, runs the script with `/bin/sh`, and powers the machine off.
//!
//! # Two serial ports
//!
//! The kernel's console is the first ISA serial port (`ttyS0`), captured
//! from QEMU's stdout ([`GuestRun::console`]). The script's stdout and
//! stderr go to the second one (`ttyS1`, put in raw mode, so bytes arrive
//! unchanged), which QEMU writes to a file; after the script the init
//! writes a marker with the exit status there. `CONFIG_SERIAL_8250=y` in
//! Debian's kernel: both ports work without modules, on `pc` and `q35`.
//!
//! QEMU runs with `-display none -nodefaults -no-reboot` and these two
//! ports (`-nographic` would add a monitor on stdio); the kernel command
//! line is `console=ttyS0 panic=-1 oops=panic` plus
//! [`GuestBuilder::append`], so a panic ends QEMU at once.
//! [`GuestBuilder::console`] moves the console (and `/dev/console`, where
//! the init's messages go) to another device, e.g. a UART under test whose
//! chardev the test reads; ttyS0 then stays silent.
//!
//! # Time limits and debugging
//!
//! Every wait is bounded ([`GuestBuilder::timeout`], 60 s by default); on
//! a timeout or a guest that stops without reporting, the error carries the
//! end of the console, the script's output so far and QEMU's stderr. QEMU
//! is killed when the run ends in any way, and a watchdog process kills it
//! if the test process dies during the run.
//!
//! With `QDEV_QTEST_VERBOSE=1` the QEMU command line, the console and
//! QEMU's stderr are echoed live on the test's stderr (`--nocapture`);
//! with `QDEV_GUEST_KEEP=1` each run's directory (initramfs, result file)
//! is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use qdev_tool::launch::{plain_command_line, qemu_command, LaunchOptions};
use qdev_tool::qemu::{default_binary, QemuBinary};

use crate::modules::workspace_root;
use crate::watchdog::Watchdog;
use crate::{HarnessError, VERBOSE_ENV};

/// How long a guest run may take unless the builder says otherwise.
pub const DEFAULT_GUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long fetching and building the guest assets may take.
const ASSETS_TIMEOUT: Duration = Duration::from_secs(600);

/// Set to a non-empty value to keep each run's directory (initramfs, result
/// file) instead of removing it; its path is printed on stderr.
pub const KEEP_ENV: &str = "QDEV_GUEST_KEEP";

/// The kernel command line before the builder's additions, after
/// `console=<device>` ([`GuestBuilder::console`], `ttyS0` by default).
/// `panic=-1` with QEMU's `-no-reboot` turns a panic (and with
/// `oops=panic`, an oops) into a prompt exit instead of a hang.
const BASE_APPEND: &str = "panic=-1 oops=panic";

/// The kernel console's device unless [`GuestBuilder::console`] says
/// otherwise: the first ISA serial port, on QEMU's stdout.
const DEFAULT_CONSOLE: &str = "ttyS0";

/// The line the init writes after the script's output:
/// `\n<<qdev-guest-exit N>>\n`.
const EXIT_MARKER: &str = "\n<<qdev-guest-exit ";
/// The line the init writes when it cannot run the script.
const SETUP_MARKER: &str = "\n<<qdev-guest-setup-failed>>";

/// At most this many lines (and bytes) of the console are shown in an error.
const CONSOLE_LINES: usize = 60;
const CONSOLE_SHOWN: usize = 6000;
/// At most this much of the script's output is shown in an error.
const OUTPUT_SHOWN: usize = 4000;
/// At most this much of QEMU's stderr is shown in an error.
const STDERR_SHOWN: usize = 4000;

// ----- assets -----

/// The guest kernel, its modules, busybox and the static guest programs,
/// as `scripts/guest-assets.sh` left them in the cache.
#[derive(Debug, Clone)]
pub struct Assets {
    /// The manifest the script wrote (`KEY=VALUE` lines).
    pub manifest: PathBuf,
    /// The kernel QEMU boots: the uncompressed `vmlinux` ELF image taken
    /// out of Debian's `vmlinuz` (QEMU boots it through its PVH entry point,
    /// which saves decompressing the kernel under TCG: about half the boot).
    pub kernel: PathBuf,
    /// Debian's `vmlinuz` (bzImage) itself, when the manifest names it.
    pub bzimage: Option<PathBuf>,
    /// The kernel release, e.g. `6.1.0-56-amd64`.
    pub kernel_version: String,
    /// The Debian package the kernel came from, with its version.
    pub kernel_package: String,
    /// `/lib/modules/<release>` (the kept part of it).
    pub modules: PathBuf,
    /// The static busybox binary.
    pub busybox: PathBuf,
    programs: BTreeMap<String, PathBuf>,
}

impl Assets {
    /// The static guest program built from `tests/guest/NAME.c`.
    pub fn program(&self, name: &str) -> Result<PathBuf, HarnessError> {
        self.programs.get(name).cloned().ok_or_else(|| {
            HarnessError::Usage(format!(
                "no guest program {name:?}: scripts/guest-assets.sh builds tests/guest/*.c, \
                 and built {:?}",
                self.programs.keys().collect::<Vec<_>>()
            ))
        })
    }

    fn parse(manifest: &Path, text: &str) -> Result<Assets, HarnessError> {
        let mut keys = HashMap::new();
        let mut programs = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                match k.strip_prefix("program.") {
                    Some(name) => {
                        programs.insert(name.to_string(), PathBuf::from(v));
                    }
                    None => {
                        keys.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        let get = |k: &str| {
            keys.get(k).cloned().ok_or_else(|| {
                HarnessError::Usage(format!(
                    "{} has no {k}=: run scripts/guest-assets.sh --refresh",
                    manifest.display()
                ))
            })
        };
        let assets = Assets {
            manifest: manifest.to_path_buf(),
            kernel: get("KERNEL")?.into(),
            bzimage: keys.get("BZIMAGE").map(PathBuf::from),
            kernel_version: get("KERNEL_VERSION")?,
            kernel_package: format!(
                "{} {}",
                get("KERNEL_PACKAGE")?,
                get("KERNEL_PACKAGE_VERSION")?
            ),
            modules: get("MODULES")?.into(),
            busybox: get("BUSYBOX")?.into(),
            programs,
        };
        for path in [&assets.kernel, &assets.busybox, &assets.modules] {
            if !path.exists() {
                return Err(HarnessError::Usage(format!(
                    "{} names {}, which does not exist: run scripts/guest-assets.sh --refresh",
                    manifest.display(),
                    path.display()
                )));
            }
        }
        Ok(assets)
    }
}

static ASSETS: Mutex<Option<Assets>> = Mutex::new(None);

/// The guest assets, fetched and built by `scripts/guest-assets.sh` on the
/// first call in this process (later calls return the same).
pub fn assets() -> Result<Assets, HarnessError> {
    let mut cached = ASSETS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = cached.as_ref() {
        return Ok(a.clone());
    }
    let script = workspace_root().join("scripts/guest-assets.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script);
    let out = run_bounded(&mut cmd, ASSETS_TIMEOUT)
        .map_err(|e| HarnessError::Usage(format!("cannot run {}: {e}", script.display())))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(status) = out.status else {
        return Err(HarnessError::Usage(format!(
            "{} did not finish within {ASSETS_TIMEOUT:?}:\n{stderr}",
            script.display()
        )));
    };
    if !status.success() {
        return Err(HarnessError::Usage(format!(
            "{} failed ({status}):\n{stderr}",
            script.display()
        )));
    }
    // Progress goes to the test's stderr (shown with --nocapture).
    if !stderr.trim().is_empty() {
        eprint!("{stderr}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let manifest = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
    let text = fs::read_to_string(&manifest).map_err(|e| {
        HarnessError::Usage(format!(
            "{} printed {:?}, which cannot be read: {e}",
            script.display(),
            manifest.display()
        ))
    })?;
    let assets = Assets::parse(&manifest, &text)?;
    *cached = Some(assets.clone());
    Ok(assets)
}

struct BoundedOutput {
    status: Option<ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `cmd` to completion or until `limit` passes (then kills it).
fn run_bounded(cmd: &mut Command, limit: Duration) -> io::Result<BoundedOutput> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = collect(child.stdout.take(), None, "");
    let err = collect(child.stderr.take(), None, "");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    Ok(BoundedOutput {
        status,
        stdout: out.finish(Duration::from_secs(2)),
        stderr: err.finish(Duration::from_secs(2)),
    })
}

// ----- files put into the guest -----

/// A file for the guest's initramfs: the contents of a host file (keeping
/// its permission bits) or bytes (mode 0644, or 0755 when they start with
/// `#!` or are an ELF image).
#[derive(Debug, Clone)]
pub struct GuestFile {
    source: Source,
    mode: Option<u32>,
}

#[derive(Debug, Clone)]
enum Source {
    Host(PathBuf),
    Bytes(Vec<u8>),
}

impl GuestFile {
    /// A copy of the host file at `path`.
    pub fn host(path: impl Into<PathBuf>) -> GuestFile {
        GuestFile {
            source: Source::Host(path.into()),
            mode: None,
        }
    }

    /// A file holding `data`.
    pub fn bytes(data: impl Into<Vec<u8>>) -> GuestFile {
        GuestFile {
            source: Source::Bytes(data.into()),
            mode: None,
        }
    }

    /// A file holding `text`.
    pub fn text(text: impl Into<String>) -> GuestFile {
        GuestFile::bytes(text.into().into_bytes())
    }

    /// Sets the permission bits (e.g. `0o755`).
    pub fn mode(mut self, mode: u32) -> GuestFile {
        self.mode = Some(mode & 0o7777);
        self
    }

    fn load(&self) -> io::Result<(Vec<u8>, u32)> {
        match &self.source {
            Source::Host(path) => {
                let data = fs::read(path).map_err(|e| {
                    io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))
                })?;
                let mode = match self.mode {
                    Some(m) => m,
                    None => fs::metadata(path)?.permissions().mode() & 0o7777,
                };
                Ok((data, mode))
            }
            Source::Bytes(data) => {
                let exec = data.starts_with(b"#!") || data.starts_with(b"\x7fELF");
                let mode = self.mode.unwrap_or(if exec { 0o755 } else { 0o644 });
                Ok((data.clone(), mode))
            }
        }
    }
}

impl From<PathBuf> for GuestFile {
    fn from(path: PathBuf) -> Self {
        GuestFile::host(path)
    }
}

impl From<&Path> for GuestFile {
    fn from(path: &Path) -> Self {
        GuestFile::host(path)
    }
}

impl From<&PathBuf> for GuestFile {
    fn from(path: &PathBuf) -> Self {
        GuestFile::host(path.clone())
    }
}

impl From<Vec<u8>> for GuestFile {
    fn from(data: Vec<u8>) -> Self {
        GuestFile::bytes(data)
    }
}

impl From<&[u8]> for GuestFile {
    fn from(data: &[u8]) -> Self {
        GuestFile::bytes(data)
    }
}

impl<const N: usize> From<&[u8; N]> for GuestFile {
    fn from(data: &[u8; N]) -> Self {
        GuestFile::bytes(&data[..])
    }
}

// ----- the builder -----

/// Builds and runs a guest. See [`Guest::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GuestBuilder {
    binary: Option<PathBuf>,
    modules: Vec<PathBuf>,
    no_check: bool,
    machine: String,
    accel: String,
    memory_mb: u32,
    args: Vec<String>,
    env: Vec<(OsString, OsString)>,
    log: Option<String>,
    append: Vec<String>,
    script: String,
    files: Vec<(String, GuestFile)>,
    kernel_modules: Vec<String>,
    timeout: Duration,
    watchdog: bool,
    console: String,
}

impl Default for GuestBuilder {
    fn default() -> Self {
        GuestBuilder {
            binary: None,
            modules: Vec::new(),
            no_check: false,
            machine: "q35".into(),
            accel: "tcg".into(),
            memory_mb: 256,
            args: Vec::new(),
            env: Vec::new(),
            log: None,
            append: Vec::new(),
            script: String::new(),
            files: Vec::new(),
            kernel_modules: Vec::new(),
            timeout: DEFAULT_GUEST_TIMEOUT,
            watchdog: true,
            console: DEFAULT_CONSOLE.into(),
        }
    }
}

/// Entry point: `Guest::builder()`.
#[derive(Debug)]
pub struct Guest;

impl Guest {
    /// A builder with the defaults: `$QDEV_QEMU` or `qemu-system-x86_64`,
    /// `-machine q35 -accel tcg -m 256`, no modules, an empty script, 60 s.
    pub fn builder() -> GuestBuilder {
        GuestBuilder::default()
    }
}

impl GuestBuilder {
    /// The QEMU binary (a path, or a name looked up in `PATH`). Default:
    /// `$QDEV_QEMU`, else `qemu-system-x86_64`. The guest is x86_64.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Preloads a device module into QEMU (repeatable), checked against the
    /// binary first as `cargo qdev run` does.
    pub fn module(mut self, path: impl Into<PathBuf>) -> Self {
        self.modules.push(path.into());
        self
    }

    /// Loads modules without checking their build information.
    pub fn no_check(mut self) -> Self {
        self.no_check = true;
        self
    }

    /// `-machine NAME` (default `q35`; `pc` works too).
    pub fn machine(mut self, machine: impl Into<String>) -> Self {
        self.machine = machine.into();
        self
    }

    /// `-accel NAME` (default `tcg`, what every machine of the project has).
    pub fn accel(mut self, accel: impl Into<String>) -> Self {
        self.accel = accel.into();
        self
    }

    /// `-m SIZE` in MiB (default 256).
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    /// `-device SPEC` (repeatable).
    pub fn device(self, spec: impl Into<String>) -> Self {
        self.arg("-device").arg(spec)
    }

    /// Adds one QEMU command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds QEMU command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for QEMU (and so for the modules).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `-d ITEMS` (e.g. `guest_errors`): QEMU's log goes to its stderr,
    /// which [`GuestRun::stderr`] holds.
    pub fn log(mut self, items: impl Into<String>) -> Self {
        self.log = Some(items.into());
        self
    }

    /// Adds to the kernel command line (after
    /// `console=ttyS0 panic=-1 oops=panic`).
    pub fn append(mut self, params: impl Into<String>) -> Self {
        self.append.push(params.into());
        self
    }

    /// The kernel console's device, `console=DEVICE` on the kernel command
    /// line (default `ttyS0`, captured as [`GuestRun::console`]). Another
    /// device (e.g. `ttyS4`, a UART under test that the test reads through
    /// its own chardev) gets the kernel's log and, as `/dev/console`, the
    /// init's messages; ttyS0 then stays silent and
    /// [`GuestRun::console`] is empty. The script's result channel
    /// (ttyS1) is unchanged.
    pub fn console(mut self, device: impl Into<String>) -> Self {
        self.console = device.into();
        self
    }

    /// The shell script the guest runs (busybox `sh`, in `/root`, with
    /// `/bin:/sbin:/usr/bin:/usr/sbin` on `PATH`). Its stdout and stderr
    /// become [`GuestRun::output`], its exit status
    /// [`GuestRun::exit_code`].
    pub fn script(mut self, script: impl Into<String>) -> Self {
        self.script = script.into();
        self
    }

    /// Puts a file into the guest at the absolute path `guest_path`
    /// (parent directories are created).
    pub fn file(mut self, guest_path: impl Into<String>, file: impl Into<GuestFile>) -> Self {
        self.files.push((guest_path.into(), file.into()));
        self
    }

    /// Puts files into the guest: `(guest path, host path or bytes)` pairs.
    pub fn files<I, P, F>(mut self, files: I) -> Self
    where
        I: IntoIterator<Item = (P, F)>,
        P: Into<String>,
        F: Into<GuestFile>,
    {
        self.files
            .extend(files.into_iter().map(|(p, f)| (p.into(), f.into())));
        self
    }

    /// Kernel modules to load before the script runs, by name (`uio_pci_generic`
    /// or `uio-pci-generic`); what they depend on is loaded first. Names of
    /// built-in drivers are accepted and skipped. Only the directories
    /// `scripts/guest-assets.sh` keeps are available.
    pub fn kernel_modules<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kernel_modules
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The time limit for the whole run: boot, modules, script, power-off.
    /// Default 60 s. (Fetching the assets on first use is bounded apart.)
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether to start a watchdog process (`/bin/sh`) that kills QEMU if
    /// the test process dies during the run. Default: on.
    pub fn watchdog(mut self, on: bool) -> Self {
        self.watchdog = on;
        self
    }

    /// Boots the guest, runs the script and returns what it printed. A
    /// script that fails is not an error (see [`GuestRun::exit_code`]); a
    /// guest that does not report within the time limit, or stops without
    /// reporting, is.
    pub fn run(self) -> Result<GuestRun, GuestError> {
        let started = Instant::now();
        let setup = |e: HarnessError| GuestError::new(GuestErrorKind::Setup(e));
        let assets = assets().map_err(setup)?;
        let binary_path = self.binary.clone().unwrap_or_else(default_binary);
        let binary =
            QemuBinary::inspect(&binary_path).map_err(|e| setup(HarnessError::Binary(e)))?;
        if !matches!(binary.target.as_str(), "x86_64") {
            return Err(setup(HarnessError::Usage(format!(
                "the guest is x86_64; {} is a {} QEMU",
                binary.path.display(),
                binary.target
            ))));
        }
        let mut cmd = qemu_command(
            &binary,
            &self.modules,
            &LaunchOptions {
                no_check: self.no_check,
            },
        )
        .map_err(|e| setup(HarnessError::Launch(e)))?;

        let dir =
            RunDir::new().map_err(|e| setup(HarnessError::io("creating a run directory", e)))?;
        let initrd = dir.path.join("initrd.cpio");
        let result_path = dir.path.join("result");
        self.write_initramfs(&assets, &initrd).map_err(setup)?;

        let mut append = format!("console={} {BASE_APPEND}", self.console);
        for a in &self.append {
            append.push(' ');
            append.push_str(a);
        }
        let mut args: Vec<String> = vec![
            "-machine".into(),
            self.machine.clone(),
            "-accel".into(),
            self.accel.clone(),
            "-m".into(),
            self.memory_mb.to_string(),
            "-display".into(),
            "none".into(),
            "-nodefaults".into(),
            "-no-reboot".into(),
            "-kernel".into(),
            assets.kernel.display().to_string(),
            "-initrd".into(),
            initrd.display().to_string(),
            "-append".into(),
            append,
            // ttyS0: the console, on QEMU's stdout.
            "-chardev".into(),
            "stdio,id=qdev-console,signal=off".into(),
            "-serial".into(),
            "chardev:qdev-console".into(),
            // ttyS1: the script's output and exit status.
            "-chardev".into(),
            format!("file,id=qdev-result,path={}", result_path.display()),
            "-serial".into(),
            "chardev:qdev-result".into(),
        ];
        if let Some(log) = &self.log {
            args.push("-d".into());
            args.push(log.clone());
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
            eprintln!("[guest] starting {command_line}");
        }
        let boot = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| setup(HarnessError::io(format!("starting `{command_line}`"), e)))?;
        let watchdog = if self.watchdog {
            Watchdog::spawn(child.id(), &dir.path)
        } else {
            None
        };
        let console = collect(
            child.stdout.take(),
            verbose.then_some("[guest console] "),
            "console",
        );
        let stderr = collect(
            child.stderr.take(),
            verbose.then_some("[qemu stderr] "),
            "stderr",
        );
        let mut process = Process {
            child,
            watchdog,
            status: None,
        };

        let deadline = boot + self.timeout;
        let timed_out = loop {
            match process.child.try_wait() {
                Ok(Some(_)) | Err(_) => break false,
                Ok(None) => {}
            }
            if Instant::now() >= deadline {
                break true;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let status = process.kill();
        let boot_time = boot.elapsed();
        let console =
            String::from_utf8_lossy(&console.finish(Duration::from_secs(2))).replace("\r\n", "\n");
        let stderr = String::from_utf8_lossy(&stderr.finish(Duration::from_secs(2))).into_owned();
        let result = fs::read(&result_path).unwrap_or_default();
        if dir.keep {
            eprintln!("[guest] kept {}", dir.path.display());
        }

        let fail = |kind: GuestErrorKind, output: &[u8]| {
            GuestError(Box::new(ErrorInner {
                kind,
                console: console.clone(),
                output: String::from_utf8_lossy(output).into_owned(),
                stderr: stderr.clone(),
                command_line: command_line.clone(),
            }))
        };
        if timed_out {
            return Err(fail(GuestErrorKind::Timeout(self.timeout), &result));
        }
        match parse_result(&result) {
            Report::Exit { output, code } => Ok(GuestRun {
                exit_code: code,
                output: String::from_utf8_lossy(output).into_owned(),
                raw_output: output.to_vec(),
                console,
                stderr,
                command_line,
                boot_time,
                elapsed: started.elapsed(),
            }),
            Report::SetupFailed { output } => Err(fail(GuestErrorKind::InitFailed, output)),
            Report::None => Err(fail(GuestErrorKind::NoResult(status), &result)),
        }
    }

    /// The modules to load, dependencies first, as paths relative to the
    /// modules directory.
    fn resolve_kernel_modules(&self, modules: &Path) -> Result<Vec<String>, HarnessError> {
        if self.kernel_modules.is_empty() {
            return Ok(Vec::new());
        }
        let index = ModuleIndex::read(modules)?;
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        for name in &self.kernel_modules {
            index.visit(&normalize(name), &mut seen, &mut order, &mut Vec::new())?;
        }
        Ok(order)
    }

    fn write_initramfs(&self, assets: &Assets, path: &Path) -> Result<(), HarnessError> {
        let io_err = |what: &str| {
            let what = what.to_string();
            move |e: io::Error| HarnessError::io(format!("writing the initramfs: {what}"), e)
        };
        let load_order = self.resolve_kernel_modules(&assets.modules)?;
        let file = fs::File::create(path).map_err(io_err("creating it"))?;
        let mut cpio = Cpio::new(BufWriter::new(file));
        for d in [
            "bin",
            "sbin",
            "usr",
            "usr/bin",
            "usr/sbin",
            "proc",
            "sys",
            "dev",
            "tmp",
            "root",
            "run",
            "etc",
            "lib",
            "lib/modules",
            "qdev",
        ] {
            cpio.dir(d).map_err(io_err(d))?;
        }
        cpio.char_device("dev/console", 0o600, 5, 1)
            .map_err(io_err("dev/console"))?;
        let busybox = fs::read(&assets.busybox).map_err(io_err("reading busybox"))?;
        cpio.file("bin/busybox", 0o755, &busybox)
            .map_err(io_err("bin/busybox"))?;
        cpio.file("init", 0o755, INIT.as_bytes())
            .map_err(io_err("init"))?;
        cpio.file("qdev/test.sh", 0o755, self.script.as_bytes())
            .map_err(io_err("qdev/test.sh"))?;

        let kver = &assets.kernel_version;
        let mut list = String::new();
        for rel in &load_order {
            let guest = format!("lib/modules/{kver}/{rel}");
            cpio.parents(&guest).map_err(io_err(&guest))?;
            let data = fs::read(assets.modules.join(rel)).map_err(io_err(rel))?;
            cpio.file(&guest, 0o644, &data).map_err(io_err(&guest))?;
            list.push('/');
            list.push_str(&guest);
            list.push('\n');
        }
        cpio.file("qdev/modules", 0o644, list.as_bytes())
            .map_err(io_err("qdev/modules"))?;

        for (guest_path, file) in &self.files {
            let rel = guest_path.trim_start_matches('/');
            if !guest_path.starts_with('/')
                || rel.is_empty()
                || rel
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(HarnessError::Usage(format!(
                    "guest file path {guest_path:?} must be absolute and normalized"
                )));
            }
            let (data, mode) = file
                .load()
                .map_err(|e| HarnessError::io(format!("guest file {guest_path}"), e))?;
            cpio.parents(rel).map_err(io_err(rel))?;
            cpio.file(rel, mode, &data).map_err(io_err(rel))?;
        }
        cpio.finish().map_err(io_err("finishing"))?;
        Ok(())
    }
}

/// The guest's `/init` (busybox `sh`).
const INIT: &str = r#"#!/bin/busybox sh
# qdev guest init: mount, load modules, run /qdev/test.sh with its output on
# ttyS1, report its exit status there, power off.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
exec </dev/null >/dev/console 2>&1
# The result channel, held open until the end so nothing is lost between
# writes, raw so bytes pass unchanged.
exec 3>/dev/ttyS1
stty raw -echo <&3
fail() {
    echo "qdev-guest: $*"
    printf '%s\n<<qdev-guest-setup-failed>>\n' "$*" >&3
    exec 3>&-
    poweroff -f
}
while read -r m; do
    echo "qdev-guest: insmod $m"
    insmod "$m" || fail "insmod $m failed"
done < /qdev/modules
echo "qdev-guest: running the test script"
cd /root
/bin/sh /qdev/test.sh >&3 2>&3 3>&-
status=$?
printf '\n<<qdev-guest-exit %d>>\n' "$status" >&3
exec 3>&-
echo "qdev-guest: the test script exited with status $status"
poweroff -f
"#;

enum Report<'a> {
    Exit { output: &'a [u8], code: i32 },
    SetupFailed { output: &'a [u8] },
    None,
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .rev()
        .find(|&i| &haystack[i..i + needle.len()] == needle)
}

fn parse_result(result: &[u8]) -> Report<'_> {
    if let Some(at) = find_last(result, EXIT_MARKER.as_bytes()) {
        let rest = &result[at + EXIT_MARKER.len()..];
        let text = String::from_utf8_lossy(rest);
        if let Some(code) = text
            .split_once(">>")
            .and_then(|(n, _)| n.trim().parse::<i32>().ok())
        {
            return Report::Exit {
                output: &result[..at],
                code,
            };
        }
    }
    if let Some(at) = find_last(result, SETUP_MARKER.as_bytes()) {
        return Report::SetupFailed {
            output: &result[..at],
        };
    }
    Report::None
}

// ----- the result -----

/// What a guest run produced.
#[derive(Debug, Clone)]
pub struct GuestRun {
    /// The script's exit status.
    pub exit_code: i32,
    /// The script's stdout and stderr (interleaved as written), as text.
    pub output: String,
    /// The same, as bytes.
    pub raw_output: Vec<u8>,
    /// Everything on the guest's console (`ttyS0`): the kernel's log and
    /// the init's messages. Empty when [`GuestBuilder::console`] moved the
    /// console to another device.
    pub console: String,
    /// QEMU's stderr (its `-d` log, warnings).
    pub stderr: String,
    /// The equivalent shell command line (its initramfs is removed after the
    /// run unless `QDEV_GUEST_KEEP` is set).
    pub command_line: String,
    /// From starting QEMU until it exited.
    pub boot_time: Duration,
    /// The whole run, including fetching assets and writing the initramfs.
    pub elapsed: Duration,
}

impl GuestRun {
    /// The value of the last `key=value` line of the output.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.output
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    }

    /// Panics, showing the output and the end of the console, unless the
    /// script exited with status 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        if self.exit_code != 0 {
            panic!(
                "the guest script exited with status {}\n--- output ---\n{}\n{}",
                self.exit_code,
                tail(&self.output, OUTPUT_SHOWN),
                console_section(&self.console)
            );
        }
        self
    }
}

// ----- errors -----

/// Why a guest run produced no [`GuestRun`].
#[derive(Debug)]
#[non_exhaustive]
pub enum GuestErrorKind {
    /// Before the guest ran: assets, module checks, the initramfs, starting
    /// QEMU.
    Setup(HarnessError),
    /// The guest did not report within the time limit; QEMU was killed.
    Timeout(Duration),
    /// QEMU exited (with this status, when known) without the guest
    /// reporting an exit status: a kernel panic, QEMU refusing an option, a
    /// crash in a device model.
    NoResult(Option<ExitStatus>),
    /// The guest's init could not prepare the script (a module did not
    /// load); [`GuestError::output`] says what.
    InitFailed,
}

/// A failed guest run, with what the guest and QEMU said. Its `Display`
/// shows the end of each.
#[derive(Debug)]
pub struct GuestError(Box<ErrorInner>);

#[derive(Debug)]
struct ErrorInner {
    kind: GuestErrorKind,
    console: String,
    output: String,
    stderr: String,
    command_line: String,
}

impl GuestError {
    fn new(kind: GuestErrorKind) -> GuestError {
        GuestError(Box::new(ErrorInner {
            kind,
            console: String::new(),
            output: String::new(),
            stderr: String::new(),
            command_line: String::new(),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &GuestErrorKind {
        &self.0.kind
    }

    /// The guest's console (`ttyS0`) up to the failure.
    pub fn console(&self) -> &str {
        &self.0.console
    }

    /// The script's output (`ttyS1`) up to the failure.
    pub fn output(&self) -> &str {
        &self.0.output
    }

    /// QEMU's stderr.
    pub fn stderr(&self) -> &str {
        &self.0.stderr
    }

    /// The QEMU command line, when QEMU was started.
    pub fn command_line(&self) -> &str {
        &self.0.command_line
    }

    /// Whether the run ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.0.kind, GuestErrorKind::Timeout(_))
    }
}

fn tail(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = text.len() - max;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    format!("[... {cut} bytes left out ...]\n{}", &text[cut..])
}

fn last_lines(text: &str, n: usize) -> &str {
    let text = text.trim_end();
    match text
        .char_indices()
        .filter(|&(_, c)| c == '\n')
        .nth_back(n.saturating_sub(1))
    {
        Some((at, _)) => &text[at + 1..],
        None => text,
    }
}

fn console_section(console: &str) -> String {
    if console.trim().is_empty() {
        "(the guest console is empty)".to_string()
    } else {
        format!(
            "--- guest console (ttyS0) ---\n{}\n--- end of guest console ---",
            tail(last_lines(console, CONSOLE_LINES), CONSOLE_SHOWN)
        )
    }
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.kind {
            GuestErrorKind::Setup(e) => return write!(f, "guest setup failed: {e}"),
            GuestErrorKind::Timeout(t) => write!(
                f,
                "the guest did not report an exit status within {t:?}; QEMU was killed"
            )?,
            GuestErrorKind::NoResult(Some(status)) => write!(
                f,
                "QEMU exited ({status}) before the guest reported an exit status"
            )?,
            GuestErrorKind::NoResult(None) => {
                write!(f, "QEMU stopped before the guest reported an exit status")?
            }
            GuestErrorKind::InitFailed => write!(f, "the guest's init failed")?,
        }
        if !self.0.command_line.is_empty() {
            write!(f, "\ncommand: {}", self.0.command_line)?;
        }
        if !self.0.output.trim().is_empty() {
            write!(
                f,
                "\n--- script output (ttyS1) ---\n{}\n--- end of script output ---",
                tail(&self.0.output, OUTPUT_SHOWN)
            )?;
        }
        if !self.0.stderr.trim().is_empty() {
            write!(
                f,
                "\n--- QEMU stderr ---\n{}\n--- end of QEMU stderr ---",
                tail(&self.0.stderr, STDERR_SHOWN)
            )?;
        }
        write!(f, "\n{}", console_section(&self.0.console))
    }
}

impl std::error::Error for GuestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            GuestErrorKind::Setup(e) => Some(e),
            _ => None,
        }
    }
}

impl From<HarnessError> for GuestError {
    fn from(e: HarnessError) -> Self {
        GuestError::new(GuestErrorKind::Setup(e))
    }
}

// ----- kernel modules -----

fn normalize(name: &str) -> String {
    name.trim_end_matches(".ko").replace('-', "_")
}

struct ModuleIndex {
    /// Module name -> path relative to the modules directory.
    modules: HashMap<String, String>,
    builtin: BTreeSet<String>,
    root: PathBuf,
}

impl ModuleIndex {
    fn read(root: &Path) -> Result<ModuleIndex, HarnessError> {
        let mut modules = HashMap::new();
        let mut stack = vec![PathBuf::from("kernel")];
        while let Some(rel) = stack.pop() {
            let entries = fs::read_dir(root.join(&rel)).map_err(|e| {
                HarnessError::io(format!("listing {}", root.join(&rel).display()), e)
            })?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = rel.join(&name);
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(path);
                } else if let Some(stem) = name.strip_suffix(".ko") {
                    modules.insert(normalize(stem), path.to_string_lossy().into_owned());
                }
            }
        }
        let builtin = fs::read_to_string(root.join("modules.builtin"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.rsplit('/').next())
            .map(normalize)
            .collect();
        Ok(ModuleIndex {
            modules,
            builtin,
            root: root.to_path_buf(),
        })
    }

    /// Depth-first: dependencies before the module.
    fn visit(
        &self,
        name: &str,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
        path: &mut Vec<String>,
    ) -> Result<(), HarnessError> {
        if seen.contains(name) {
            return Ok(());
        }
        let Some(rel) = self.modules.get(name) else {
            if self.builtin.contains(name) {
                seen.insert(name.to_string());
                return Ok(());
            }
            let needed_by = path
                .last()
                .map(|p| format!(" (needed by {p})"))
                .unwrap_or_default();
            return Err(HarnessError::Usage(format!(
                "kernel module {name:?}{needed_by} is neither in {} nor built in; \
                 scripts/guest-assets.sh keeps only some module directories (MODULE_DIRS)",
                self.root.display()
            )));
        };
        if path.iter().any(|p| p == name) {
            return Err(HarnessError::Usage(format!(
                "kernel modules depend on each other in a cycle: {} -> {name}",
                path.join(" -> ")
            )));
        }
        let data = fs::read(self.root.join(rel))
            .map_err(|e| HarnessError::io(format!("reading {rel}"), e))?;
        path.push(name.to_string());
        for dep in module_depends(&data) {
            self.visit(&dep, seen, order, path)?;
        }
        path.pop();
        seen.insert(name.to_string());
        order.push(rel.clone());
        Ok(())
    }
}

/// The `depends=` entry of a module's `.modinfo` section.
fn module_depends(ko: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    let Some(at) = ko.windows(key.len()).position(|w| w == key) else {
        return Vec::new();
    };
    let rest = &ko[at + key.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(normalize)
        .collect()
}

// ----- cpio (newc) -----

struct Cpio<W: Write> {
    out: W,
    ino: u32,
    written: u64,
    dirs: BTreeSet<String>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

impl<W: Write> Cpio<W> {
    fn new(out: W) -> Self {
        Cpio {
            out,
            ino: 1,
            written: 0,
            dirs: BTreeSet::new(),
        }
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.written % 4) as usize) % 4;
        self.out.write_all(&[0u8; 3][..n])?;
        self.written += n as u64;
        Ok(())
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file over 4 GiB"))?;
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.ino += 1;
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.written += (header.len() + name.len() + 1) as u64;
        self.pad()?;
        self.out.write_all(data)?;
        self.written += data.len() as u64;
        self.pad()
    }

    fn dir(&mut self, name: &str) -> io::Result<()> {
        if self.dirs.insert(name.to_string()) {
            self.entry(name, S_IFDIR | 0o755, 2, (0, 0), &[])?;
        }
        Ok(())
    }

    /// Creates the directories above `path`.
    fn parents(&mut self, path: &str) -> io::Result<()> {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            let p = prefix.clone();
            self.dir(&p)?;
        }
        Ok(())
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.entry(name, S_IFREG | (mode & 0o7777), 1, (0, 0), data)
    }

    fn char_device(&mut self, name: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        self.entry(name, S_IFCHR | (mode & 0o7777), 1, (major, minor), &[])
    }

    fn finish(mut self) -> io::Result<()> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[])?;
        self.out.flush()
    }
}

// ----- process, output collection, watchdog, run directory -----

struct Collector {
    data: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// What was read; waits up to `grace` for end-of-file first.
    fn finish(mut self, grace: Duration) -> Vec<u8> {
        let deadline = Instant::now() + grace;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        data.clone()
    }
}

/// Reads `reader` to its end on a thread; with `echo`, copies each line to
/// stderr behind that prefix.
fn collect(
    reader: Option<impl Read + Send + 'static>,
    echo: Option<&str>,
    name: &str,
) -> Collector {
    let data = Arc::new(Mutex::new(Vec::new()));
    let Some(mut reader) = reader else {
        return Collector { data, thread: None };
    };
    let sink = Arc::clone(&data);
    let echo = echo.map(str::to_string);
    let thread = thread::Builder::new()
        .name(format!("guest-{name}"))
        .spawn(move || {
            let mut buf = [0u8; 8192];
            let mut line = Vec::new();
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]);
                if let Some(prefix) = &echo {
                    line.extend_from_slice(&buf[..n]);
                    while let Some(end) = line.iter().position(|&b| b == b'\n') {
                        let l: Vec<u8> = line.drain(..=end).collect();
                        let l = String::from_utf8_lossy(&l);
                        eprintln!("{prefix}{}", l.trim_end_matches(['\n', '\r']));
                    }
                }
            }
            if let Some(prefix) = &echo {
                if !line.is_empty() {
                    eprintln!("{prefix}{}", String::from_utf8_lossy(&line));
                }
            }
        })
        .ok();
    Collector { data, thread }
}

struct Process {
    child: Child,
    watchdog: Option<Watchdog>,
    status: Option<ExitStatus>,
}

impl Process {
    /// Kills QEMU unless it has exited, reaps it, stops the watchdog.
    fn kill(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.status = Some(s);
            } else {
                let _ = self.child.kill();
                self.status = self.child.wait().ok();
            }
        }
        // QEMU's pid may be reused from now on: the watchdog must not act.
        if let Some(w) = self.watchdog.take() {
            w.stop();
        }
        self.status
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private directory under /tmp for one run, removed on drop unless
/// `QDEV_GUEST_KEEP` is set.
struct RunDir {
    path: PathBuf,
    keep: bool,
}

impl RunDir {
    fn new() -> io::Result<RunDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut base = std::env::temp_dir();
        // QEMU's option parser splits on commas (the result chardev's path).
        if base.to_string_lossy().contains(',') || !base.is_absolute() {
            base = PathBuf::from("/tmp");
        }
        let keep = std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty());
        let mut tries = 0;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("qdev-guest-{}-{n}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(RunDir { path, keep }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 1000 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_result_channel() {
        match parse_result(b"a=1\nb\n\n<<qdev-guest-exit 3>>\n") {
            Report::Exit { output, code } => {
                assert_eq!(output, b"a=1\nb\n");
                assert_eq!(code, 3);
            }
            _ => panic!("no exit"),
        }
        match parse_result(b"\n<<qdev-guest-exit 0>>\n") {
            Report::Exit { output, code } => {
                assert_eq!(output, b"");
                assert_eq!(code, 0);
            }
            _ => panic!("no exit"),
        }
        assert!(matches!(
            parse_result(b"insmod x failed\n<<qdev-guest-setup-failed>>\n"),
            Report::SetupFailed {
                output: b"insmod x failed"
            }
        ));
        assert!(matches!(parse_result(b"half a line"), Report::None));
        assert!(matches!(parse_result(b""), Report::None));
    }

    #[test]
    fn reads_module_dependencies() {
        let ko = b"\x7fELF....\0license=GPL\0depends=uio,foo-bar\0name=x\0";
        assert_eq!(module_depends(ko), vec!["uio", "foo_bar"]);
        assert!(module_depends(b"\0depends=\0").is_empty());
        assert!(module_depends(b"nothing").is_empty());
    }

    #[test]
    fn writes_newc_archives() {
        let mut buf = Vec::new();
        let mut c = Cpio::new(&mut buf);
        c.parents("a/b/c").unwrap();
        c.file("a/b/c", 0o644, b"hello").unwrap();
        c.finish().unwrap();
        assert_eq!(buf.len() % 4, 0);
        assert!(buf.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&buf);
        assert!(text.contains("a\0"));
        assert!(text.contains("a/b\0"));
        assert!(text.contains("a/b/c\0"));
        assert!(text.contains("hello"));
        assert!(text.contains("TRAILER!!!"));
        // The file's header: mode 0100644, size 5.
        let at = text.find("a/b/c\0").unwrap() - 110;
        assert_eq!(&text[at + 14..at + 22], "000081a4");
        assert_eq!(&text[at + 54..at + 62], "00000005");
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a\nb", 5), "a\nb");
        assert_eq!(last_lines("", 5), "");
    }

    #[test]
    fn value_takes_the_last_key() {
        let run = GuestRun {
            exit_code: 0,
            output: "id=1\nx=2\nid=3 \n".into(),
            raw_output: Vec::new(),
            console: String::new(),
            stderr: String::new(),
            command_line: String::new(),
            boot_time: Duration::ZERO,
            elapsed: Duration::ZERO,
        };
        assert_eq!(run.value("id"), Some("3"));
        assert_eq!(run.value("x"), Some("2"));
        assert_eq!(run.value("i"), None);
    }
}
