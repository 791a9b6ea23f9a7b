// SPDX-License-Identifier: GPL-2.0-or-later
//! Pipelined qtest sessions over QEMU's stdio, recorded as replayable
//! scripts.
//!
//! [`Qemu`](crate::Qemu) waits for the reply to each command (one round trip,
//! tens of microseconds, per access). A [`Session`] sends a whole batch and
//! then reads the batch of replies, which is what lets a sweep or a random
//! sequence run hundreds of thousands of accesses in seconds. QEMU is run
//! with `-qtest stdio`, so the commands a session sent are also a file a
//! shell can feed to the same command line: [`Session::save_replay`] writes
//! that file and returns the command that replays it, and [`replay`] runs it.
//!
//! Guest errors go to a log file (`-D`): QEMU flushes it after every
//! message, before it answers the command that caused it, so once a batch's
//! replies are in, [`Session::take_log`] holds every message the batch caused.
//!
//! A system reset is the one command whose effect is not done when QEMU
//! answers: writing the PC reset control register (port `0xcf9`) only
//! requests it, and QEMU's main loop performs it once the qtest input it
//! already read is processed. A session waits for the reply before it sends
//! anything else; a replay file pads the line with spaces up to the end of
//! the 1024-byte block qtest reads at a time, so the reset happens in the
//! same place in the replay.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use qdev_tool::launch::{plain_command_line, qemu_command, LaunchOptions};
use qdev_tool::qemu::{default_binary, QemuBinary};

use crate::watchdog::Watchdog;
use crate::{HarnessError, Result};

/// The command that asks for a hard system reset on `pc` and `q35` (PIIX3
/// and ICH9 reset control register).
pub const RESET_COMMAND: &str = "outb 0xcf9 0x6";

/// How many bytes qtest reads from its input at a time (`qtest_can_read`).
const QTEST_READ_BLOCK: usize = 1024;

/// The guest-error classes a session logs: the device's own messages
/// (`guest_errors`, `unimp`) and the memory core's refusals (`invalid_mem`).
pub const LOG_ITEMS: &str = "guest_errors,unimp,invalid_mem";

/// Something QEMU printed on the qtest channel besides replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupt {
    /// Replies received before it: the command that caused it is this one
    /// (0-based, counting every command of the session).
    pub after: u64,
    /// The intercepted line.
    pub line: u32,
    /// Its new level.
    pub level: bool,
}

enum Line {
    Reply(String),
    Irq(u32, bool),
}

/// A running QEMU driven through `-qtest stdio`.
pub struct Session {
    child: Child,
    /// Kills QEMU if the test process dies without dropping the session
    /// (QEMU does not exit when its qtest input ends).
    watchdog: Option<Watchdog>,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr: Receiver<Vec<u8>>,
    stderr_text: Vec<u8>,
    binary: QemuBinary,
    modules: Vec<PathBuf>,
    args: Vec<String>,
    log_path: PathBuf,
    /// The log, opened once QEMU created it, read from where the last
    /// call stopped; and a partial last line.
    log: Option<fs::File>,
    log_tail: Vec<u8>,
    dir: PathBuf,
    /// Commands sent, with whether each is a reset barrier.
    transcript: Vec<(String, bool)>,
    replies: u64,
    interrupts: Vec<Interrupt>,
    timeout: Duration,
}

fn io_err(what: impl Into<String>, e: std::io::Error) -> HarnessError {
    HarnessError::io(what.into(), e)
}

fn private_dir() -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "qdev-script-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).map_err(|e| io_err(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// The command that ends a replay: QEMU does not exit when its qtest input
/// ends, so every session has an `isa-debug-exit` device, and a script's
/// last line writes to it (QEMU exits with status 1).
pub const EXIT_COMMAND: &str = "outb 0xf4 0x0";

