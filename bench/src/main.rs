// SPDX-License-Identifier: GPL-2.0-or-later
//! qdev's performance benchmarks: the Rust baseline device against its C
//! twin inside the stock QEMU, and the costs around them. Run through
//! `bench/run.sh` (see docs/performance.md):
//!
//! ```text
//! qdev-bench [--quick] [--out FILE] [--debug-tool PATH] [SECTION...]
//! ```
//!
//! Sections (default: all, in this order): `dispatch`, `e2e`, `scaling`,
//! `startup`, `build`, `mock`. Each prints a table; the end is a summary
//! against the targets, also written as Markdown to `--out` (default
//! `target/bench/report.md`). Benchmarks print figures; they fail only
//! when something cannot be measured (a device answering wrongly is such
//! a failure).

mod callgrind;
mod gen;
mod qtest;
mod util;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callgrind::{FnCost, Profile};
use qtest::Session;
use util::{group, kib, median, min_max, quartiles, rate, run, timed};

/// Guest-physical address BAR 0 is placed at in the qtest runs.
const BAR: u64 = 0xe000_0000;
/// The ID register's value.
const ID: u64 = 0x7164_6576;
const ALL: [&str; 6] = ["dispatch", "e2e", "scaling", "startup", "build", "mock"];

type Res<T> = Result<T, String>;

struct Opts {
    quick: bool,
    build_4096: bool,
    registers: Vec<usize>,
    sections: Vec<String>,
    out: Option<PathBuf>,
    debug_tool: Option<PathBuf>,
}

/// What every section needs.
struct Env {
    root: PathBuf,
    work: PathBuf,
    qemu: String,
    quick: bool,
    build_4096: bool,
    registers: Vec<usize>,
    pkg_config: PathBuf,
    rust_module: PathBuf,
    c_module: PathBuf,
    /// The C twin with trace points in its callbacks.
    c_trace_module: PathBuf,
    shim: PathBuf,
    debug_tool: Option<PathBuf>,
}

/// A line of the summary: what, the figure, the target, whether it is met.
struct Verdict {
    what: String,
    figure: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    md: String,
    verdicts: Vec<Verdict>,
}

impl Report {
    /// Prints `text` and keeps it for the Markdown report.
    fn out(&mut self, text: &str) {
        println!("{text}");
        self.md.push_str(text);
        self.md.push('\n');
    }

    fn verdict(&mut self, what: &str, figure: String, target: &str, met: Option<bool>) {
        self.verdicts.push(Verdict {
            what: what.into(),
            figure,
            target: target.into(),
            met,
        });
    }
}

fn say(msg: &str) {
    eprintln!("==> {msg}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("mock-count") {
        // Internal: exactly N rounds of the mix (for instruction counts).
        let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
        let mut dev = mock_device();
        let t = Instant::now();
        let sum = mock_loop(&mut dev, n);
        println!(
            "accesses={} s={:.6} sum={sum}",
            n * 4,
            t.elapsed().as_secs_f64()
        );
        return;
    }
    if args.first().map(String::as_str) == Some("mock-raw") {
        // Internal: the mocked-bus loop alone, for the debug build.
        let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0.3);
        let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
        for r in mock_rates(secs, rounds) {
            println!("rate={r}");
        }
        return;
    }
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("qdev-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = real_main(opts) {
        eprintln!("qdev-bench: error: {e}");
        std::process::exit(1);
    }
}

