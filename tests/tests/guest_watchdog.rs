// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-i6300esb` seen from inside a real Linux guest (Debian's kernel,
//! busybox) booted under TCG in the stock QEMU: the guest loads Linux's
//! `i6300esb` driver with a 2-second heartbeat, the driver finds the device,
//! busybox's `watchdog` daemon keeps the machine alive for three heartbeats,
//! and once the daemon is killed (no magic close) the machine's watchdog
//! action follows within the heartbeat, observed from the host: QMP's
//! `WATCHDOG` event, then QEMU exiting (`-no-reboot`) without the guest
//! reporting again.
//!
//! The host times the guest through a third serial port (ttyS2, a socket
//! chardev) on which the guest writes `pinging` and `stopping`, and reads
//! QMP events on a monitor socket, each stamped as it arrives.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use qdev_tests::guest::{Guest, GuestErrorKind};
use qdev_tests::host::{retry_read, HostSocket};
use qdev_tests::modules::rust_module;
use qdev_tests::Json;

const WATCHDOG_SCRIPT: &str = include_str!("../guest/watchdog.sh");

/// The heartbeat the guest gives the driver (`heartbeat=`) and sets again
/// through `WDIOC_SETTIMEOUT` (busybox `watchdog -T`), in seconds.
const HEARTBEAT: u64 = 2;
/// How long the daemon feeds the watchdog before it is killed: three
/// heartbeats, so an unfed watchdog would have fired.
const PING_FOR: u64 = 3 * HEARTBEAT;

/// Lines read from a socket, each with the moment it arrived.
type Stamped<T> = Vec<(Instant, T)>;