/// The arguments every session and replay adds to the caller's.
fn base_args(args: &[String]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(
        [
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x4",
            "-qtest",
            "stdio",
            "-qtest-log",
            "none",
            "-S",
            "-display",
            "none",
            "-nodefaults",
            "-d",
            LOG_ITEMS,
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    all
}

impl Session {
    /// Starts `$QDEV_QEMU` (or `qemu-system-x86_64`) with `modules`
    /// preloaded and `args` (machine, devices), paused, under qtest.
    pub fn start(modules: &[PathBuf], args: &[String]) -> Result<Session> {
        let binary = QemuBinary::inspect(&default_binary()).map_err(HarnessError::Binary)?;
        let dir = private_dir()?;
        let log_path = dir.join("guest-errors.log");
        let mut all_args = base_args(args);
        all_args.extend(["-D".to_string(), log_path.display().to_string()]);
        let mut cmd = qemu_command(&binary, modules, &LaunchOptions::default())?;
        let mut child = cmd
            .args(&all_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io_err(format!("starting {}", binary.path.display()), e))?;
        let watchdog = Watchdog::spawn(child.id(), &dir);
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (line_tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let mut w = line.split_whitespace();
                let msg = match (w.next(), w.next(), w.next()) {
                    (Some("IRQ"), Some(dir), Some(n)) => {
                        Line::Irq(n.parse().unwrap_or(u32::MAX), dir == "raise")
                    }
                    _ => Line::Reply(line),
                };
                if line_tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let (err_tx, stderr_rx) = channel();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 || err_tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        let mut s = Session {
            child,
            watchdog,
            stdin: None,
            lines,
            stderr: stderr_rx,
            stderr_text: Vec::new(),
            binary,
            modules: modules.to_vec(),
            args: args.to_vec(),
            log_path,
            log: None,
            log_tail: Vec::new(),
            dir,
            transcript: Vec::new(),
            replies: 0,
            interrupts: Vec::new(),
            timeout: Duration::from_secs(20),
        };
        s.stdin = s.child.stdin.take();
        // The first reply means every -device was created.
        s.batch(&["endianness".to_string()])?;
        Ok(s)
    }

    /// Sends `commands` at once, then reads their replies, in order. A
    /// reply other than `OK...` is returned as it is (the caller decides).
    pub fn batch(&mut self, commands: &[String]) -> Result<Vec<String>> {
        let mut text = String::with_capacity(commands.len() * 24);
        for c in commands {
            assert!(
                !c.contains('\n') && !c.trim().is_empty(),
                "qtest command {c:?}"
            );
            text.push_str(c);
            text.push('\n');
            self.transcript.push((c.clone(), false));
        }
        let stdin = self.stdin.as_mut().expect("stdin open");
        if let Err(e) = stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush()) {
            return Err(self.died(&format!("sending {} commands: {e}", commands.len())));
        }
        let mut out = Vec::with_capacity(commands.len());
        let deadline = Instant::now() + self.timeout;
        while out.len() < commands.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Reply(r)) => {
                    self.replies += 1;
                    out.push(r);
                }
                Ok(Line::Irq(line, level)) => self.interrupts.push(Interrupt {
                    after: self.replies,
                    line,
                    level,
                }),
                Err(RecvTimeoutError::Timeout) => {
                    let cmd = &commands[out.len()];
                    return Err(HarnessError::Timeout {
                        context: format!(
                            "after {:?} waiting for the reply to qtest `{cmd}`",
                            self.timeout
                        ),
                        stderr: self.stderr_text(),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let cmd = &commands[out.len()];
                    return Err(self.died(&format!("waiting for the reply to qtest `{cmd}`")));
                }
            }
        }
        Ok(out)
    }

    /// One command, its reply.
    pub fn command(&mut self, command: &str) -> Result<String> {
        Ok(self.batch(&[command.to_string()])?.remove(0))
    }

    /// A hard system reset, done when this returns (see the module docs).
    pub fn system_reset(&mut self) -> Result<()> {
        let reply = self.command(RESET_COMMAND)?;
        if let Some(last) = self.transcript.last_mut() {
            last.1 = true;
        }
        if reply != "OK" {
            return Err(HarnessError::Qtest {
                command: RESET_COMMAND.into(),
                reply,
            });
        }
        Ok(())
    }

    /// Guest-error log lines written since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        if self.log.is_none() {
            self.log = fs::File::open(&self.log_path).ok();
        }
        if let Some(f) = self.log.as_mut() {
            let _ = f.read_to_end(&mut self.log_tail);
        }
        // Only whole lines: the rest comes with the next call.
        let end = self
            .log_tail
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let whole: Vec<u8> = self.log_tail.drain(..end).collect();
        String::from_utf8_lossy(&whole)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Intercepted interrupt line changes since the last call.
    pub fn take_interrupts(&mut self) -> Vec<Interrupt> {
        std::mem::take(&mut self.interrupts)
    }

    /// Commands sent so far.
    pub fn commands_sent(&self) -> usize {
        self.transcript.len()
    }

    /// Whether QEMU is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// QEMU's stderr so far.
    pub fn stderr_text(&mut self) -> String {
        while let Ok(chunk) = self.stderr.try_recv() {
            self.stderr_text.extend(chunk);
        }
        String::from_utf8_lossy(&self.stderr_text).into_owned()
    }

    fn died(&mut self, context: &str) -> HarnessError {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        thread::sleep(Duration::from_millis(50));
        HarnessError::Usage(format!(
            "QEMU stopped ({status:?}) {context}; stderr:\n{}",
            self.stderr_text()
        ))
    }

    /// Writes the commands sent so far to `path` as a replay script and
    /// returns the shell command that replays it.
    pub fn save_replay(&self, path: &Path) -> Result<String> {
        write_script(path, &self.transcript)?;
        Ok(self.replay_command_line(path))
    }

    /// The shell command that feeds `script` to this session's QEMU
    /// command line (its log going to stderr).
    pub fn replay_command_line(&self, script: &Path) -> String {
        let args = base_args(&self.args);
        format!(
            "{} < {}",
            plain_command_line(&self.binary, &self.modules, &args),
            script.display()
        )
    }

    /// The machine and device arguments the session was started with.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The modules it preloads.
    pub fn modules(&self) -> &[PathBuf] {
        &self.modules
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(w) = self.watchdog.take() {
            w.stop();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Writes `commands` (each with whether it is a reset barrier) as a qtest
/// script: one command a line, each barrier padded with spaces so that its
/// line ends a 1024-byte block (qtest ignores the extra empty words), and
/// [`EXIT_COMMAND`] last.
pub fn write_script(path: &Path, commands: &[(String, bool)]) -> Result<()> {
    let mut text = String::new();
    for (c, barrier) in commands {
        text.push_str(c);
        if *barrier {
            let end = text.len() + 1;
            let pad = (QTEST_READ_BLOCK - end % QTEST_READ_BLOCK) % QTEST_READ_BLOCK;
            text.extend(std::iter::repeat(' ').take(pad));
        }
        text.push('\n');
    }
    text.push_str(EXIT_COMMAND);
    text.push('\n');
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_err(format!("creating {}", dir.display()), e))?;
    }
    fs::write(path, text).map_err(|e| io_err(format!("writing {}", path.display()), e))
}

/// What a replayed script printed.
#[derive(Debug, Clone)]
pub struct Replay {
    /// One reply per command, in order (intercepted IRQ lines removed),
    /// the last one [`EXIT_COMMAND`]'s (QEMU answers it, then exits).
    pub replies: Vec<String>,
    /// QEMU's stderr: the guest-error log.
    pub log: Vec<String>,
    /// QEMU's exit status: 1 when it reached the script's last line
    /// ([`EXIT_COMMAND`]); `None` when it had to be killed.
    pub exit_code: Option<i32>,
}

/// Replays `script` exactly as the command line [`Session::save_replay`]
/// prints does (stdin redirected from the file), with a time limit.
pub fn replay(modules: &[PathBuf], args: &[String], script: &Path) -> Result<Replay> {
    let binary = QemuBinary::inspect(&default_binary()).map_err(HarnessError::Binary)?;
    let file =
        fs::File::open(script).map_err(|e| io_err(format!("opening {}", script.display()), e))?;
    let mut child = qemu_command(&binary, modules, &LaunchOptions::default())?
        .args(base_args(args))
        .stdin(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io_err("starting QEMU for a replay", e))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // The script's last line makes QEMU exit; kill it if it does not.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Replay {
        replies: stdout
            .lines()
            .filter(|l| !l.starts_with("IRQ "))
            .map(str::to_string)
            .collect(),
        log: stderr.lines().map(str::to_string).collect(),
        exit_code: status.and_then(|s| s.code()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_line_ends_a_qtest_read_block() {
        let dir = private_dir().unwrap();
        let path = dir.join("s.qtest");
        let script = vec![
            ("readb 0x0".to_string(), false),
            (RESET_COMMAND.to_string(), true),
            ("readb 0x1".to_string(), false),
            (RESET_COMMAND.to_string(), true),
        ];
        write_script(&path, &script).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        assert_eq!(ends[1], QTEST_READ_BLOCK);
        assert_eq!(ends[3], 2 * QTEST_READ_BLOCK);
        assert!(text.ends_with(&format!("{EXIT_COMMAND}\n")));
        assert!(text.lines().all(|l| !l.trim().is_empty()), "no empty line");
        fs::remove_dir_all(dir).unwrap();
    }
}