fn parse_args(args: Vec<String>) -> Res<Opts> {
    let mut o = Opts {
        quick: false,
        build_4096: false,
        registers: gen::COUNTS.to_vec(),
        sections: Vec::new(),
        out: None,
        debug_tool: None,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--build-4096" => o.build_4096 = true,
            "--registers" => {
                let list = it.next().ok_or("--registers needs a list, e.g. 8,64,512")?;
                o.registers = list
                    .split(',')
                    .map(|n| match n.trim().parse() {
                        Ok(n) if gen::COUNTS.contains(&n) => Ok(n),
                        _ => Err(format!(
                            "--registers: {n:?} is not one of {:?}",
                            gen::COUNTS
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--out" => o.out = Some(it.next().ok_or("--out needs a file")?.into()),
            "--debug-tool" => {
                o.debug_tool = Some(it.next().ok_or("--debug-tool needs a path")?.into())
            }
            "-h" | "--help" => {
                println!(
                    "usage: qdev-bench [--quick] [--build-4096] [--registers 8,64,512,4096] [--out FILE] [--debug-tool PATH] [SECTION...]\n\
                     sections: {} (default: all)",
                    ALL.join(" ")
                );
                std::process::exit(0);
            }
            s if ALL.contains(&s) => o.sections.push(s.to_string()),
            s => {
                return Err(format!(
                    "unknown argument {s:?} (sections: {})",
                    ALL.join(" ")
                ))
            }
        }
    }
    if o.sections.is_empty() {
        o.sections = ALL.iter().map(|s| s.to_string()).collect();
    }
    Ok(o)
}

fn real_main(opts: Opts) -> Res<()> {
    let env = setup(&opts)?;
    let mut report = Report::default();
    report.out(&format!(
        "# qdev benchmarks\n\n{}\n\nSource: `{}` ({}).\n",
        machine_line(&env.qemu),
        env.root.display(),
        source_state(&env.root)
    ));
    for s in ALL {
        if !opts.sections.iter().any(|x| x == s) {
            continue;
        }
        let started = Instant::now();
        let r = match s {
            "dispatch" => dispatch(&env, &mut report),
            "e2e" => e2e(&env, &mut report),
            "scaling" => scaling(&env, &mut report),
            "startup" => startup(&env, &mut report),
            "build" => build(&env, &mut report),
            "mock" => mock(&env, &mut report),
            _ => unreachable!(),
        };
        if let Err(e) = r {
            return Err(format!("section {s}: {e}"));
        }
        say(&format!(
            "{s} done in {:.0} s",
            started.elapsed().as_secs_f64()
        ));
    }
    report.out("## Summary against the targets\n");
    report.out("| what | figure | target | met |\n|---|---|---|---|");
    let rows: Vec<String> = report
        .verdicts
        .iter()
        .map(|v| {
            format!(
                "| {} | {} | {} | {} |",
                v.what,
                v.figure,
                v.target,
                match v.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "-",
                }
            )
        })
        .collect();
    for r in rows {
        report.out(&r);
    }
    let out = opts.out.unwrap_or_else(|| env.work.join("report.md"));
    std::fs::write(&out, &report.md).map_err(|e| format!("{}: {e}", out.display()))?;
    say(&format!("report written to {}", out.display()));
    Ok(())
}

fn machine_line(qemu: &str) -> String {
    let version = Command::new(qemu)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!(
        "Machine: {cpu}, {cores} cores, load average {load} at the start. {version}. {}, {}.",
        rustc.trim(),
        valgrind.trim()
    )
}

// ----- setup -----

/// This crate's directory (`bench/`).
fn bench_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `git describe`-like state of the source tree at `root`.
fn source_state(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!(
                "commit {head}{}",
                if dirty { " with local changes" } else { "" }
            )
        }
        None => "not a git checkout".into(),
    }
}

fn setup(opts: &Opts) -> Res<Env> {
    // The qdev source tree the modules are built from: this one, or
    // another (a copy with a proposed runtime change) named by
    // QDEV_BENCH_ROOT. The bench's own files come from this tree.
    let root = match std::env::var_os("QDEV_BENCH_ROOT") {
        Some(r) => PathBuf::from(r),
        None => bench_dir()
            .parent()
            .ok_or("bench/ has no parent")?
            .to_path_buf(),
    };
    let target = std::env::var_os("QDEV_MAIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let work = std::env::var_os("QDEV_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("bench"));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let qemu = std::env::var("QDEV_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
    let pkg_config =
        qdev_tests::modules::sdk_pkg_config_dir().map_err(|e| format!("the SDK: {e}"))?;

    say("building the Rust baseline (cargo build --release -p qdev-baseline)");
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(&root)
            .args(["build", "--release", "--quiet", "-p", "qdev-baseline"])
            .env("CARGO_TARGET_DIR", &target),
        "cargo build --release -p qdev-baseline",
    )?;
    let rust_module = target.join("release/libqdev_baseline.so");

    say("building the C baseline (make, with the SDK's pkg-config file)");
    let c_dir = work.join("c-baseline");
    std::fs::create_dir_all(&c_dir).map_err(|e| e.to_string())?;
    run(
        Command::new("make")
            .current_dir(root.join("devices/c-baseline"))
            .arg(format!("OUT={}", c_dir.display()))
            .env("PKG_CONFIG_PATH", &pkg_config),
        "make -C devices/c-baseline",
    )?;
    let c_module = c_dir.join("qdev-c-baseline.so");
    // The same C device with trace points in its callbacks, as QEMU's own
    // devices have them (the Rust callbacks carry theirs).
    run(
        Command::new("make")
            .current_dir(root.join("devices/c-baseline"))
            .arg(format!("OUT={}", c_dir.display()))
            .arg("trace")
            .env("PKG_CONFIG_PATH", &pkg_config),
        "make -C devices/c-baseline trace",
    )?;
    let c_trace_module = c_dir.join("qdev-c-baseline-trace.so");

    let shim = work.join("preload-shim.so");
    run(
        Command::new("cc")
            .args(["-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o"])
            .arg(&shim)
            .arg(bench_dir().join("preload-shim.c")),
        "cc bench/preload-shim.c",
    )?;
    Ok(Env {
        root,
        work,
        qemu,
        quick: opts.quick,
        build_4096: opts.build_4096,
        registers: opts.registers.clone(),
        pkg_config,
        rust_module,
        c_module,
        c_trace_module,
        shim,
        debug_tool: opts.debug_tool.clone(),
    })
}

// ----- callgrind runs -----

/// One access of a sequence: the qtest command and, for a read, the value
/// it must return.
struct Access {
    command: String,
    expect: Option<u64>,
    write: bool,
}

fn readl(off: u64, expect: u64) -> Access {
    Access {
        command: format!("readl 0x{:x}", BAR + off),
        expect: Some(expect),
        write: false,
    }
}

fn writel(off: u64, value: u32) -> Access {
    Access {
        command: format!("writel 0x{:x} 0x{value:x}", BAR + off),
        expect: None,
        write: true,
    }
}

/// A device in QEMU under callgrind.
struct Subject<'a> {
    label: String,
    module: &'a Path,
    device: String,
    device_id: u16,
    read_fn: fn(&str) -> bool,
    write_fn: fn(&str) -> bool,
}

/// The callback itself, not the closures it calls (`...::{{closure}}`),
/// whose cost its inclusive figure already holds.
fn rust_read(name: &str) -> bool {
    name.ends_with("callbacks::mmio_read")
}
fn rust_write(name: &str) -> bool {
    name.ends_with("callbacks::mmio_write")
}
fn c_read(name: &str) -> bool {
    name == "baseline_read" || name == "gen_read"
}
fn c_write(name: &str) -> bool {
    name == "baseline_write" || name == "gen_write"
}

/// What one callgrind run measured.
struct Run {
    read: FnCost,
    write: FnCost,
    total: u64,
    reads: u64,
    writes: u64,
    profile: Profile,
    file: PathBuf,
}

