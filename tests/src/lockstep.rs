// SPDX-License-Identifier: GPL-2.0-or-later
//! One access sequence run twice, in QEMU (a pipelined [`Session`]) and on
//! the mocked bus, compared access by access.
//!
//! For every access the runner checks that
//! - QEMU answers (it did not crash or hang);
//! - a read returns in QEMU what it returns on the mocked bus (the devices
//!   are deterministic without time: QEMU runs with `-S`, its virtual clock
//!   stopped, and the mock's clock is never advanced);
//! - QEMU's guest-error log is, line for line, the log the mocked bus
//!   writes for the same pieces (QEMU splits an unaligned access into
//!   aligned pieces; so does the runner, see [`split`]);
//! - every piece the description calls invalid is logged, and a piece it
//!   calls valid is logged only with a message the description cannot
//!   predict ([`undescribed_policy`]);
//! - the device's interrupt, seen at the I/O APIC input it reaches
//!   (`irq_intercept_in`), changes level in QEMU exactly as the device's
//!   line changes on the mocked bus, in the same order, and is at the
//!   same level after every batch and every reset.
//!
//! A failing run leaves a replay script under `target/qdev-replay/` and the
//! failure names the command line that replays it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::access::{
    commands, mask, reply_value, split, undescribed_policy, verdict, Access, Space, Verdict,
};
use crate::modules::target_dir;
use crate::script::Session;
use crate::targets::{MockBus, Target};
use crate::Result;

/// Counts of what a run did.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Accesses made (each counted once, however QEMU split it).
    pub accesses: u64,
    /// Of which the description calls invalid (at least one piece).
    pub invalid: u64,
    /// Log lines QEMU wrote (all matched).
    pub logged: u64,
    /// Accesses the description calls valid that were logged for changing
    /// bits the model does not implement (the description gives the bits,
    /// not the current value), by message kind.
    pub undescribed: BTreeMap<String, u64>,
    /// System resets.
    pub resets: u64,
    /// Interrupt level changes seen in QEMU (all matched).
    pub irq_changes: u64,
    /// GPIO input changes driven.
    pub gpio_inputs: u64,
    /// qtest commands sent.
    pub commands: u64,
}

/// A QEMU session and a mocked device driven together.
pub struct Lockstep<'a> {
    target: &'a Target,
    session: Session,
    mock: Box<dyn MockBus>,
    queue: Vec<Access>,
    /// What has been counted.
    pub stats: Stats,
    failures: Vec<String>,
    /// Compare read values with the mocked bus.
    pub compare_values: bool,
    /// The interrupt's level, as QEMU and the mocked bus last showed it.
    qemu_level: bool,
    mock_level: bool,
}

/// Accesses sent to QEMU in one batch.
const BATCH: usize = 2048;

