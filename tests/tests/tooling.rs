// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo qdev check` (the module validator) and `cargo qdev regmap`,
//! against real modules and the stock QEMU.

use std::process::Command;

use qdev_tests::modules::{rust_module, tool_binary, with_claimed_version};

fn tool(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(tool_binary().unwrap())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_reports_a_fitting_module_and_what_it_holds() {
    let module = rust_module("qdev-gpio").unwrap();
    let (code, out, err) = tool(&["check", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("fits     yes"), "{out}");
    assert!(out.contains("QEMU functions needed, 0 missing"), "{out}");
    assert!(
        out.contains("device   qdev-gpio (sysbus): qdev example GPIO controller"),
        "{out}"
    );
    assert!(
        out.contains("property ngpio <u32> default=8 min=1 max=8"),
        "{out}"
    );
    assert!(
        out.contains("region   info 0x10 bytes (mmio), 1 registers"),
        "{out}"
    );
    assert!(out.contains("0x0010 CTRL 32-bit mixed reset 0x0"), "{out}");
    assert!(
        out.contains("0x0020 PIN_CFG[8] 32-bit rw reset 0x0"),
        "{out}"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `cargo qdev check X.so | head -1`: the reader leaves after one line.
    let module = rust_module("qdev-gpio").unwrap();
    let mut child = Command::new(tool_binary().unwrap())
        .args(["check", module.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // nobody reads
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn check_refuses_a_module_for_another_qemu_but_still_describes_it() {
    let module = with_claimed_version(&rust_module("qdev-edu").unwrap(), "10.0.9").unwrap();
    let (code, out, _) = tool(&["check", module.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fits     NO: "), "{out}");
    assert!(out.contains("was built for QEMU 10.0.9"), "{out}");
    assert!(
        out.contains("device   qdev-edu (pci vendor=0x1234 device=0x11e8"),
        "{out}"
    );
}

#[test]
fn regmap_c_header_compiles_with_the_right_values() {
    let module = rust_module("qdev-gpio").unwrap();
    let (code, header, err) = tool(&["regmap", "--format", "c", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let dir = std::env::temp_dir().join(format!("qdev-regmap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gpio.h"), &header).unwrap();
    std::fs::write(
        dir.join("check.c"),
        "#include \"gpio.h\"\n\
         _Static_assert(QDEV_GPIO_REGS_CTRL == 0x10, \"CTRL\");\n\
         _Static_assert(QDEV_GPIO_REGS_CTRL_INVERT_MASK == 0x2, \"INVERT\");\n\
         _Static_assert(QDEV_GPIO_REGS_PIN_CFG(3) == 0x2c, \"PIN_CFG[3]\");\n\
         _Static_assert(QDEV_GPIO_REGS_PIN_CFG_EDGE_SHIFT == 0, \"EDGE\");\n\
         _Static_assert(QDEV_GPIO_REGS_VERSION_RESET == 0x10000, \"VERSION\");\n\
         _Static_assert(QDEV_GPIO_REGS_SCRATCH_WIDTH == 8, \"SCRATCH\");\n\
         _Static_assert(QDEV_GPIO_INFO_LABEL(1) == 0x4, \"LABEL\");\n",
    )
    .unwrap();
    let status = Command::new("gcc")
        .args(["-fsyntax-only", "-std=c11"])
        .arg(dir.join("check.c"))
        .status()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(status.success(), "the generated header:\n{header}");
}

#[test]
fn regmap_markdown_and_svd() {
    let module = rust_module("qdev-i6300esb").unwrap();
    let (_, md, _) = tool(&["regmap", module.to_str().unwrap()]);
    assert!(md.contains("## Region `cfg` (0x100 bytes, config)"), "{md}");
    assert!(md.contains("| 0x068 | ESB_LOCK | 8 |"), "{md}");
    let (code, svd, err) = tool(&["regmap", "--format", "svd", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let file = std::env::temp_dir().join(format!("qdev-{}.svd", std::process::id()));
    std::fs::write(&file, &svd).unwrap();
    let parsed = Command::new("python3")
        .args(["-c", "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(len(d.getElementsByTagName('register')))"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(parsed.status.success(), "not well-formed XML:\n{svd}");
    // TIMER1, TIMER2, GINTSR, RELOAD in BAR 0; ESB_CONFIG, ESB_LOCK in config space.
    assert_eq!(String::from_utf8_lossy(&parsed.stdout).trim(), "6", "{svd}");
}

#[test]
fn regmap_asks_which_device_when_a_module_holds_several() {
    let module = rust_module("qdev-fixture-two-devices").unwrap();
    let (code, _, err) = tool(&["regmap", module.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("holds several devices"), "{err}");
    assert!(
        err.contains("fixture-sysbus") && err.contains("fixture-pci"),
        "{err}"
    );
    let (code, md, _) = tool(&[
        "regmap",
        "--device",
        "fixture-pci",
        module.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(md.contains("# fixture-pci"), "{md}");
}

/// `cargo qdev new` then `cargo test` and `cargo qdev build` in the new
/// crate, then the module in QEMU; returns the module.
fn new_crate_builds_tests_and_loads(name: &str, bus: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("qdev-new-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(tool_binary().unwrap())
        .args(["new", name, bus])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let krate = dir.join(name);
    // Share the workspace's target directory: the dependencies are built.
    let target = qdev_tests::modules::target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let test = Command::new(&cargo)
        .args(["test", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "the generated crate's tests fail:\n{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    let build = Command::new(tool_binary().unwrap())
        .arg("build")
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let module = std::path::PathBuf::from(String::from_utf8_lossy(&build.stdout).trim());
    assert!(
        module.ends_with(format!("lib{}.so", name.replace('-', "_"))),
        "{module:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    module
}

#[test]
fn new_sysbus_crate_runs_in_qemu_as_generated() {
    let module = new_crate_builds_tests_and_loads("tpl-sysbus", "--sysbus");
    let q = qdev_tests::Qemu::builder()
        .machine("pc")
        .module(&module)
        .device("tpl-sysbus,mmio=0xfed05000,irq=7")
        .start()
        .unwrap();
    assert_eq!(q.readl(0xfed0_5000).unwrap(), 0x1d);
    q.irq_intercept_in("ioapic").unwrap();
    q.writel(0xfed0_5004, 1).unwrap();
    q.writel(0xfed0_500c, 1).unwrap();
    assert!(q.irq_level(7));
}

#[test]
fn new_pci_crate_runs_in_qemu_as_generated() {
    let module = new_crate_builds_tests_and_loads("tpl-pci", "--pci");
    let q = qdev_tests::Qemu::builder()
        .machine("q35")
        .module(&module)
        .device("tpl-pci")
        .start()
        .unwrap();
    let f = q.pci_find(0x1234, 0x0001).unwrap().expect("enumerates");
    let bar = q.pci_map_bar(&f, 0, 0xfe00_0000).unwrap();
    assert_eq!(bar.readl(0x00).unwrap(), 0x1d);
}

/// The documented way to stop in a device's Rust method under gdb while it
/// runs inside QEMU (docs/testing.md, "Debugging with gdb").
#[test]
fn gdb_stops_in_a_device_method_inside_qemu() {
    let module = rust_module("qdev-gpio").unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set startup-with-shell off"])
        .args(["-ex", "set breakpoint pending on"])
        .args([
            "-ex",
            &format!("set environment LD_PRELOAD={}", module.display()),
        ])
        .args(["-ex", "break qdev_gpio::Gpio::after_reset"])
        .args(["-ex", "run"])
        .args(["-ex", "bt 2"])
        .args(["-ex", "print self.ngpio"])
        .args(["-ex", "kill"])
        .args([
            "--args",
            "qemu-system-x86_64",
            "-M",
            "pc",
            "-S",
            "-display",
            "none",
        ])
        .args(["-nodefaults", "-device", "qdev-gpio,ngpio=5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hit Breakpoint 1, qdev_gpio::Gpio::after_reset"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("devices/qdev-gpio/src/lib.rs"), "{text}");
    assert!(
        text.contains("$1 = 5"),
        "the property's value, read by gdb: {text}"
    );
}

#[test]
fn regmap_c_header_of_the_pl011_matches_the_device() {
    let module = rust_module("qdev-pl011").unwrap();
    let (code, header, err) = tool(&["regmap", "--format", "c", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let dir = std::env::temp_dir().join(format!("qdev-regmap-pl011-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pl011.h"), &header).unwrap();
    std::fs::write(
        dir.join("check.c"),
        "#include \"pl011.h\"\n\
         _Static_assert(QDEV_PL011_REGS_DR == 0x000, \"DR\");\n\
         _Static_assert(QDEV_PL011_REGS_FR == 0x018, \"FR\");\n\
         _Static_assert(QDEV_PL011_REGS_IBRD == 0x024, \"IBRD\");\n\
         _Static_assert(QDEV_PL011_REGS_LCR_H == 0x02c, \"LCR_H\");\n\
         _Static_assert(QDEV_PL011_REGS_LCR_H_FEN_SHIFT == 4, \"FEN\");\n\
         _Static_assert(QDEV_PL011_REGS_LCR_H_WLEN_MASK == 0x60, \"WLEN\");\n\
         _Static_assert(QDEV_PL011_REGS_CR_RESET == 0x300, \"CR reset\");\n\
         _Static_assert(QDEV_PL011_REGS_CR_RXE_MASK == 0x200, \"RXE\");\n\
         _Static_assert(QDEV_PL011_REGS_IMSC == 0x038, \"IMSC\");\n\
         _Static_assert(QDEV_PL011_REGS_ICR == 0x044, \"ICR\");\n\
         _Static_assert(QDEV_PL011_REGS_ID(0) == 0xfe0 && QDEV_PL011_REGS_ID_COUNT == 8, \"ID\");\n\
         int main(void) { return 0; }\n",
    )
    .unwrap();
    let status = Command::new("gcc")
        .args(["-std=c11", "-o"])
        .arg(dir.join("check"))
        .arg(dir.join("check.c"))
        .status()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(status.success(), "the PL011 header:\n{header}");
}

/// docs/tutorial.md, command by command (with the tool binary standing for
/// the installed `cargo qdev`).
#[test]
fn tutorial_word_for_word() {
    let dir = std::env::temp_dir().join(format!("qdev-tutorial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = qdev_tests::modules::target_dir();
    let qdev = tool_binary().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let run = |cmd: &mut Command| {
        let out = cmd.env("CARGO_TARGET_DIR", &target).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // 1. cargo qdev new demo-dev --pci; cd demo-dev
    let created = run(Command::new(&qdev)
        .args(["new", "demo-dev", "--pci"])
        .current_dir(&dir));
    assert!(created.starts_with("created "), "{created}");
    let krate = dir.join("demo-dev");
    // 2. cargo test
    let tested = run(Command::new(&cargo).arg("test").current_dir(&krate));
    assert!(tested.contains("test result: ok. 2 passed"), "{tested}");
    // 3. cargo qdev build; cargo qdev check
    let built = run(Command::new(&qdev).arg("build").current_dir(&krate));
    let module = built.trim().to_string();
    let checked = run(Command::new(&qdev)
        .args(["check", &module])
        .current_dir(&krate));
    assert!(checked.contains("fits     yes"), "{checked}");
    assert!(
        checked.contains("0x0000 ID 32-bit ro reset 0x1d"),
        "{checked}"
    );
    // 4. the qtest session on stdin
    let script = "outl 0xcf8 0x80000810\noutl 0xcfc 0xfe000000\noutl 0xcf8 0x80000804\n\
                  outw 0xcfc 0x0002\nreadl 0xfe000000\n";
    // `cargo qdev run` execs QEMU: the child is QEMU itself, killed below.
    let mut child = Command::new(&qdev)
        .args([
            "run", "--module", &module, "--", "-M", "q35", "-S", "-display", "none",
        ])
        .args([
            "-nodefaults",
            "-qtest",
            "stdio",
            "-qtest-log",
            "none",
            "-device",
            "demo-dev",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let replies = {
        use std::io::{BufRead, BufReader, Write};
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(script.as_bytes()).unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let replies: Vec<String> = (0..5)
            .map_while(|_| rx.recv_timeout(std::time::Duration::from_secs(30)).ok())
            .collect();
        drop(stdin);
        replies
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        replies.last().map(String::as_str),
        Some("OK 0x000000000000001d"),
        "{replies:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