/// Runs QEMU (q35, `-S`) with `s`'s module under callgrind, sends `seq`
/// through qtest, checks every read, and parses the profile.
fn callgrind_run(env: &Env, s: &Subject<'_>, tag: &str, seq: &[Access]) -> Res<Run> {
    let dir = env.work.join("callgrind");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{tag}.out"));
    let _ = std::fs::remove_file(&file);
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(&env.qemu)
        .args(["-M", "q35", "-display", "none", "-nodefaults", "-S"])
        .args(["-device", &s.device])
        .env("LD_PRELOAD", &env.shim)
        .env("QDEV_BENCH_MODULES", s.module);
    let t = Instant::now();
    let mut q = Session::start(cmd, &dir.join("run"), Duration::from_secs(600))?;
    q.map_bar0(0x1234, s.device_id, BAR as u32)?;
    let commands: Vec<String> = seq.iter().map(|a| a.command.clone()).collect();
    let replies = q.pipeline(&commands)?;
    q.quit(Duration::from_secs(600))?;
    for (a, r) in seq.iter().zip(&replies) {
        if let Some(want) = a.expect {
            let got = r
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok());
            if got != Some(want) {
                return Err(format!(
                    "{}: `{}` answered {r:?}, expected 0x{want:x}",
                    s.label, a.command
                ));
            }
        }
    }
    let profile = callgrind::parse(&file)?;
    let (read, nr) = profile.matching(s.read_fn);
    let (write, nw) = profile.matching(s.write_fn);
    if nr == 0 || nw == 0 {
        return Err(format!(
            "{}: no read/write callback found in {}",
            s.label,
            file.display()
        ));
    }
    let reads = seq.iter().filter(|a| !a.write).count() as u64;
    let writes = seq.len() as u64 - reads;
    if read.calls != reads || write.calls != writes {
        return Err(format!(
            "{}: callgrind counted {} read and {} write callbacks for {reads} reads and {writes} writes ({})",
            s.label,
            read.calls,
            write.calls,
            file.display()
        ));
    }
    say(&format!(
        "  {tag}: {} accesses, {:.0} s under callgrind",
        seq.len(),
        t.elapsed().as_secs_f64()
    ));
    Ok(Run {
        read,
        write,
        total: profile.total,
        reads,
        writes,
        profile,
        file,
    })
}

/// Per-access figures from a short and a long run: the difference
/// cancels start-up and one-time costs (lazy binding, first-touch).
#[derive(Clone, Copy)]
struct PerAccess {
    read: f64,
    write: f64,
    both: f64,
    qemu: f64,
}

fn per_access(small: &Run, big: &Run) -> PerAccess {
    let d = |a: u64, b: u64| b as f64 - a as f64;
    let dr = d(small.reads, big.reads);
    let dw = d(small.writes, big.writes);
    let read = d(small.read.inclusive(), big.read.inclusive()) / dr;
    let write = d(small.write.inclusive(), big.write.inclusive()) / dw;
    let both = d(
        small.read.inclusive() + small.write.inclusive(),
        big.read.inclusive() + big.write.inclusive(),
    ) / (dr + dw);
    let qemu = d(small.total, big.total) / (dr + dw);
    PerAccess {
        read,
        write,
        both,
        qemu,
    }
}

/// Measures `s` with the sequence `round` repeated `n1` and `n2` times.
fn measure(
    env: &Env,
    s: &Subject<'_>,
    mix: &str,
    round: &dyn Fn(u64) -> Vec<Access>,
    (n1, n2): (u64, u64),
) -> Res<(PerAccess, Run)> {
    let seq = |n: u64| (0..n).flat_map(round).collect::<Vec<_>>();
    let tag = |n: u64| format!("{}-{mix}-{n}", s.label.to_lowercase().replace(' ', "-"));
    let small = callgrind_run(env, s, &tag(n1), &seq(n1))?;
    let big = callgrind_run(env, s, &tag(n2), &seq(n2))?;
    Ok((per_access(&small, &big), big))
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}x", a / b)
}

// ----- 1. dispatch -----

