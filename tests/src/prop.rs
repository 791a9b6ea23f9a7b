// SPDX-License-Identifier: GPL-2.0-or-later
//! Property-based tests of devices on the mocked bus: random operation
//! sequences from a small deterministic generator, each operation followed
//! by the device's invariants; a failing sequence is shrunk (cut after the
//! failure, chunks removed, operations simplified) and printed with its
//! seed, so that `QDEV_PROP_SEED=<seed>` runs exactly that case again.
//!
//! The operations are what a guest and the host can do to a device:
//! register reads and writes (mostly at the registers the device
//! describes, sometimes anywhere in the region; values biased towards 0,
//! all ones, single bits and addresses that matter for DMA), system
//! resets, virtual time passing (timers fire), chardev input, GPIO input
//! changes. Each case starts from a device built with random valid
//! property values (within each property's range). Besides the device's own
//! invariants, every access is checked against the description: an access
//! it calls invalid is logged (refused sizes and unimplemented registers
//! included: the description carries both), one it calls valid is logged
//! only for a write changing unimplemented bits (which depends on the
//! register's current value).

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use qdev_runtime::mock::{MockBuilder, MockDevice};
use qdev_runtime::{Device, PropertyKind};
use qdev_tool::describe::{Description, Device as Described};

use crate::access::{mask, undescribed_policy, verdict, Access, Verdict};

/// A small deterministic generator (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One thing done to the device.
#[derive(Clone, PartialEq, Eq)]
pub enum Op {
    /// A guest access.
    Access(Access),
    /// A system reset.
    Reset,
    /// Virtual time passes.
    Advance(u64),
    /// Bytes arrive on chardev 0.
    Input(Vec<u8>),
    /// GPIO input `line` of group 0 changes.
    Gpio(u32, bool),
    /// The device's state is saved, the device reset and the state loaded
    /// back, as a migration's destination or `loadvm` does (guest memory
    /// and the virtual clock stay, as they migrate with the machine).
    Migrate,
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Access(a) => write!(f, "{a}"),
            Op::Reset => write!(f, "reset"),
            Op::Advance(ns) => write!(f, "advance {ns} ns"),
            Op::Input(b) => write!(f, "input {b:02x?}"),
            Op::Gpio(l, v) => write!(f, "gpio in {l} = {v}"),
            Op::Migrate => write!(f, "save, reset, load (migrate)"),
        }
    }
}

/// What a device offers besides its registers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    /// It has a chardev.
    pub chardev: bool,
    /// Its GPIO inputs (group 0); 0 for none.
    pub gpio_inputs: u32,
    /// RAM for DMA: (base, size).
    pub ram: Option<(u64, usize)>,
}

/// A device invariant, checked after every operation.
pub type Invariant<T> = fn(&mut MockDevice<T>) -> Result<(), String>;

/// The description of `T`, parsed as `cargo qdev` parses a module's.
pub fn described<T: Device>() -> Described {
    let text = qdev_runtime::describe::describe(&[T::DESCRIPTOR]);
    Description::parse(&text)
        .devices
        .into_iter()
        .next()
        .expect("one device")
}

/// A property-based test of `T`.
pub struct Prop<T: Device> {
    /// Shown in failures.
    pub name: &'static str,
    /// What else the device has.
    pub extras: Extras,
    /// Checked after every operation.
    pub invariant: Invariant<T>,
    /// Sequences run.
    pub cases: u64,
    /// Operations per sequence.
    pub ops: usize,
    /// The first seed (case `i` uses `seed + i`).
    pub seed: u64,
}

