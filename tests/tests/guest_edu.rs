// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-edu` seen from inside a real Linux guest (Debian's kernel, busybox)
//! booted under TCG in the stock QEMU: the device enumerates on `q35` and `pc`,
//! and unmodified Linux and busybox tools reach its registers through sysfs and
//! `/dev/mem`; a static C program does DMA through guest RAM and waits for
//! the completion interrupt through `uio_pci_generic`. The last tests check
//! the guest harness itself: exit status, files, a kernel panic, a timeout.

use std::time::{Duration, Instant};

use qdev_tests::guest::{Guest, GuestErrorKind, GuestFile, GuestRun};
use qdev_tests::modules::rust_module;

const EDU_SCRIPT: &str = include_str!("../guest/edu.sh");

fn run(builder: qdev_tests::guest::GuestBuilder) -> GuestRun {
    let run = builder.run().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "guest run: {:.1} s in QEMU, {:.1} s in all",
        run.boot_time.as_secs_f64(),
        run.elapsed.as_secs_f64()
    );
    eprintln!("--- guest output ---\n{}", run.output.trim_end());
    run.assert_success();
    run
}

#[test]
fn edu_registers_from_a_linux_guest_on_q35() {
    edu_registers("q35");
}

#[test]
fn edu_registers_from_a_linux_guest_on_pc() {
    edu_registers("pc");
}

fn edu_registers(machine: &str) {
    let run = run(Guest::builder()
        .machine(machine)
        .module(rust_module("qdev-edu").unwrap())
        .device("qdev-edu")
        .log("guest_errors")
        .script(EDU_SCRIPT)
        .timeout(Duration::from_secs(60)));
    let v = |key: &str| {
        run.value(key)
            .unwrap_or_else(|| panic!("no {key}= in the guest's output:\n{}", run.output))
    };
    assert_eq!(v("vendor"), "0x1234");
    assert_eq!(v("device"), "0x11e8");
    assert_eq!(v("class"), "0x00ff00");
    assert_eq!(v("revision"), "0x10");
    assert_eq!(v("bar0_size"), "0x100000");
    assert_eq!(
        u32::from_str_radix(&v("command")[2..], 16).unwrap() & 0x2,
        0x2
    );
    let command_off = u32::from_str_radix(&v("command_off")[2..], 16).unwrap();
    assert_eq!(command_off & 0x2, 0, "memory decoding off");
    // QEMU answers 0 where nothing decodes (real hardware: all ones).
    assert_ne!(
        v("id_off"),
        "0x010000ed",
        "no answer without memory decoding"
    );
    assert_eq!(v("id"), "0x010000ed");
    assert_eq!(v("liveness"), "0xedcba987");
    assert_eq!(v("liveness0"), "0xffffffff");
    assert_eq!(v("fact0"), "1");
    assert_eq!(v("fact1"), "1");
    assert_eq!(v("fact5"), "120");
    assert_eq!(v("fact10"), "3628800");
    assert_eq!(v("fact12"), "479001600");
    assert_eq!(v("irq_status_raised"), "0x00000042");
    assert_eq!(v("irq_status_acked"), "0x00000000");
    assert_eq!(v("done"), "1");
    assert!(
        run.console.contains("Linux version"),
        "the console holds the kernel's log"
    );
}

/// Finds edu, binds `uio_pci_generic` to it, and runs `edu-dma`
/// (tests/guest/edu-dma.c) on it.
const DMA_SCRIPT: &str = r#"set -eu
dev=
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then dev=$d; fi
done
[ -n "$dev" ] || { echo "no edu device"; exit 1; }
echo "1234 11e8" > /sys/bus/pci/drivers/uio_pci_generic/new_id
uio=$(ls "$dev/uio")
echo "uio=$uio"
echo "driver=$(basename "$(readlink "$dev/driver")")"
/bin/edu-dma "$dev" "/dev/$uio"
grep uio_pci_generic /proc/interrupts || true
"#;