fn dispatch(env: &Env, rep: &mut Report) -> Res<()> {
    say("dispatch: instructions per MMIO callback, Rust vs C, under callgrind");
    let subjects = [
        Subject {
            label: "C".into(),
            module: &env.c_module,
            device: "qdev-c-baseline".into(),
            device_id: 0xbace,
            read_fn: c_read,
            write_fn: c_write,
        },
        Subject {
            label: "Rust".into(),
            module: &env.rust_module,
            device: "qdev-baseline".into(),
            device_id: 0xbacf,
            read_fn: rust_read,
            write_fn: rust_write,
        },
        Subject {
            label: "C+trace".into(),
            module: &env.c_trace_module,
            device: "qdev-c-baseline".into(),
            device_id: 0xbace,
            read_fn: c_read,
            write_fn: c_write,
        },
    ];
    type Mix = (&'static str, &'static str, Box<dyn Fn(u64) -> Vec<Access>>);
    let mixes: Vec<Mix> = vec![
        (
            "registers",
            "read ID, write SCRATCH, read SCRATCH, read IRQ_STATUS",
            Box::new(|i| {
                let v = (i as u32).wrapping_mul(2_654_435_761);
                vec![readl(0, ID), writel(4, v), readl(4, u64::from(v)), readl(8, 0)]
            }),
        ),
        (
            "irq",
            "write IRQ_RAISE 1, read IRQ_STATUS, write IRQ_ACK 1 (INTx up and down)",
            Box::new(|_| vec![writel(0xc, 1), readl(8, 1), writel(0x10, 1)]),
        ),
        (
            "errors",
            "read unmapped 0x40, write read-only ID, write unmapped 0x40 (guest errors, not logged)",
            Box::new(|_| vec![readl(0x40, 0), writel(0, 0), writel(0x40, 0)]),
        ),
    ];
    let counts = if env.quick { (250, 750) } else { (1000, 3000) };
    rep.out("## 1. Dispatch cost (callgrind, instructions per access)\n");
    rep.out(&format!(
        "QEMU `-M q35 -S` under `valgrind --tool=callgrind`, the module loaded through \
         `bench/preload-shim.c`, accesses sent through qtest. Each mix runs {} and {} times; \
         per-access figures are the difference between the two runs divided by the extra \
         accesses. *read*/*write*: inclusive instructions of the read/write callback \
         (C `baseline_read`/`baseline_write`, Rust `qdev_runtime::qemu::callbacks::mmio_read`/`mmio_write`) \
         per call; *both*: both callbacks per access; *QEMU path*: every instruction QEMU \
         executes per access (qtest parsing, memory core, the callback).\n",
        counts.0, counts.1
    ));
    rep.out("| mix | device | read | write | both | QEMU path | both, Rust/C | both, Rust/(C+trace) |\n|---|---|---:|---:|---:|---:|---:|---:|");
    let mut headline = None;
    let mut rust_runs = Vec::new();
    for (mix, desc, round) in &mixes {
        let mut got = Vec::new();
        for s in &subjects {
            say(&format!("  {} / {mix}", s.label));
            let (pa, big) = measure(env, s, mix, round.as_ref(), counts)?;
            got.push(pa);
            if s.label == "Rust" {
                rust_runs.push((mix.to_string(), big));
            }
        }
        let (c, r, ct) = (got[0], got[1], got[2]);
        for (label, pa) in [("C", c), ("C+trace", ct), ("Rust", r)] {
            let (vs_c, vs_ct) = if label == "Rust" {
                (ratio(r.both, c.both), ratio(r.both, ct.both))
            } else {
                Default::default()
            };
            rep.out(&format!(
                "| {mix} | {label} | {:.1} | {:.1} | {:.1} | {:.0} | {vs_c} | {vs_ct} |",
                pa.read, pa.write, pa.both, pa.qemu,
            ));
        }
        let _ = desc;
        if *mix == "registers" {
            headline = Some((c, r, ct));
        }
    }
    rep.out("");
    for (mix, desc, _) in &mixes {
        rep.out(&format!("- *{mix}*: {desc}"));
    }
    rep.out("");
    // Where the Rust callbacks' instructions go (the long runs).
    rep.out("Where the Rust callbacks' instructions go (long runs; per call of the callback):\n");
    rep.out("| mix | callback | self | callee (per callback call) |\n|---|---|---:|---|");
    for (mix, run) in &rust_runs {
        for (which, pred, cost, calls) in [
            (
                "mmio_read",
                rust_read as fn(&str) -> bool,
                run.read,
                run.reads,
            ),
            (
                "mmio_write",
                rust_write as fn(&str) -> bool,
                run.write,
                run.writes,
            ),
        ] {
            let callees: Vec<String> = run
                .profile
                .callees(pred)
                .into_iter()
                .take(4)
                .map(|(name, n, incl)| {
                    format!(
                        "`{}` {:.1} ({:.2} calls)",
                        short_name(&name),
                        incl as f64 / calls as f64,
                        n as f64 / calls as f64
                    )
                })
                .collect();
            rep.out(&format!(
                "| {mix} | {which} | {:.1} | {} |",
                cost.self_ir as f64 / calls as f64,
                if callees.is_empty() {
                    "none".to_string()
                } else {
                    callees.join("; ")
                }
            ));
        }
        let _ = &run.file;
    }
    rep.out(&format!(
        "\nProfiles: `{}/*.out` (`callgrind_annotate --auto=yes --inclusive=yes FILE`).\n",
        env.work.join("callgrind").display()
    ));
    if let Some((c, r, ct)) = headline {
        rep.verdict(
            "1. dispatch, registers mix: callback instructions per access, Rust/C",
            format!("{:.1} / {:.1} = {}", r.both, c.both, ratio(r.both, c.both)),
            "<= 1.00x",
            Some(r.both <= c.both * 1.0001),
        );
        rep.verdict(
            "1. dispatch, registers mix, against the C twin with trace points: Rust/(C+trace)",
            format!(
                "{:.1} / {:.1} = {}",
                r.both,
                ct.both,
                ratio(r.both, ct.both)
            ),
            "<= 1.00x",
            Some(r.both <= ct.both * 1.0001),
        );
    }
    Ok(())
}

/// A demangled name without its crate path noise, for tables.
fn short_name(name: &str) -> String {
    let n = name.split(" [").next().unwrap_or(name);
    if n.len() > 70 {
        format!("...{}", &n[n.len() - 67..])
    } else {
        n.to_string()
    }
}

// ----- 2. end to end -----

