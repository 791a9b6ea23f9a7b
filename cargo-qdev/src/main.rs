// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo qdev`: build the QEMU device SDK and run modules in the stock QEMU.

use std::path::PathBuf;
use std::process::ExitCode;

use qdev_tool::launch::{self, LaunchOptions};
use qdev_tool::qemu::{default_binary, QemuBinary};
use qdev_tool::sdk::{self, SdkOptions, Source};

const USAGE: &str = "\
cargo qdev: QEMU device models in Rust, loaded into the stock QEMU

Usage: cargo qdev <COMMAND> [OPTIONS]

Commands:
  new     Create a device crate that builds, tests and runs as generated
  build   Build a device crate's module and print where the .so is
  sdk     Build (once) the QEMU device SDK for the installed QEMU and print where it is
  run     Run the stock QEMU with modules loaded
  check   Validate a module against a QEMU binary and list what it holds
  regmap  Export a device's register map (Markdown, C header, CMSIS-SVD)
  help    Show this text, or `cargo qdev help <COMMAND>`
";

const SDK_USAGE: &str = "\
cargo qdev sdk: build the QEMU device SDK for one exact QEMU binary

Finds the binary's version, fetches the matching source (Debian's source
package by default), configures it with modules enabled, generates the
headers a module needs and installs them, with a pkg-config file and a
manifest, under ~/.cache/qdev/sdk/. A second run is a no-op.
With --debian-version, the SDK is for that version of Debian's QEMU instead,
which need not be installed (e.g. bookworm's 7.2: --debian-version
1:7.2+dfsg-7+deb12u18+b3, as `apt-cache madison qemu-system-x86` lists it;
a binNMU's +bN stays in the package string, its source is the version
without it); Debian's patches are applied.

Usage: cargo qdev sdk [OPTIONS]

Options:
  --qemu BINARY            QEMU binary the SDK is for [default: $QDEV_QEMU or qemu-system-x86_64]
  --debian-version VER     build for this version of Debian's QEMU packages instead
  --source-tarball FILE    use this QEMU source tarball instead of Debian's source package
  --source-dir DIR         use this unpacked QEMU source tree
  --targets LIST           QEMU targets to configure headers for [default: x86_64,aarch64]
  --force                  rebuild even if the SDK is installed
  --print-root             print only the SDK's directory
  --print-pkg-config-path  print only the directory to add to PKG_CONFIG_PATH
  -h, --help               show this text
";

const RUN_USAGE: &str = "\
cargo qdev run: run the stock QEMU with device modules loaded

Checks that every module was built for this QEMU (version, package, host and
target architecture) and refuses with both versions named otherwise, then
runs QEMU with the modules preloaded into its process alone. QEMU's exit
status is passed through.

Usage: cargo qdev run [OPTIONS] -- <QEMU ARGS>...

Options:
  --qemu BINARY      QEMU binary [default: $QDEV_QEMU or qemu-system-x86_64]
  --module FILE.so   a module to load (repeatable)
  --no-check         load modules without checking what they were built for
  --print-command    print the equivalent plain command line and exit
  -h, --help         show this text

The plain equivalent: env LD_PRELOAD=/abs/dev.so qemu-system-x86_64 <QEMU ARGS>
";

const NEW_USAGE: &str = "\
cargo qdev new: a new device crate

Creates NAME/ with Cargo.toml (a cdylib for QEMU and an rlib for tests), a
device with four registers and an interrupt, and mocked-bus tests; it builds,
passes `cargo test` and runs in QEMU as generated.

Usage: cargo qdev new [OPTIONS] NAME