/// A case's configuration: property values.
#[derive(Debug, Clone)]
struct Config(Vec<(&'static str, qdev_runtime::mock::PropValue)>);

const INTERESTING: [u64; 12] = [
    0,
    1,
    u64::MAX,
    0x8000_0000_0000_0000,
    0x4_0000,
    0x4_0800,
    0x10_0000,
    0x10_ff00,
    0xffff_ffff,
    0x1000,
    u64::MAX - 7,
    0x80,
];

impl<T: Device> Prop<T> {
    fn config(&self, rng: &mut Rng) -> Config {
        let mut c = Vec::new();
        for p in T::DESCRIPTOR.properties {
            if rng.percent(50) {
                continue; // the default
            }
            let (lo, hi) = p.range.unwrap_or(match p.kind {
                PropertyKind::Bool => (0, 1),
                PropertyKind::U8 => (0, 0xff),
                PropertyKind::U16 => (0, 0xffff),
                PropertyKind::U32 => (0, 0xffff_ffff),
                PropertyKind::U64 => (0, i128::from(u64::MAX)),
                PropertyKind::I32 => (i128::from(i32::MIN), i128::from(i32::MAX)),
                PropertyKind::I64 => (i128::from(i64::MIN), i128::from(i64::MAX)),
                PropertyKind::Str => (0, 0),
            });
            let span = (hi - lo) as u128 + 1;
            let pick = lo + (u128::from(rng.next_u64()) % span.max(1)) as i128;
            let v = match p.kind {
                PropertyKind::Bool => qdev_runtime::mock::PropValue::Bool(pick != 0),
                PropertyKind::Str => {
                    let n = 1 + rng.below(20) as usize;
                    qdev_runtime::mock::PropValue::Str(
                        (0..n)
                            .map(|_| (b'a' + rng.below(26) as u8) as char)
                            .collect(),
                    )
                }
                _ => qdev_runtime::mock::PropValue::Int(pick),
            };
            c.push((p.name, v));
        }
        Config(c)
    }

    fn build(&self, config: &Config) -> MockDevice<T> {
        let mut b: MockBuilder<T> = MockDevice::<T>::builder();
        for (name, v) in &config.0 {
            b = b.prop(name, v.clone());
        }
        let d = b
            .build()
            .unwrap_or_else(|e| panic!("{}: valid properties {config:?} refused: {e}", self.name));
        if let Some((base, size)) = self.extras.ram {
            d.memory().add_ram(base, size);
        }
        d
    }

    fn gen(&self, rng: &mut Rng, desc: &Described) -> Op {
        let r = rng.below(1000);
        if r < 5 {
            return Op::Reset;
        }
        if r < 15 {
            return Op::Migrate;
        }
        if r < 40 {
            let ns = [
                1,
                1_000,
                1_000_000,
                100_000_000,
                1_000_000_000,
                30_000_000_000,
            ];
            return Op::Advance(ns[rng.below(ns.len() as u64) as usize]);
        }
        if self.extras.chardev && r < 90 {
            let n = rng.below(24) as usize;
            return Op::Input((0..n).map(|_| rng.next_u64() as u8).collect());
        }
        if self.extras.gpio_inputs > 0 && r < 140 {
            let line = rng.below(u64::from(self.extras.gpio_inputs) + 2) as u32;
            return Op::Gpio(line, rng.percent(50));
        }
        let region = rng.below(desc.regions.len() as u64) as u32;
        let reg = &desc.regions[region as usize];
        let config = reg.kind == "config";
        let size = if config || reg.kind.starts_with("io") {
            [1, 2, 4][rng.below(3) as usize]
        } else {
            [1, 2, 4, 8][rng.below(4) as usize]
        };
        let offset = if !reg.registers.is_empty() && rng.percent(85) {
            let x = &reg.registers[rng.below(reg.registers.len() as u64) as usize];
            let idx = rng.below(u64::from(x.count.max(1)));
            let lane = if rng.percent(80) {
                0
            } else {
                rng.below(u64::from(x.width))
            };
            x.offset + idx * x.stride + lane
        } else {
            rng.below(reg.size.min(0x400))
        };
        let offset = if config {
            offset.max(0x40).min(reg.size - 1) & !(u64::from(size) - 1)
        } else {
            offset.min(reg.size.saturating_sub(u64::from(size)))
        };
        let write = rng.percent(55).then(|| match rng.below(6) {
            0 => INTERESTING[rng.below(INTERESTING.len() as u64) as usize],
            1 => 1 << rng.below(64),
            2 => rng.below(64),
            _ => rng.next_u64(),
        });
        Op::Access(Access {
            region,
            offset,
            size,
            write: write.map(|v| v & mask(size)),
        })
    }

    /// Runs `ops` on a fresh device, and on a twin that is never
    /// migrated; the index and message of the first failure. Every read
    /// must answer the same on both, and at every `Migrate` and at the end
    /// their saved state must be equal: a migration loses nothing.
    fn run(&self, config: &Config, desc: &Described, ops: &[Op]) -> Result<(), (usize, String)> {
        let mut d = self.build(config);
        let mut twin = self.build(config);
        d.take_log();
        fn apply<T: Device>(d: &mut MockDevice<T>, desc: &Described, op: &Op) -> Option<u64> {
            match op {
                Op::Access(a) => {
                    let config_space = desc.regions[a.region as usize].kind == "config";
                    return match (config_space, a.write) {
                        (true, Some(v)) => {
                            d.config_write(a.offset, a.size, v);
                            None
                        }
                        (true, None) => Some(d.config_read(a.offset, a.size)),
                        (false, Some(v)) => {
                            d.write(a.region, a.offset, a.size, v);
                            None
                        }
                        (false, None) => Some(d.read(a.region, a.offset, a.size)),
                    };
                }
                Op::Reset => d.reset(),
                Op::Advance(ns) => d.advance_ns(*ns),
                Op::Input(bytes) => d.chardev_input(0, bytes),
                Op::Gpio(line, level) => d.set_gpio_in(0, *line, *level),
                Op::Migrate => {}
            }
            None
        }
        let n = ops.len();
        for (i, op) in ops.iter().chain(std::iter::once(&Op::Migrate)).enumerate() {
            let r = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
                let got = apply(&mut d, desc, op);
                // (Taken before the twin runs: the mocked bus's log is the
                // thread's.)
                let log = d.take_log();
                let want = apply(&mut twin, desc, op);
                twin.take_log();
                twin.take_line_events();
                if got != want {
                    return Err(format!(
                        "after a migration a read answers {got:#x?}, the device never migrated {want:#x?}"
                    ));
                }
                if let Op::Migrate = op {
                    let saved = d.save_state();
                    let never = twin.save_state();
                    if saved != never {
                        return Err(format!(
                            "saved state differs from the never-migrated device's: state was lost by an earlier migration\n  \
                             migrated: {saved:02x?}\n  never:    {never:02x?}"
                        ));
                    }
                    d.reset();
                    d.load_state(&saved)
                        .map_err(|e| format!("its own saved state does not load: {e}"))?;
                    if d.save_state() != saved {
                        return Err("loading its saved state does not give it back".into());
                    }
                    d.take_line_events();
                }
                if let Op::Access(a) = op {
                    match verdict(desc, a) {
                        Verdict::Invalid(why) if log.is_empty() => {
                            return Err(format!("invalid ({why}) but not logged"));
                        }
                        Verdict::Valid => {
                            if let Some(m) = log.iter().find(|m| !undescribed_policy(&m.message)) {
                                return Err(format!("valid but logged: {}", m.message));
                            }
                        }
                        Verdict::Invalid(_) => {}
                    }
                }
                d.take_log();
                let r = (self.invariant)(&mut d);
                d.take_log();
                // The invariant reads registers (reading IIR, say, clears
                // an interrupt): the twin sees the same reads.
                let _ = (self.invariant)(&mut twin);
                twin.take_log();
                twin.take_line_events();
                r
            }));
            let i = i.min(n.saturating_sub(1));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(m)) => return Err((i, m)),
                Err(p) => {
                    let m = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".into());
                    return Err((i, format!("panicked: {m}")));
                }
            }
        }
        Ok(())
    }

    fn simpler(op: &Op) -> Vec<Op> {
        match op {
            Op::Access(a) => {
                let mut v = Vec::new();
                if let Some(x) = a.write {
                    for y in [0, x & x.wrapping_neg(), x >> 1] {
                        if y != x {
                            v.push(Op::Access(Access {
                                write: Some(y),
                                ..*a
                            }));
                        }
                    }
                }
                v
            }
            Op::Input(b) if !b.is_empty() => vec![
                Op::Input(b[..b.len() / 2].to_vec()),
                Op::Input(b[1..].to_vec()),
            ],
            Op::Advance(ns) if *ns > 1 => vec![Op::Advance(ns / 10)],
            _ => Vec::new(),
        }
    }

    /// A smaller sequence that still fails.
    fn shrink(
        &self,
        config: &Config,
        desc: &Described,
        mut ops: Vec<Op>,
        at: usize,
    ) -> (Vec<Op>, String) {
        ops.truncate(at + 1);
        let mut msg = self
            .run(config, desc, &ops)
            .err()
            .map(|e| e.1)
            .unwrap_or_default();
        let mut chunk = ops.len() / 2;
        while chunk >= 1 {
            let mut start = 0;
            while start < ops.len() {
                let mut candidate = ops.clone();
                candidate.drain(start..(start + chunk).min(ops.len()));
                match self.run(config, desc, &candidate) {
                    Err((i, m)) => {
                        candidate.truncate(i + 1);
                        ops = candidate;
                        msg = m;
                    }
                    Ok(()) => start += chunk,
                }
            }
            chunk /= 2;
        }
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..ops.len() {
                for s in Self::simpler(&ops[i]) {
                    let mut candidate = ops.clone();
                    candidate[i] = s;
                    if let Err((j, m)) = self.run(config, desc, &candidate) {
                        candidate.truncate(j + 1);
                        ops = candidate;
                        msg = m;
                        changed = true;
                        break;
                    }
                }
                if changed {
                    break;
                }
            }
        }
        (ops, msg)
    }

    /// Runs every case; panics with the shrunk sequence of the first
    /// failing one. Returns the number of operations run.
    pub fn check(&self) -> u64 {
        let desc = described::<T>();
        let only = std::env::var("QDEV_PROP_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let seeds: Vec<u64> = match only {
            Some(s) => vec![s],
            None => (0..self.cases).map(|i| self.seed + i).collect(),
        };
        let mut total = 0u64;
        for seed in seeds {
            let mut rng = Rng(seed);
            let config = self.config(&mut rng);
            let ops: Vec<Op> = (0..self.ops).map(|_| self.gen(&mut rng, &desc)).collect();
            if let Err((at, first)) = self.run(&config, &desc, &ops) {
                let (shrunk, msg) = self.shrink(&config, &desc, ops, at);
                let steps: Vec<String> = shrunk
                    .iter()
                    .enumerate()
                    .map(|(i, o)| format!("  {i:4}: {o:?}"))
                    .collect();
                panic!(
                    "{}: seed {seed} failed at operation {at}: {first}\n\
                     properties {:?}\nshrunk to {} operations, failing with: {msg}\n{}\n\
                     run only this case with QDEV_PROP_SEED={seed}",
                    self.name,
                    config.0,
                    shrunk.len(),
                    steps.join("\n")
                );
            }
            total += ops.len() as u64;
        }
        total
    }
}