fn e2e(env: &Env, rep: &mut Report) -> Res<()> {
    use qdev_tests::guest::{Guest, GuestFile};
    say("e2e: a Linux guest under TCG hammering BAR 0 of both devices");
    let program = env.work.join("mmio-loop");
    run(
        Command::new("cc")
            .args(["-static", "-O2", "-Wall", "-Wextra", "-o"])
            .arg(&program)
            .arg(bench_dir().join("guest/mmio-loop.c")),
        "cc -static bench/guest/mmio-loop.c",
    )?;
    let (iters, rounds) = if env.quick {
        (250_000, 5)
    } else {
        (500_000, 30)
    };
    // Three devices: the C baseline twice (the second instance is the
    // control: C against C shows the method's own bias and noise) and the
    // Rust twin. Each round runs all three, in an order rotated every
    // round; the ratios are taken within a round.
    let devs = [
        ("c", "0xbace", 0),
        ("c2", "0xbace", 1),
        ("rust", "0xbacf", 0),
    ];
    let mut script = String::from("set -e\n");
    for (_, id, idx) in devs {
        script.push_str(&format!(
            "/bin/mmio-loop 0x1234 {id} 20000 {idx} >/dev/null\n"
        ));
    }
    script.push_str(&format!(
        "for r in $(seq 0 {}); do\n  case $((r % 3)) in\n",
        rounds - 1
    ));
    for rot in 0..3 {
        let order: Vec<String> = (0..3)
            .map(|k| {
                let (name, id, idx) = devs[(k + rot) % 3];
                format!("{name}:{id}:{idx}")
            })
            .collect();
        script.push_str(&format!("    {rot}) order='{}' ;;\n", order.join(" ")));
    }
    script.push_str(&format!(
        "  esac\n  for d in $order; do\n    IFS=: read name id idx <<EOF\n$d\nEOF\n    \
         echo \"result dev=$name round=$r $(/bin/mmio-loop 0x1234 $id {iters} $idx)\"\n  done\ndone\n"
    ));
    let t = Instant::now();
    // QDEV_BENCH_E2E_RUST_FIRST=1 puts the Rust device in the first PCI
    // slot instead of the last (to check that the slot does not matter).
    let rust_first = std::env::var_os("QDEV_BENCH_E2E_RUST_FIRST").is_some_and(|v| v == "1");
    let mut builder = Guest::builder()
        .module(&env.c_module)
        .module(&env.rust_module);
    if rust_first {
        builder = builder.device("qdev-baseline");
    }
    builder = builder.device("qdev-c-baseline").device("qdev-c-baseline");
    if !rust_first {
        builder = builder.device("qdev-baseline");
    }
    let out = builder
        .file("/bin/mmio-loop", GuestFile::host(&program))
        .script(script)
        .timeout(Duration::from_secs(900))
        .run()
        .map_err(|e| e.to_string())?;
    if out.exit_code != 0 {
        return Err(format!(
            "the guest script failed ({}):\n{}",
            out.exit_code, out.output
        ));
    }
    say(&format!("  guest ran {:.0} s", t.elapsed().as_secs_f64()));
    // Per round: accesses per second of each device.
    let mut by_round: std::collections::BTreeMap<u32, [f64; 3]> = Default::default();
    for line in out.output.lines().filter(|l| l.starts_with("result ")) {
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                .unwrap_or("")
                .to_string()
        };
        let acc: f64 = field("accesses")
            .parse()
            .map_err(|_| format!("bad line {line}"))?;
        let ns: f64 = field("ns")
            .parse()
            .map_err(|_| format!("bad line {line}"))?;
        let round: u32 = field("round").parse().unwrap_or(0);
        let slot = match field("dev").as_str() {
            "c" => 0,
            "c2" => 1,
            _ => 2,
        };
        by_round.entry(round).or_default()[slot] = acc / (ns / 1e9);
    }
    let rounds_ok: Vec<[f64; 3]> = by_round
        .values()
        .filter(|v| v.iter().all(|x| *x > 0.0))
        .copied()
        .collect();
    if rounds_ok.is_empty() {
        return Err(format!("no results in the guest's output:\n{}", out.output));
    }
    let col = |i: usize| rounds_ok.iter().map(|v| v[i]).collect::<Vec<f64>>();
    let (c, c2, r) = (col(0), col(1), col(2));
    let ratios: Vec<f64> = rounds_ok.iter().map(|v| v[2] / v[0]).collect();
    let control: Vec<f64> = rounds_ok.iter().map(|v| v[1] / v[0]).collect();
    rep.out("## 2. End to end (Linux guest under TCG)\n");
    rep.out(&format!(
        "One QEMU (`-M q35 -accel tcg`, Debian's kernel, busybox) with both modules preloaded and \
         three devices: the C baseline twice (the second is a control) and the Rust twin. The \
         static guest program `bench/guest/mmio-loop.c` maps BAR 0 (sysfs `resource0`) and runs \
         {iters} iterations of read ID, write SCRATCH, read SCRATCH, read IRQ_STATUS ({} accesses) \
         per device and round, timed in the guest (CLOCK_MONOTONIC); {} rounds, each running the \
         three devices in an order rotated every round. Ratios are taken within a round.\n",
        iters * 4,
        rounds_ok.len()
    ));
    rep.out("| device | median | min | max |\n|---|---:|---:|---:|");
    for (label, v) in [
        ("C", &c),
        ("C, second instance (control)", &c2),
        ("Rust", &r),
    ] {
        let (lo, hi) = min_max(v);
        rep.out(&format!(
            "| {label} | {} | {} | {} |",
            rate(median(v)),
            rate(lo),
            rate(hi)
        ));
    }
    let (lo, hi) = min_max(&ratios);
    let med = median(&ratios);
    let (clo, chi) = min_max(&control);
    let cmed = median(&control);
    let (q1, q3) = quartiles(&ratios);
    let (cq1, cq3) = quartiles(&control);
    rep.out(&format!(
        "\n| per round | median | quartiles | min | max |\n|---|---:|---:|---:|---:|\n\
         | Rust / C | {med:.3}x | {q1:.3}-{q3:.3} | {lo:.3}x | {hi:.3}x |\n\
         | C second instance / C (control) | {cmed:.3}x | {cq1:.3}-{cq3:.3} | {clo:.3}x | {chi:.3}x |\n"
    ));
    rep.verdict(
        "2. end to end: guest MMIO accesses per second, Rust/C (median of rounds)",
        format!(
            "{} / {} = {med:.3}x (control C/C {cmed:.3}x)",
            rate(median(&r)),
            rate(median(&c))
        ),
        ">= 0.98x",
        Some(med >= 0.98),
    );
    Ok(())
}

// ----- 3. scaling -----

fn gen_workspace(env: &Env) -> Res<gen::GenWorkspace> {
    gen::write_workspace(&env.root, &env.work.join("gen"))
}