#[test]
fn edu_dma_and_interrupt_from_a_linux_guest() {
    let assets = qdev_tests::guest::assets().unwrap();
    let run = run(Guest::builder()
        .machine("q35")
        .module(rust_module("qdev-edu").unwrap())
        .device("qdev-edu")
        .log("guest_errors")
        .kernel_modules(["uio_pci_generic"])
        .file("/bin/edu-dma", assets.program("edu-dma").unwrap())
        .script(DMA_SCRIPT)
        .timeout(Duration::from_secs(60)));
    let v = |key: &str| {
        run.value(key)
            .unwrap_or_else(|| panic!("no {key}= in the guest's output:\n{}", run.output))
    };
    assert_eq!(v("uio"), "uio0");
    assert_eq!(v("driver"), "uio_pci_generic");
    assert_eq!(v("id"), "0x010000ed");
    let command = u32::from_str_radix(&v("command")[2..], 16).unwrap();
    assert_eq!(command & 0x6, 0x6, "memory decoding and bus mastering");
    assert_eq!(v("dma_match"), "1");
    assert!(v("dma_irq_count").parse::<u32>().unwrap() >= 1);
    assert_eq!(v("dma_irq_status"), "0x100");
    assert_eq!(v("irq_status_acked"), "0x0");
    assert_eq!(v("raise_irq_count"), "1");
    assert_eq!(v("raise_irq_status"), "0x5a");
    assert_eq!(v("edu_dma_done"), "1");
}

// ----- the guest harness itself -----

#[test]
fn guest_reports_exit_status_output_and_files() {
    let host_file = qdev_tests::modules::workspace_root().join("Cargo.toml");
    let host_len = std::fs::metadata(&host_file).unwrap().len();
    let run = Guest::builder()
        .files([
            ("/etc/greeting", GuestFile::text("hello from the host\n")),
            ("/data/deep/Cargo.toml", GuestFile::host(&host_file)),
        ])
        .file("/bin/hello.sh", b"#!/bin/sh\necho hello.sh ran\n")
        // Built in (CONFIG_SERIAL_8250=y): accepted and skipped.
        .kernel_modules(["8250"])
        .script(
            "cat /etc/greeting\n\
             echo size=$(wc -c < /data/deep/Cargo.toml)\n\
             hello.sh\n\
             echo to-stderr >&2\n\
             printf 'no newline at the end'\n\
             exit 3\n",
        )
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.exit_code, 3);
    assert_eq!(
        run.output,
        format!(
            "hello from the host\nsize={host_len}\nhello.sh ran\nto-stderr\nno newline at the end"
        )
    );
    assert!(run
        .console
        .contains("qdev-guest: the test script exited with status 3"));
}

#[test]
fn a_kernel_panic_is_an_error_with_the_console() {
    let err = Guest::builder()
        .script("echo about to panic; echo c > /proc/sysrq-trigger; sleep 60")
        .run()
        .expect_err("the guest panics");
    assert!(matches!(err.kind(), GuestErrorKind::NoResult(_)), "{err}");
    assert!(err.output().contains("about to panic"), "{err}");
    assert!(err.console().contains("Kernel panic"), "{err}");
    assert!(err.to_string().contains("--- guest console (ttyS0) ---"));
}

#[test]
fn a_guest_that_does_not_finish_is_killed_at_the_timeout() {
    let started = Instant::now();
    let err = Guest::builder()
        .script("echo sleeping; sleep 600")
        .timeout(Duration::from_secs(8))
        .run()
        .expect_err("the script outlives the timeout");
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "{err}");
    let text = err.to_string();
    assert!(text.contains("within 8s"), "{text}");
    assert!(text.contains("guest console"), "{text}");
}

#[test]
fn an_unknown_kernel_module_is_refused_before_boot() {
    let err = Guest::builder()
        .kernel_modules(["no_such_module"])
        .run()
        .expect_err("no such module");
    assert!(matches!(err.kind(), GuestErrorKind::Setup(_)), "{err}");
    assert!(err.to_string().contains("\"no_such_module\""), "{err}");
}