Options:
  --sysbus        a system-bus device [default]
  --pci           a PCI device
  --runtime DIR   where qdev-runtime is [default: beside this tool's sources]
  -h, --help      show this text
";

const BUILD_USAGE: &str = "\
cargo qdev build: build a device module

Runs `cargo build` and prints the path of each module (.so) it produced.

Usage: cargo qdev build [OPTIONS]

Options:
  -p, --package CRATE   the device crate [default: the one in the current directory]
  --release             an optimized build
  -h, --help            show this text
";

const CHECK_USAGE: &str = "\
cargo qdev check: the module validator

Says which QEMU version, package and architecture the module was built for,
whether it fits the QEMU binary, which QEMU functions it needs that the
binary does not export, and the device types it registers with their
properties, regions and registers. Exits 1 when the module does not fit.

Usage: cargo qdev check [OPTIONS] MODULE.so

Options:
  --qemu BINARY   QEMU binary to check against [default: $QDEV_QEMU or qemu-system-x86_64]
  -h, --help      show this text
";

const REGMAP_USAGE: &str = "\
cargo qdev regmap: export a device's register map

Asks the module itself (inside QEMU, without registering anything) for
its devices' registers, so the map is the one the model implements.

Usage: cargo qdev regmap [OPTIONS] MODULE.so

Options:
  --format md|c|svd  Markdown table, C header (offsets, field shifts and
                     masks, reset values) or CMSIS-SVD XML [default: md]
  --device NAME      the device type, when the module holds several
  --qemu BINARY      QEMU binary to ask through [default: $QDEV_QEMU or qemu-system-x86_64]
  -h, --help         show this text
";

/// Writes to standard output; a reader that went away (`cargo qdev check
/// X.so | head`) ends the program quietly, as for any Unix tool.
fn write_out(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cargo-qdev: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

macro_rules! outln {
    () => { write_out(format_args!(""), true) };
    ($($t:tt)*) => { write_out(format_args!($($t)*), true) };
}

macro_rules! out {
    ($($t:tt)*) => { write_out(format_args!($($t)*), false) };
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Invoked by cargo as `cargo-qdev qdev ...`.
    if args.first().map(String::as_str) == Some("qdev") {
        args.remove(0);
    }
    let result = match args.first().map(String::as_str) {
        Some("sdk") => cmd_sdk(&args[1..]),
        Some("run") => cmd_run(&args[1..]),
        Some("check") => cmd_check(&args[1..]),
        Some("new") => cmd_new(&args[1..]),
        Some("build") => cmd_build(&args[1..]),
        Some("regmap") => cmd_regmap(&args[1..]),
        Some("help") => {
            let text = match args.get(1).map(String::as_str) {
                Some("sdk") => SDK_USAGE,
                Some("run") => RUN_USAGE,
                Some("check") => CHECK_USAGE,
                Some("new") => NEW_USAGE,
                Some("build") => BUILD_USAGE,
                Some("regmap") => REGMAP_USAGE,
                _ => USAGE,
            };
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Some("-h" | "--help") | None => {
            out!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!(
            "unknown command `{other}`; `cargo qdev help` lists the commands"
        )),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Takes the value of an option that needs one.
fn value(args: &mut std::slice::Iter<'_, String>, opt: &str) -> Result<String, String> {
    args.next()
        .cloned()
        .ok_or_else(|| format!("{opt} needs a value"))
}

fn cmd_sdk(args: &[String]) -> Result<ExitCode, String> {
    let mut opts = SdkOptions {
        qemu: default_binary(),
        debian_version: None,
        source: Source::Debian,
        targets: sdk::DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect(),
        force: false,
    };
    let mut print = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--qemu" => opts.qemu = value(&mut it, arg)?.into(),
            "--debian-version" => opts.debian_version = Some(value(&mut it, arg)?),
            "--source-tarball" => opts.source = Source::Tarball(value(&mut it, arg)?.into()),
            "--source-dir" => opts.source = Source::Tree(value(&mut it, arg)?.into()),
            "--targets" => {
                opts.targets = value(&mut it, arg)?
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "--force" => opts.force = true,
            "--print-root" | "--print-pkg-config-path" => print = Some(arg.clone()),
            "-h" | "--help" => {
                out!("{SDK_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => {
                return Err(format!(
                    "cargo qdev sdk: unknown option `{other}`\n\n{SDK_USAGE}"
                ))
            }
        }
    }
    let sdk = sdk::ensure(&opts).map_err(|e| e.to_string())?;
    match print.as_deref() {
        Some("--print-root") => outln!("{}", sdk.root.display()),
        Some(_) => outln!("{}", sdk.pkg_config_dir().display()),
        None => {
            let m = &sdk.manifest;
            outln!("QEMU device SDK for QEMU {}", m.module_info().describe());
            outln!("  root:       {}", sdk.root.display());
            outln!("  host:       {}", m.host_arch);
            outln!("  targets:    {}", m.targets.join(","));
            outln!("  source:     {}", m.source);
            outln!(
                "  pkg-config: PKG_CONFIG_PATH={} pkg-config --cflags qemu-device",
                sdk.pkg_config_dir().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_run(args: &[String]) -> Result<ExitCode, String> {
    let mut qemu = default_binary();
    let mut modules: Vec<PathBuf> = Vec::new();
    let mut options = LaunchOptions::default();
    let mut print_command = false;
    let mut it = args.iter();
    let mut qemu_args: Vec<String> = Vec::new();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--qemu" => qemu = value(&mut it, arg)?.into(),
            "--module" => modules.push(value(&mut it, arg)?.into()),
            "--no-check" => options.no_check = true,
            "--print-command" => print_command = true,
            "-h" | "--help" => {
                out!("{RUN_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "--" => {
                qemu_args.extend(it.by_ref().cloned());
            }
            other => return Err(format!("cargo qdev run: unknown option `{other}` (QEMU's own arguments go after `--`)\n\n{RUN_USAGE}")),
        }
    }
    let qemu = QemuBinary::inspect(&qemu).map_err(|e| e.to_string())?;
    if print_command {
        outln!(
            "{}",
            launch::plain_command_line(&qemu, &modules, &qemu_args)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut cmd = launch::qemu_command(&qemu, &modules, &options).map_err(|e| e.to_string())?;
    cmd.args(&qemu_args);
    exec(cmd)
}

fn cmd_new(args: &[String]) -> Result<ExitCode, String> {
    use qdev_tool::new::{create, default_runtime_path, Bus};
    let mut bus = Bus::SysBus;
    let mut runtime = default_runtime_path();
    let mut name = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sysbus" => bus = Bus::SysBus,
            "--pci" => bus = Bus::Pci,
            "--runtime" => runtime = value(&mut it, arg)?.into(),
            "-h" | "--help" => {
                out!("{NEW_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            n if !n.starts_with('-') && name.is_none() => name = Some(n.to_string()),
            other => {
                return Err(format!(
                    "cargo qdev new: unexpected `{other}`\n\n{NEW_USAGE}"
                ))
            }
        }
    }
    let name =
        name.ok_or_else(|| format!("cargo qdev new: the device needs a name\n\n{NEW_USAGE}"))?;
    let dir = std::env::current_dir().map_err(|e| e.to_string())?;
    let root = create(&dir, &name, bus, &runtime).map_err(|e| e.to_string())?;
    outln!("created {}", root.display());
    outln!("  cd {name} && cargo test && cargo qdev build");
    Ok(ExitCode::SUCCESS)
}

fn cmd_build(args: &[String]) -> Result<ExitCode, String> {
    let mut cargo_args: Vec<String> = vec![
        "build".into(),
        "--message-format=json-render-diagnostics".into(),
    ];
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-p" | "--package" => {
                cargo_args.push("-p".into());
                cargo_args.push(value(&mut it, arg)?);
            }
            "--release" => cargo_args.push("--release".into()),
            "-h" | "--help" => {
                out!("{BUILD_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => {
                return Err(format!(
                    "cargo qdev build: unexpected `{other}`\n\n{BUILD_USAGE}"
                ))
            }
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(&cargo_args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err("the build failed (see above)".into());
    }
    // Each artifact is a JSON line; the modules are the `.so` filenames of
    // cdylib targets.
    let text = String::from_utf8_lossy(&out.stdout);
    let mut modules: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"cdylib\""))
        .filter_map(|l| l.split("\"filenames\":[").nth(1))
        .flat_map(|f| f.split(']').next().unwrap_or("").split(','))
        .map(|s| s.trim_matches('"'))
        .filter(|s| s.ends_with(".so"))
        .collect();
    modules.dedup();
    if modules.is_empty() {
        return Err("no module was built: is this a device crate (crate-type \"cdylib\")?".into());
    }
    for m in modules {
        outln!("{m}");
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_check(args: &[String]) -> Result<ExitCode, String> {
    let mut qemu = default_binary();
    let mut module = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--qemu" => qemu = value(&mut it, arg)?.into(),
            "-h" | "--help" => {
                out!("{CHECK_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            m if !m.starts_with('-') && module.is_none() => module = Some(PathBuf::from(m)),
            other => {
                return Err(format!(
                    "cargo qdev check: unexpected `{other}`\n\n{CHECK_USAGE}"
                ))
            }
        }
    }
    let module =
        module.ok_or_else(|| format!("cargo qdev check: which module?\n\n{CHECK_USAGE}"))?;
    let qemu = QemuBinary::inspect(&qemu).map_err(|e| e.to_string())?;
    let mut fits = true;
    outln!("module   {}", module.display());
    match qdev_tool::modinfo::ModuleInfo::read(&module).map_err(|e| e.to_string())? {
        Some(info) => outln!("built    for {info}"),
        None => outln!("built    for (no qdev build record)"),
    }
    outln!(
        "qemu     {} (QEMU {}, {} on {})",
        qemu.path.display(),
        qemu.describe(),
        qemu.target,
        qemu.host_arch
    );
    match launch::check_module(&qemu, &module) {
        Ok(_) => outln!("fits     yes"),
        Err(e) => {
            fits = false;
            outln!("fits     NO: {e}");
        }
    }
    match qdev_tool::describe::describe(&qemu, &module) {
        Ok(d) => {
            let missing = d.missing_symbols();
            outln!(
                "symbols  {} QEMU functions needed, {} missing{}",
                d.symbols.len(),
                missing.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(": {}", missing.join(", "))
                }
            );
            fits &= missing.is_empty();
            for dev in &d.devices {
                outln!("device   {} ({}): {}", dev.name, dev.bus, dev.description);
                for p in &dev.properties {
                    outln!(
                        "  property {} <{}> {} {}",
                        p.name,
                        p.ty,
                        p.detail,
                        p.description
                    );
                }
                for r in &dev.regions {
                    outln!(
                        "  region   {} {:#x} bytes ({}), {} registers",
                        r.name,
                        r.size,
                        r.kind,
                        r.registers.len()
                    );
                    for reg in &r.registers {
                        let arr = if reg.count > 1 {
                            format!("[{}]", reg.count)
                        } else {
                            String::new()
                        };
                        outln!(
                            "    {:#06x} {}{arr} {}-bit {} reset {:#x}",
                            reg.offset,
                            reg.name,
                            reg.width * 8,
                            reg.access(),
                            reg.reset
                        );
                    }
                }
            }
        }
        Err(e) => outln!("devices  unknown: {e}"),
    }
    Ok(if fits {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn cmd_regmap(args: &[String]) -> Result<ExitCode, String> {
    let mut qemu = default_binary();
    let mut module = None;
    let mut format = "md".to_string();
    let mut device = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--qemu" => qemu = value(&mut it, arg)?.into(),
            "--format" => format = value(&mut it, arg)?,
            "--device" => device = Some(value(&mut it, arg)?),
            "-h" | "--help" => {
                out!("{REGMAP_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            m if !m.starts_with('-') && module.is_none() => module = Some(PathBuf::from(m)),
            other => {
                return Err(format!(
                    "cargo qdev regmap: unexpected `{other}`\n\n{REGMAP_USAGE}"
                ))
            }
        }
    }
    let module =
        module.ok_or_else(|| format!("cargo qdev regmap: which module?\n\n{REGMAP_USAGE}"))?;
    let qemu = QemuBinary::inspect(&qemu).map_err(|e| e.to_string())?;
    let d = qdev_tool::describe::describe(&qemu, &module).map_err(|e| e.to_string())?;
    let names: Vec<&str> = d.devices.iter().map(|x| x.name.as_str()).collect();
    let dev = match &device {
        Some(n) => d.devices.iter().find(|x| &x.name == n).ok_or_else(|| {
            format!(
                "{} holds no device `{n}`; it holds: {}",
                module.display(),
                names.join(", ")
            )
        })?,
        None if d.devices.len() == 1 => &d.devices[0],
        None => {
            return Err(format!(
                "{} holds several devices ({}); pick one with --device NAME",
                module.display(),
                names.join(", ")
            ))
        }
    };
    let text = match format.as_str() {
        "md" | "markdown" => qdev_tool::regmap::markdown(dev),
        "c" | "h" => qdev_tool::regmap::c_header(dev),
        "svd" => qdev_tool::regmap::svd(dev),
        other => return Err(format!("unknown format `{other}`: md, c or svd")),
    };
    out!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Replaces this process with QEMU, so its exit status and signals are
/// QEMU's own.
fn exec(mut cmd: std::process::Command) -> Result<ExitCode, String> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(format!("cannot start {:?}: {err}", cmd.get_program()))
}