fn scaling(env: &Env, rep: &mut Report) -> Res<()> {
    say("scaling: generated devices with 8..4096 registers");
    let ws = gen_workspace(env)?;
    say("  building the generated Rust devices (release)");
    let mut args = vec!["build", "--release", "--quiet"];
    let names: Vec<String> = env.registers.iter().map(|&n| gen::rust_name(n)).collect();
    for n in &names {
        args.push("-p");
        args.push(n);
    }
    run(&mut ws.cargo(&args), "cargo build (generated devices)")?;
    say("  building the generated C devices");
    let c_mods = gen::build_c(&env.work.join("gen-c"), &env.pkg_config)?;
    let counts = if env.quick { (500, 1500) } else { (2000, 6000) };
    rep.out("## 3. Scaling with the register count (callgrind)\n");
    rep.out(&format!(
        "Generated devices with N read-write u32 registers at 4-byte steps: Rust with \
         `#[qemu_device]` (one `#[reg]` field each), C with one `case` per register. \
         Each round writes register k and reads it back, k = 613·round mod N (every register \
         is hit); {} and {} rounds; instructions of both callbacks per access.\n",
        counts.0, counts.1
    ));
    rep.out("| registers | Rust | C | Rust/C | Rust vs 8 registers | C vs 8 registers |\n|---:|---:|---:|---:|---:|---:|");
    let mut rust8 = None;
    let mut c8 = None;
    let mut last = (0.0, 0.0, 0usize);
    for (i, &n) in gen::COUNTS.iter().enumerate() {
        if !env.registers.contains(&n) {
            continue;
        }
        let round = move |j: u64| {
            let k = (j * 613) % n as u64;
            let v = (j as u32).wrapping_mul(2_654_435_761) ^ 0x5a5a;
            vec![writel(k * 4, v), readl(k * 4, u64::from(v))]
        };
        let rust_module = ws.module(n);
        let rs = Subject {
            label: format!("Rust regs-{n}"),
            module: &rust_module,
            device: gen::rust_name(n),
            device_id: gen::rust_device_id(i),
            read_fn: rust_read,
            write_fn: rust_write,
        };
        let cs = Subject {
            label: format!("C regs-{n}"),
            module: &c_mods[i],
            device: gen::c_name(n),
            device_id: gen::c_device_id(i),
            read_fn: c_read,
            write_fn: c_write,
        };
        say(&format!("  {n} registers"));
        let (r, _) = measure(env, &rs, "spread", &round, counts)?;
        let (c, _) = measure(env, &cs, "spread", &round, counts)?;
        let r8 = *rust8.get_or_insert(r.both);
        let c8v = *c8.get_or_insert(c.both);
        rep.out(&format!(
            "| {n} | {:.1} | {:.1} | {} | {} | {} |",
            r.both,
            c.both,
            ratio(r.both, c.both),
            ratio(r.both, r8),
            ratio(c.both, c8v)
        ));
        last = (r.both, r8, n);
    }
    rep.out("");
    let (r4096, r8, n) = last;
    rep.verdict(
        &format!("3. scaling: Rust callback instructions per access, {n} vs 8 registers"),
        format!("{r4096:.1} / {r8:.1} = {}", ratio(r4096, r8)),
        "<= 1.10x",
        Some(r4096 <= r8 * 1.10),
    );
    Ok(())
}

// ----- 4. start-up and size -----

fn file_size(p: &Path) -> Res<u64> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", p.display()))
}

fn startup(env: &Env, rep: &mut Report) -> Res<()> {
    say("startup: QEMU start-up with and without the modules; module sizes");
    let rust_stripped = env.work.join("libqdev_baseline.stripped.so");
    let c_stripped = env.work.join("qdev-c-baseline.stripped.so");
    for (from, to) in [
        (&env.rust_module, &rust_stripped),
        (&env.c_module, &c_stripped),
    ] {
        run(
            Command::new("strip")
                .arg("--strip-all")
                .arg("-o")
                .arg(to)
                .arg(from),
            "strip",
        )?;
    }
    rep.out("## 4. Start-up and size\n");
    rep.out("| module | file | stripped (`strip --strip-all`) |\n|---|---:|---:|");
    let rs = file_size(&rust_stripped)?;
    for (label, a, b) in [
        (
            "Rust `libqdev_baseline.so` (release, `debug = 1`)",
            &env.rust_module,
            &rust_stripped,
        ),
        (
            "C `qdev-c-baseline.so` (`-O2 -g`)",
            &env.c_module,
            &c_stripped,
        ),
    ] {
        rep.out(&format!(
            "| {label} | {} | {} |",
            kib(file_size(a)?),
            kib(file_size(b)?)
        ));
    }
    rep.out("");

    // Wall clock: every command line once per round, the order rotated
    // each round, so a change of load on this shared machine hits all of
    // them alike (hyperfine runs one command line's runs back to back).
    let quit = env.work.join("qmp-quit.json");
    std::fs::write(
        &quit,
        "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n",
    )
    .map_err(|e| e.to_string())?;
    struct Case {
        name: &'static str,
        module: Option<PathBuf>,
        args: Vec<&'static str>,
    }
    let case = |name, module: Option<&PathBuf>, args: &[&'static str]| Case {
        name,
        module: module.cloned(),
        args: args.to_vec(),
    };
    let cases = [
        case("-M none, no module", None, &["-M", "none"]),
        case(
            "-M none, Rust module",
            Some(&env.rust_module),
            &["-M", "none"],
        ),
        case(
            "-M none, Rust module stripped",
            Some(&rust_stripped),
            &["-M", "none"],
        ),
        case("-M none, C module", Some(&env.c_module), &["-M", "none"]),
        case("-M q35, no module", None, &["-M", "q35"]),
        case(
            "-M q35, Rust module + device",
            Some(&env.rust_module),
            &["-M", "q35", "-device", "qdev-baseline"],
        ),
        case(
            "-M q35, C module + device",
            Some(&env.c_module),
            &["-M", "q35", "-device", "qdev-c-baseline"],
        ),
    ];
    let (warmup, runs) = if env.quick { (2, 10) } else { (5, 60) };
    say(&format!(
        "  wall clock: {runs} rounds (after {warmup}) of {} command lines, order rotated",
        cases.len()
    ));
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for r in 0..warmup + runs {
        for k in 0..cases.len() {
            let i = (k + r) % cases.len();
            let c = &cases[i];
            let mut cmd = Command::new(&env.qemu);
            cmd.args(&c.args)
                .args(["-display", "none", "-nodefaults", "-S", "-qmp", "stdio"])
                .stdin(std::fs::File::open(&quit).map_err(|e| e.to_string())?)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if let Some(m) = &c.module {
                cmd.env("LD_PRELOAD", m);
            }
            let t = Instant::now();
            let status = cmd.status().map_err(|e| format!("{}: {e}", env.qemu))?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if !status.success() {
                return Err(format!("{}: QEMU exited with {status}", c.name));
            }
            if r >= warmup {
                times[i].push(ms);
            }
        }
    }
    rep.out(&format!(
        "Wall clock of `[LD_PRELOAD=MODULE] {} -M MACHINE [-device DEV] -display none -nodefaults -S \
         -qmp stdio < quit.json` (QMP `qmp_capabilities`, `quit`): the whole life of a QEMU that \
         builds the machine and quits. {runs} rounds after {warmup} warm-up rounds; each round \
         runs every command line once, in an order rotated every round. *Added*: against the \
         same machine without a module.\n",
        env.qemu
    ));
    rep.out("| command | median | min | added (median) | added (min) |\n|---|---:|---:|---:|---:|");
    let stats: Vec<(f64, f64)> = times.iter().map(|v| (median(v), min_max(v).0)).collect();
    let mut added_none = None;
    for (i, c) in cases.iter().enumerate() {
        let base = if c.name.starts_with("-M none") { 0 } else { 4 };
        let (med, min) = stats[i];
        let (bmed, bmin) = stats[base];
        let (am, an) = if i == base {
            (String::new(), String::new())
        } else {
            (
                format!("{:+.2} ms", med - bmed),
                format!("{:+.2} ms", min - bmin),
            )
        };
        if c.name == "-M none, Rust module" {
            added_none = Some((med - bmed, min - bmin));
        }
        rep.out(&format!(
            "| {} | {med:.2} ms | {min:.2} ms | {am} | {an} |",
            c.name
        ));
    }
    rep.out("");

    // Instructions with callgrind: deterministic, unlike the clock.
    say("  start-up instructions under callgrind");
    let dir = env.work.join("callgrind");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut irs = Vec::new();
    for (label, module) in [
        ("no module", None),
        ("Rust module", Some(&env.rust_module)),
        ("C module", Some(&env.c_module)),
    ] {
        let file = dir.join(format!("startup-{}.out", label.replace(' ', "-")));
        let mut cmd = Command::new("valgrind");
        cmd.arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", file.display()))
            .arg(&env.qemu)
            .args(["-M", "none", "-display", "none", "-nodefaults", "-S"])
            .env("LD_PRELOAD", &env.shim);
        if let Some(m) = module {
            cmd.env("QDEV_BENCH_MODULES", m);
        }
        let q = Session::start(cmd, &dir.join("run"), Duration::from_secs(600))?;
        q.quit(Duration::from_secs(600))?;
        let p = callgrind::parse(&file)?;
        let (dlopen, _) = p.matching(|n| n == "qdev_bench_shim");
        let (init, _) = p.matching(|n| n.ends_with("qdev_runtime::qemu::qom_init"));
        irs.push((label, p.total, dlopen.inclusive(), init.inclusive()));
    }
    rep.out("Instructions (callgrind `Ir`) of the same `-M none` start-up and quit (module loaded with `dlopen` by the shim in all three):\n");
    rep.out("| run | instructions | added | of which `dlopen` (load, relocate, constructors) | of which Rust `qom_init` (symbol table, type registration) |\n|---|---:|---:|---:|---:|");
    let base_ir = irs[0].1;
    for (label, ir, dlopen, init) in &irs {
        rep.out(&format!(
            "| {label} | {} | {} | {} | {} |",
            group(*ir),
            if *ir == base_ir {
                String::new()
            } else {
                format!("{:+}", *ir as i64 - base_ir as i64)
            },
            if *dlopen > 0 {
                group(*dlopen)
            } else {
                String::new()
            },
            if *init > 0 {
                group(*init)
            } else {
                String::new()
            },
        ));
    }
    rep.out("");
    if let Some((med, min)) = added_none {
        rep.verdict(
            "4. start-up added by the Rust module (-M none, wall clock: median; min)",
            format!("{med:+.2} ms; {min:+.2} ms"),
            "< 5 ms",
            Some(med < 5.0),
        );
    }
    rep.verdict(
        "4. Rust module size, stripped",
        kib(rs),
        "< 1 MiB",
        Some(rs < 1024 * 1024),
    );
    Ok(())
}