/// Connects to a socket QEMU listens on (`wait=off`), retrying while QEMU
/// starts, until `deadline` or until `gone` says the run is over.
fn connect(sock: &HostSocket, deadline: Instant, gone: &AtomicBool) -> io::Result<UnixStream> {
    loop {
        match sock.connect(Duration::from_millis(500)) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline || gone.load(Ordering::Relaxed) => return Err(e),
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Reads lines until end-of-file (QEMU exited) or `deadline`, stamping
/// each; `first` is written once connected.
fn read_lines(
    sock: &HostSocket,
    first: Option<&[u8]>,
    deadline: Instant,
    gone: &AtomicBool,
) -> io::Result<Stamped<String>> {
    let mut s = connect(sock, deadline, gone)?;
    if let Some(first) = first {
        s.write_all(first)?;
    }
    let mut reader = BufReader::new(s);
    let mut lines = Vec::new();
    let mut line = Vec::new();
    while Instant::now() < deadline {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) if line.ends_with(b"\n") => {
                let text = String::from_utf8_lossy(&line).trim().to_string();
                lines.push((Instant::now(), text));
                line.clear();
            }
            Ok(_) => {}
            Err(e) if retry_read(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(lines)
}

/// The QMP events among `lines`: (arrival, name, data).
fn qmp_events(lines: &Stamped<String>) -> Vec<(Instant, String, Json)> {
    lines
        .iter()
        .filter_map(|(at, l)| {
            let msg = Json::parse(l).ok()?;
            let name = msg.get("event")?.as_str()?.to_string();
            let data = msg.get("data").cloned().unwrap_or(Json::Null);
            Some((*at, name, data))
        })
        .collect()
}

#[test]
fn a_fed_watchdog_keeps_the_guest_running_and_a_starved_one_resets_it() {
    starved_watchdog("reset", Some("guest-reset"));
}

#[test]
fn a_starved_watchdog_powers_the_guest_off_when_so_configured() {
    // QEMU's poweroff action exits at once, with no SHUTDOWN event.
    starved_watchdog("poweroff", None);
}

/// Runs tests/guest/watchdog.sh with `-action watchdog=ACTION` and checks the
/// run from both ends; `reason` is the reason of the `SHUTDOWN` event that
/// makes QEMU exit (`-no-reboot` turns a reset into an exit), if any.
fn starved_watchdog(action: &str, reason: Option<&str>) {
    let assets = qdev_tests::guest::assets().unwrap();
    let ko = "kernel/drivers/watchdog/i6300esb.ko";
    let qmp = HostSocket::new("guest-wdt-qmp");
    let signal = HostSocket::new("guest-wdt-signal");
    let timeout = Duration::from_secs(55);
    let started = Instant::now();
    let deadline = started + timeout;

    let gone = AtomicBool::new(false);
    let (run, qmp_lines, signals, exited) = thread::scope(|scope| {
        let qmp_reader = scope.spawn(|| {
            read_lines(
                &qmp,
                Some(b"{\"execute\": \"qmp_capabilities\"}\n"),
                deadline,
                &gone,
            )
        });
        let signal_reader = scope.spawn(|| read_lines(&signal, None, deadline, &gone));
        let run = Guest::builder()
            .machine("q35")
            .module(rust_module("qdev-i6300esb").unwrap())
            .device("qdev-i6300esb")
            .args(["-action", &format!("watchdog={action}")])
            .args(["-chardev", &qmp.chardev_arg("qmp")])
            .args(["-mon", "chardev=qmp,mode=control"])
            // The third ISA port, ttyS2: the guest's signals.
            .args(["-chardev", &signal.chardev_arg("signal")])
            .args(["-serial", "chardev:signal"])
            .kernel_modules(["watchdog"])
            .file(
                format!("/lib/modules/{}/{ko}", assets.kernel_version),
                assets.modules.join(ko),
            )
            .script(format!(
                "HEARTBEAT={HEARTBEAT} PING_FOR={PING_FOR}\n{WATCHDOG_SCRIPT}"
            ))
            .log("guest_errors")
            .timeout(timeout)
            .run();
        let exited = Instant::now();
        gone.store(true, Ordering::Relaxed);
        (
            run,
            qmp_reader.join().expect("the QMP reader panicked"),
            signal_reader.join().expect("the signal reader panicked"),
            exited,
        )
    });

    // The guest never reports an exit status: the watchdog ends the machine
    // first, and QEMU exits.
    let err = match run {
        Ok(run) => panic!(
            "the guest outlived its starved watchdog (script exit {}):\n{}\n--- console ---\n{}",
            run.exit_code, run.output, run.console
        ),
        Err(e) => e,
    };
    let status = match err.kind() {
        GuestErrorKind::NoResult(status) => *status,
        _ => panic!("{err}"),
    };
    let output = err.output().to_string();
    eprintln!("command: {}", err.command_line());
    eprintln!("--- guest output ---\n{}", output.trim_end());
    let qmp_lines = qmp_lines.unwrap_or_else(|e| panic!("QMP: {e}\n{err}"));
    let signals = signals.unwrap_or_else(|e| panic!("signal port: {e}\n{err}"));
    let events = qmp_events(&qmp_lines);
    let value = |key: &str| {
        output
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key}= in the guest's output\n{err}"))
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "QEMU exits cleanly ({status:?})\n{err}"
    );

    // The driver found and drives the device.
    assert_eq!(value("class"), "0x088000");
    // The PCI driver's name is the module's ESB_MODULE_NAME.
    assert_eq!(value("driver"), "i6300ESB timer");
    assert_eq!(value("identity"), "i6300ESB timer");
    let probed = format!(
        "i6300ESB timer {}: initialized. heartbeat={HEARTBEAT} sec (nowayout=0)",
        value("bdf")
    );
    assert!(
        output.contains(&probed),
        "the driver's probe message {probed:?}\n{err}"
    );
    assert_eq!(value("state_before"), "inactive");
    assert_eq!(value("timeout_before"), HEARTBEAT.to_string());
    assert_eq!(value("state_pinging"), "active");
    assert_eq!(value("timeout_pinging"), HEARTBEAT.to_string());

    // Fed, it kept quiet: the guest ran on for three heartbeats.
    assert_eq!(value("state_still"), "active");
    assert_eq!(value("alive_after_pinging"), PING_FOR.to_string());
    assert_eq!(value("stopped"), "1");
    assert!(!output.contains("survived="), "{err}");

    // From the host: the signals, then the WATCHDOG event, then the exit.
    let at = |name: &str| {
        signals
            .iter()
            .find(|(_, l)| l == name)
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("no {name:?} on the signal port: {signals:?}\n{err}"))
    };
    let pinging = at("pinging");
    let stopping = at("stopping");
    let watchdog: Vec<_> = events.iter().filter(|(_, n, _)| n == "WATCHDOG").collect();
    assert_eq!(watchdog.len(), 1, "one WATCHDOG event: {events:?}\n{err}");
    let (fired, _, data) = watchdog[0];
    assert_eq!(data["action"].as_str(), Some(action), "{data:?}");
    assert!(
        *fired > stopping,
        "the watchdog fired {:?} before the daemon stopped\n{err}",
        stopping.duration_since(*fired)
    );
    let fed_for = stopping.duration_since(pinging);
    let starved_for = fired.duration_since(stopping);
    let exit_after = exited.duration_since(*fired);
    eprintln!(
        "watchdog={action}: boot to feeding {:.2} s, fed for {:.2} s, fired {:.2} s after the \
         daemon was killed (heartbeat {HEARTBEAT} s), QEMU gone {:.2} s later, {:.1} s in all",
        pinging.duration_since(started).as_secs_f64(),
        fed_for.as_secs_f64(),
        starved_for.as_secs_f64(),
        exit_after.as_secs_f64(),
        exited.duration_since(started).as_secs_f64()
    );
    // (The guest slept PING_FOR seconds of its own clock in between.)
    assert!(
        fed_for >= Duration::from_secs(PING_FOR) - Duration::from_millis(500),
        "fed for {fed_for:?} only"
    );
    // The kernel pings once more when the device is closed without the magic
    // 'V'; from then on both stages (a heartbeat) run out.
    let heartbeat = Duration::from_secs(HEARTBEAT);
    assert!(
        starved_for >= heartbeat / 2,
        "fired {starved_for:?} after the daemon was killed, heartbeat {heartbeat:?}"
    );
    assert!(
        starved_for <= 2 * heartbeat + Duration::from_secs(2),
        "fired {starved_for:?} after the daemon was killed, heartbeat {heartbeat:?}"
    );
    let shutdown = events.iter().find(|(_, n, _)| n == "SHUTDOWN");
    assert_eq!(
        shutdown.map(|(_, _, data)| data["reason"].as_str()),
        reason.map(Some),
        "the SHUTDOWN event: {events:?}"
    );
    if let Some((at, _, _)) = shutdown {
        assert!(at >= fired);
    }
    assert!(
        exit_after < Duration::from_secs(5),
        "QEMU exited {exit_after:?} after the WATCHDOG event"
    );

    // The guest's side of it: an unclean close, no panic.
    let console = err.console();
    assert!(
        console.contains("watchdog did not stop!"),
        "the kernel's warning on the unclean close\n{err}"
    );
    assert!(!console.contains("Kernel panic"), "{err}");
}
