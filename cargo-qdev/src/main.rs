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
  sdk    Build (once) the QEMU device SDK for the installed QEMU and print where it is
  run    Run the stock QEMU with modules loaded
  help   Show this text, or `cargo qdev help <COMMAND>`
";

const SDK_USAGE: &str = "\
cargo qdev sdk: build the QEMU device SDK for one exact QEMU binary

Finds the binary's version, fetches the matching source (Debian's source
package by default), configures it with modules enabled, generates the
headers a module needs and installs them, with a pkg-config file and a
manifest, under ~/.cache/qdev/sdk/. A second run is a no-op.

Usage: cargo qdev sdk [OPTIONS]

Options:
  --qemu BINARY            QEMU binary the SDK is for [default: $QDEV_QEMU or qemu-system-x86_64]
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

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Invoked by cargo as `cargo-qdev qdev ...`.
    if args.first().map(String::as_str) == Some("qdev") {
        args.remove(0);
    }
    let result = match args.first().map(String::as_str) {
        Some("sdk") => cmd_sdk(&args[1..]),
        Some("run") => cmd_run(&args[1..]),
        Some("help") => {
            let text = match args.get(1).map(String::as_str) {
                Some("sdk") => SDK_USAGE,
                Some("run") => RUN_USAGE,
                _ => USAGE,
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
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
        source: Source::Debian,
        targets: sdk::DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect(),
        force: false,
    };
    let mut print = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--qemu" => opts.qemu = value(&mut it, arg)?.into(),
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
                print!("{SDK_USAGE}");
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
        Some("--print-root") => println!("{}", sdk.root.display()),
        Some(_) => println!("{}", sdk.pkg_config_dir().display()),
        None => {
            let m = &sdk.manifest;
            println!("QEMU device SDK for QEMU {}", m.module_info().describe());
            println!("  root:       {}", sdk.root.display());
            println!("  host:       {}", m.host_arch);
            println!("  targets:    {}", m.targets.join(","));
            println!("  source:     {}", m.source);
            println!(
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
                print!("{RUN_USAGE}");
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
        println!(
            "{}",
            launch::plain_command_line(&qemu, &modules, &qemu_args)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut cmd = launch::qemu_command(&qemu, &modules, &options).map_err(|e| e.to_string())?;
    cmd.args(&qemu_args);
    exec(cmd)
}

/// Replaces this process with QEMU, so its exit status and signals are
/// QEMU's own.
fn exec(mut cmd: std::process::Command) -> Result<ExitCode, String> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(format!("cannot start {:?}: {err}", cmd.get_program()))
}