// ----- 5. build -----

fn build(env: &Env, rep: &mut Report) -> Res<()> {
    say("build: expanding and compiling generated devices");
    let ws = gen_workspace(env)?;
    let mut sizes: Vec<(usize, usize)> = if env.quick {
        vec![(8, 1), (512, 1)]
    } else {
        vec![(8, 3), (64, 3), (512, 3)]
    };
    if env.build_4096 {
        // About six minutes for the release build alone on 2 cores: once.
        sizes.push((4096, 1));
    }
    let reps = sizes[0].1;
    let modes: [(&str, &[&str]); 3] = [
        ("check", &["check", "--quiet"]),
        ("build (dev)", &["build", "--quiet"]),
        ("build --release", &["build", "--release", "--quiet"]),
    ];
    // Dependencies first, so that only the device crate is timed.
    say("  building the dependencies in every profile");
    for (_, args) in &modes {
        let mut a = args.to_vec();
        a.extend(["-p", "qdev-bench-regs-8"]);
        run(&mut ws.cargo(&a), "cargo (dependencies)")?;
    }
    rep.out("## 5. Build time of a generated device\n");
    rep.out(&format!(
        "Only the device crate is rebuilt (its `src/lib.rs` touched; `qdev-runtime` and the \
         rest are built already); median of {reps} wall-clock runs on this machine (one run for \
         4096 registers). `check` is macro expansion plus type checking, no code generation.\n"
    ));
    rep.out("| registers | lines of source | check | build (dev) | build --release | stripped .so |\n|---:|---:|---:|---:|---:|---:|");
    let mut release_times = Vec::new();
    for &(n, reps) in &sizes {
        let name = gen::rust_name(n);
        let lib = ws.crate_dir(n).join("src/lib.rs");
        let lines = std::fs::read_to_string(&lib)
            .map_err(|e| e.to_string())?
            .lines()
            .count();
        let mut cells = Vec::new();
        for (label, args) in &modes {
            let mut v = Vec::new();
            for _ in 0..reps {
                touch(&lib)?;
                let mut a = args.to_vec();
                a.extend(["-p", name.as_str()]);
                v.push(
                    timed(&mut ws.cargo(&a), &format!("cargo {label} -p {name}"))?.as_secs_f64(),
                );
            }
            let m = median(&v);
            say(&format!("  {n} registers, {label}: {m:.2} s"));
            if *label == "build --release" {
                release_times.push((n, m));
            }
            cells.push(format!("{m:.2} s"));
        }
        let stripped = env.work.join(format!("regs-{n}.stripped.so"));
        run(
            Command::new("strip")
                .arg("--strip-all")
                .arg("-o")
                .arg(&stripped)
                .arg(ws.module(n)),
            "strip",
        )?;
        rep.out(&format!(
            "| {n} | {lines} | {} | {} | {} | {} |",
            cells[0],
            cells[1],
            cells[2],
            kib(file_size(&stripped)?)
        ));
    }
    rep.out("");
    let t8 = release_times.iter().find(|t| t.0 == 8).map(|t| t.1);
    let t512 = release_times.iter().find(|t| t.0 == 512).map(|t| t.1);
    if let (Some(a), Some(b)) = (t8, t512) {
        rep.verdict(
            "5. build --release of the device crate, 512 vs 8 registers",
            format!("{b:.2} s vs {a:.2} s ({})", ratio(b, a)),
            "(no target)",
            None,
        );
    }
    Ok(())
}