impl<'a> Lockstep<'a> {
    /// Starts QEMU with `target` and a fresh mocked device.
    pub fn start(target: &'a Target) -> Result<Lockstep<'a>> {
        Ok(Lockstep {
            session: target.start()?,
            mock: target.mock(),
            target,
            queue: Vec::new(),
            stats: Stats::default(),
            failures: Vec::new(),
            compare_values: true,
            qemu_level: false,
            mock_level: false,
        })
    }

    /// Queues an access (sent with the next batch).
    pub fn access(&mut self, a: Access) -> Result<()> {
        self.queue.push(a);
        if self.queue.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn fail(&mut self, what: String) {
        if self.failures.len() < 20 {
            self.failures.push(what);
        }
    }

    /// Drives the device's GPIO input `line` to `level` (through qtest's
    /// `set_irq_in` and on the mocked bus), and compares what follows.
    pub fn gpio_in(&mut self, line: u32, level: bool) -> Result<()> {
        self.flush()?;
        let Some((path, _)) = self.target.gpio_inputs else {
            return Ok(());
        };
        let cmd = format!("set_irq_in {path} in {line} {}", u8::from(level));
        let reply = self.session.command(&cmd)?;
        self.stats.commands += 1;
        self.stats.gpio_inputs += 1;
        if reply != "OK" {
            self.fail(format!(
                "{}: `{cmd}` answered `{reply}`",
                self.target.package
            ));
        }
        self.mock.gpio_in(line, level);
        let (qemu, mock) = (self.session.take_log(), self.mock.take_log());
        if qemu != mock {
            self.fail(format!(
                "{}: after `{cmd}`, QEMU logged {qemu:?}, the mocked bus {mock:?}",
                self.target.package
            ));
        }
        self.compare_irq("after a GPIO input");
        Ok(())
    }

    /// Runs the queued accesses in QEMU and on the mocked bus, and compares.
    pub fn flush(&mut self) -> Result<()> {
        let queue = std::mem::take(&mut self.queue);
        if queue.is_empty() {
            return Ok(());
        }
        let mut cmds = Vec::with_capacity(queue.len() * 2);
        let mut last_cmd = Vec::with_capacity(queue.len());
        for a in &queue {
            let space = self.target.spaces[a.region as usize];
            cmds.extend(commands(space, a.offset, a.size, a.write));
            last_cmd.push(cmds.len() - 1);
        }
        self.stats.commands += cmds.len() as u64;
        let replies = self.session.batch(&cmds)?;
        let qemu_log = self.session.take_log();

        let mut mock_log: Vec<(String, usize)> = Vec::new();
        for (i, a) in queue.iter().enumerate() {
            self.stats.accesses += 1;
            let space = self.target.spaces[a.region as usize];
            let config = matches!(space, Space::Config(_));
            let max = if config { 4 } else { 8 };
            let mut value = 0u64;
            let mut invalid = false;
            for (off, size) in split(a.offset, a.size, max) {
                let piece = Access {
                    offset: off,
                    size,
                    write: a.write.map(|v| (v >> ((off - a.offset) * 8)) & mask(size)),
                    ..*a
                };
                let v = self.mock.access(a.region, config, off, size, piece.write);
                value |= (v & mask(size)) << ((off - a.offset) * 8);
                let log = self.mock.take_log();
                match verdict(&self.target.device, &piece) {
                    Verdict::Invalid(why) => {
                        invalid = true;
                        if log.is_empty() {
                            self.fail(format!(
                                "{}: {piece} is invalid ({why}) but was not logged",
                                self.target.package
                            ));
                        }
                    }
                    Verdict::Valid => {
                        for m in &log {
                            if undescribed_policy(m) {
                                let kind = "changes unimplemented bits";
                                *self.stats.undescribed.entry(kind.into()).or_default() += 1;
                            } else {
                                self.fail(format!(
                                    "{}: {piece} is valid but was logged: {m}",
                                    self.target.package
                                ));
                            }
                        }
                    }
                }
                mock_log.extend(log.into_iter().map(|m| (m, i)));
            }
            if invalid {
                self.stats.invalid += 1;
            }
            if a.write.is_none() && self.compare_values {
                let reply = &replies[last_cmd[i]];
                let got = reply_value(reply);
                let readable = !config
                    || crate::access::register_at(
                        &self.target.device.regions[a.region as usize],
                        a.offset,
                    )
                    .is_some_and(|(r, lane)| lane + a.size <= r.width);
                if readable && got != Some(value) {
                    self.fail(format!(
                        "{}: {a}: QEMU answered `{reply}`, the mocked bus 0x{value:x}",
                        self.target.package
                    ));
                }
            }
        }
        self.stats.logged += qemu_log.len() as u64;
        let expected: Vec<&str> = mock_log.iter().map(|(m, _)| m.as_str()).collect();
        if qemu_log != expected {
            let n = qemu_log
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(qemu_log.len().min(expected.len()));
            let near = mock_log
                .get(n)
                .or(mock_log.last())
                .map_or("none".to_string(), |(_, i)| queue[*i].to_string());
            self.fail(format!(
                "{}: QEMU's log differs from the mocked bus's at line {n} (near {near}): \
                 QEMU {:?}, mock {:?} ({} and {} lines in this batch)",
                self.target.package,
                qemu_log.get(n),
                expected.get(n),
                qemu_log.len(),
                expected.len()
            ));
        }
        self.compare_irq("after a batch");
        if !self.session.alive() {
            self.fail(format!("{}: QEMU exited", self.target.package));
        }
        Ok(())
    }

    /// Compares the interrupt's level changes since the last call (at a
    /// reset only the level: the reset lowers it by different routes).
    fn compare_irq(&mut self, when: &str) {
        let Some((gsi, line)) = self.target.irq else {
            return;
        };
        let qemu: Vec<bool> = self
            .session
            .take_interrupts()
            .into_iter()
            .filter(|i| i.line == gsi)
            .map(|i| i.level)
            .collect();
        let mut mock = Vec::new();
        for level in self.mock.take_drives(line) {
            if level != self.mock_level {
                mock.push(level);
                self.mock_level = level;
            }
        }
        if let Some(&l) = qemu.last() {
            self.qemu_level = l;
        }
        self.stats.irq_changes += qemu.len() as u64;
        let same_changes = qemu == mock || when == "at a reset";
        if !same_changes || self.qemu_level != self.mock_level {
            self.fail(format!(
                "{}: {when}: the interrupt at GSI {gsi} changed {qemu:?} in QEMU, \
                 {mock:?} on the mocked bus (now {} and {})",
                self.target.package, self.qemu_level, self.mock_level
            ));
        }
    }

    /// A system reset, in QEMU and on the mocked bus.
    pub fn reset(&mut self) -> Result<()> {
        self.flush()?;
        self.target.reset(&mut self.session)?;
        self.mock.reset();
        self.mock.take_log();
        self.compare_irq("at a reset");
        self.stats.resets += 1;
        Ok(())
    }

    /// The device's functional check (on a freshly reset machine); both
    /// sides are reset again afterwards.
    pub fn functional_check(&mut self) -> Result<()> {
        self.flush()?;
        if let Err(e) = self.target.check(&mut self.session) {
            self.fail(format!("{}: functional check: {e}", self.target.package));
        }
        // The check's interrupts are its own business.
        if let Some((gsi, _)) = self.target.irq {
            for i in self.session.take_interrupts() {
                if i.line == gsi {
                    self.qemu_level = i.level;
                }
            }
        }
        self.reset()
    }

    /// The QEMU session.
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Flushes, and fails if anything was found, after saving the
    /// sequence as `target/qdev-replay/NAME.qtest` and naming the command
    /// that replays it.
    pub fn finish(mut self, name: &str) -> Stats {
        if let Err(e) = self.flush() {
            self.fail(format!("{}: {e}", self.target.package));
        }
        if !self.failures.is_empty() {
            let path = replay_path(name);
            let replay = self
                .session
                .save_replay(&path)
                .unwrap_or_else(|e| format!("(could not save the replay: {e})"));
            panic!(
                "{} problem(s):\n{}\nreplay the {} qtest commands with:\n{replay}",
                self.failures.len(),
                self.failures.join("\n"),
                self.session.commands_sent()
            );
        }
        self.stats
    }
}

/// Where a failing sequence's script goes.
pub fn replay_path(name: &str) -> PathBuf {
    target_dir()
        .join("qdev-replay")
        .join(format!("{name}.qtest"))
}