fn touch(p: &Path) -> Res<()> {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(p)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    f.set_modified(std::time::SystemTime::now())
        .map_err(|e| format!("{}: {e}", p.display()))
}

// ----- 6. mocked bus -----

type MockBaseline = qdev_runtime::mock::MockDevice<qdev_baseline::Baseline>;

fn mock_device() -> MockBaseline {
    MockBaseline::new().expect("the baseline builds on the mocked bus")
}

/// `n` rounds of the register mix (read ID, write SCRATCH, read SCRATCH,
/// read IRQ_STATUS) on `dev`. Not inlined, and the offsets pass through
/// `black_box`, so the optimizer cannot specialize the loop around the
/// constant offsets of the caller: every access is dispatched.
#[inline(never)]
fn mock_loop(dev: &mut MockBaseline, n: u64) -> u32 {
    let mut sum: u32 = 0;
    for i in 0..n {
        let i = i as u32;
        sum = sum.wrapping_add(dev.readl(black_box(0x00)));
        dev.writel(black_box(0x04), i);
        sum = sum.wrapping_add(dev.readl(black_box(0x04)));
        sum = sum.wrapping_add(dev.readl(black_box(0x08)));
    }
    sum
}

/// Accesses per second on the mocked bus: `rounds` runs of about `secs`
/// each.
fn mock_rates(secs: f64, rounds: usize) -> Vec<f64> {
    let mut dev = mock_device();
    let mut out = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let mut n: u64 = 0;
        let mut sum: u32 = 0;
        loop {
            sum = sum.wrapping_add(mock_loop(&mut dev, 10_000));
            n += 40_000;
            if t.elapsed().as_secs_f64() >= secs {
                break;
            }
        }
        black_box(sum);
        out.push(n as f64 / t.elapsed().as_secs_f64());
    }
    out
}

fn mock(env: &Env, rep: &mut Report) -> Res<()> {
    say("mock: accesses per second on the mocked bus");
    let (secs, rounds) = if env.quick { (0.2, 3) } else { (0.5, 7) };
    let release = mock_rates(secs, rounds);
    let debug = match &env.debug_tool {
        Some(tool) => {
            let out = run(
                Command::new(tool).args(["mock-raw", &secs.to_string(), &rounds.to_string()]),
                "the debug build of qdev-bench",
            )?;
            Some(
                out.lines()
                    .filter_map(|l| l.strip_prefix("rate=")?.parse().ok())
                    .collect::<Vec<f64>>(),
            )
        }
        None => None,
    };
    // Instructions per access under callgrind: two loop lengths, the
    // difference divided by the extra accesses (no start-up, no noise).
    say("  instructions per access under callgrind");
    let dir = env.work.join("callgrind");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let per_access = |label: &str, tool: &Path| -> Res<f64> {
        let mut totals = Vec::new();
        for n in [20_000u64, 60_000] {
            let file = dir.join(format!("mock-{label}-{n}.out"));
            run(
                Command::new("valgrind")
                    .arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={}", file.display()))
                    .arg(tool)
                    .args(["mock-count", &n.to_string()]),
                "valgrind qdev-bench mock-count",
            )?;
            totals.push(callgrind::parse(&file)?.total);
        }
        Ok((totals[1] as f64 - totals[0] as f64) / 160_000.0)
    };
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let release_ir = per_access("release", &me)?;
    let debug_ir = match &env.debug_tool {
        Some(t) => Some(per_access("dev", t)?),
        None => None,
    };
    rep.out("## 6. Mocked bus\n");
    rep.out(&format!(
        "`qdev_runtime::mock::MockDevice::<Baseline>`, the register mix (readl ID, writel SCRATCH, \
         readl SCRATCH, readl IRQ_STATUS) in a loop, {rounds} runs of {secs} s, one thread; the \
         offsets go through `black_box`, so every access is dispatched. Instructions per access \
         from callgrind (60,000 minus 20,000 rounds). `cargo test` builds tests in the dev \
         profile (the first row).\n"
    ));
    rep.out(
        "| profile | median | min | max | instructions per access |\n|---|---:|---:|---:|---:|",
    );
    let mut rows = Vec::new();
    if let (Some(d), Some(ir)) = (&debug, debug_ir) {
        rows.push(("dev (debug, as `cargo test`)", d.clone(), ir));
    }
    rows.push(("release", release.clone(), release_ir));
    for (label, v, ir) in &rows {
        let (lo, hi) = min_max(v);
        rep.out(&format!(
            "| {label} | {} | {} | {} | {ir:.1} |",
            rate(median(v)),
            rate(lo),
            rate(hi)
        ));
    }
    rep.out("");
    rep.verdict(
        "6. mocked bus, accesses per second (release; dev)",
        format!(
            "{}; {}",
            rate(median(&release)),
            debug.as_ref().map_or("-".into(), |d| rate(median(d)))
        ),
        "(no target)",
        None,
    );
    Ok(())
}
