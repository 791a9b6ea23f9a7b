// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-16550` seen from inside a real Linux guest (Debian's kernel, busybox)
//! booted under TCG in the stock QEMU: Linux's built-in `8250_pci` binds the
//! UART by its class code, the kernel's console runs on it (the boot log
//! reaches the host through the device's socket chardev), and busybox's `dd`
//! and `cat` move 64 KiB of random bytes each way through its tty in raw
//! mode, interrupt-driven, with equal SHA-256 sums on both ends.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use qdev_tests::guest::{Guest, GuestRun};
use qdev_tests::host::{pattern, retry_read, HostSocket};
use qdev_tests::modules::rust_module;

const UART_SCRIPT: &str = include_str!("../guest/uart.sh");

/// Bytes moved each way (the script's `LEN`).
const LEN: usize = 64 * 1024;
/// With `8250.nr_uarts=8` the four legacy ISA slots (ttyS0-3) stay apart and
/// the PCI UART is the first free port. (Debian's default of 4 run-time
/// ports would make it ttyS2, in place of the absent ISA port at 0x3e8.)
const TTY: &str = "ttyS4";
const RX_READY: &[u8] = b"<<qdev-uart-rx-ready>>\n";
const TX_BEGIN: &[u8] = b"<<qdev-uart-tx-begin>>\n";
const ACK: &[u8] = b"ACK!";

/// What the host saw on the UART's chardev.
#[derive(Default)]
struct HostSide {
    /// Everything before the first marker: the kernel's log (the console).
    boot_log: Vec<u8>,
    /// What came between the two transfers (nothing, or stray output).
    between: Vec<u8>,
    /// The guest-to-host transfer.
    received: Vec<u8>,
    /// Everything after it, up to QEMU's exit (the init's last words).
    tail: Vec<u8>,
    rx_time: Duration,
    tx_time: Duration,
    /// Where the exchange stopped, when it did not finish.
    error: Option<String>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads from `s` into `buf` until it holds `marker`; returns what came
/// before the marker and leaves what came after it in `buf`.
fn read_until(
    s: &mut UnixStream,
    buf: &mut Vec<u8>,
    marker: &[u8],
    deadline: Instant,
) -> io::Result<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(at) = find(buf, marker) {
            let before = buf[..at].to_vec();
            buf.drain(..at + marker.len());
            return Ok(before);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no {:?} yet", String::from_utf8_lossy(marker)),
            ));
        }
        match s.read(&mut chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the chardev closed before {:?}",
                        String::from_utf8_lossy(marker)
                    ),
                ))
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if retry_read(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The host's end of the exchange `tests/guest/uart.sh` describes. Errors
/// end it early and are kept in [`HostSide::error`] (the guest run then
/// fails on its own, and its error says more). `gone` tells it that the
/// run is over (QEMU may never have started).
fn host_side(sock: &HostSocket, data: &[u8], deadline: Instant, gone: &AtomicBool) -> HostSide {
    let mut side = HostSide::default();
    let mut buf = Vec::new();
    let result = (|| -> io::Result<()> {
        // QEMU (wait=on) starts the machine once this connects.
        let mut s = loop {
            match sock.connect(Duration::from_millis(500)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline || gone.load(Ordering::Relaxed) => {
                    return Err(e)
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        };
        side.boot_log = read_until(&mut s, &mut buf, RX_READY, deadline)?;
        let started = Instant::now();
        // Blocking writes: QEMU takes bytes only as fast as the FIFO drains.
        s.set_write_timeout(Some(deadline.saturating_duration_since(Instant::now())))?;
        s.write_all(data)?;
        side.between = read_until(&mut s, &mut buf, TX_BEGIN, deadline)?;
        side.rx_time = started.elapsed();
        let started = Instant::now();
        let mut chunk = [0u8; 4096];
        while buf.len() < LEN {
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("guest to host stalled at {} bytes", buf.len()),
                ));
            }
            match s.read(&mut chunk) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the chardev closed at {} bytes", buf.len()),
                    ))
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if retry_read(&e) => {}
                Err(e) => return Err(e),
            }
        }
        side.tx_time = started.elapsed();
        side.received = buf.drain(..LEN).collect();
        s.write_all(ACK)?;
        // The rest, until QEMU exits and closes the socket.
        loop {
            if Instant::now() >= deadline {
                break;
            }
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if retry_read(&e) => {}
                Err(_) => break,
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        side.error = Some(e.to_string());
    }
    side.tail = buf;
    side
}

/// SHA-256 of `data` in hex, by the same busybox the guest runs (as a host
/// program: it is a static x86_64 binary).
fn sha256(data: &[u8]) -> String {
    let busybox = qdev_tests::guest::assets().unwrap().busybox;
    let mut child = Command::new(&busybox)
        .arg("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {} sha256sum: {e}", busybox.display()));
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "busybox sha256sum failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

#[test]
fn console_and_64k_both_ways_through_the_pci_uart_on_q35() {
    console_and_64k_both_ways("q35");
}

#[test]
fn console_and_64k_both_ways_through_the_pci_uart_on_pc() {
    console_and_64k_both_ways("pc");
}

fn console_and_64k_both_ways(machine: &str) {
    let sock = HostSocket::new("guest-16550");
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(1);
    let data = pattern(LEN, seed);
    let mut values = [false; 256];
    data.iter().for_each(|&b| values[usize::from(b)] = true);
    assert!(
        values.iter().all(|&v| v),
        "the data holds every byte value (control characters included)"
    );
    let want_rx = sha256(&data);
    eprintln!("host-to-guest data: host::pattern({LEN}, {seed}), SHA-256 {want_rx}");

    let timeout = Duration::from_secs(55);
    let deadline = Instant::now() + timeout;
    let (run, side) = {
        let gone = AtomicBool::new(false);
        thread::scope(|scope| {
            let host = scope.spawn(|| host_side(&sock, &data, deadline, &gone));
            let run = Guest::builder()
                .machine(machine)
                .module(rust_module("qdev-16550").unwrap())
                // QEMU waits for the host's end before starting the machine,
                // so the host has the boot log from its first line.
                .args([
                    "-chardev",
                    &sock.chardev_arg("uart").replace("wait=off", "wait=on"),
                ])
                .device("qdev-16550,chardev=uart")
                .console(TTY)
                .append("8250.nr_uarts=8")
                .log("guest_errors")
                .script(UART_SCRIPT)
                .timeout(timeout)
                .run();
            gone.store(true, Ordering::Relaxed);
            (run, host.join().expect("the host side panicked"))
        })
    };
    let boot_log = text(&side.boot_log);
    let run: GuestRun = run.unwrap_or_else(|e| {
        panic!(
            "{e}\n--- host side: {:?} ---\n--- what the host read on the UART ---\n{}{}",
            side.error,
            boot_log,
            text(&side.tail)
        )
    });
    eprintln!(
        "guest run: {:.1} s in QEMU, {:.1} s in all; host to guest {:.2} s, guest to host {:.2} s",
        run.boot_time.as_secs_f64(),
        run.elapsed.as_secs_f64(),
        side.rx_time.as_secs_f64(),
        side.tx_time.as_secs_f64()
    );
    eprintln!("command: {}", run.command_line);
    eprintln!("--- guest output ---\n{}", run.output.trim_end());
    // The console is on the UART: show what the host read there.
    assert!(
        run.exit_code == 0 && side.error.is_none(),
        "the guest script exited with status {}; the host side: {:?}\n\
         --- what the host read on the UART ---\n{}{}",
        run.exit_code,
        side.error,
        boot_log,
        text(&side.tail)
    );

    let v = |key: &str| {
        run.value(key)
            .unwrap_or_else(|| panic!("no {key}= in the guest's output:\n{}", run.output))
    };
    // Enumeration and binding.
    assert_eq!(v("class"), "0x070002");
    assert_eq!(v("driver"), "serial", "8250_pci binds it");
    assert_eq!(v("tty"), TTY);
    assert!(
        v("serial_before").contains("uart:16550A"),
        "autoconfig finds a 16550A: {}",
        v("serial_before")
    );

    // The console: the kernel's log reached the host through the device.
    for needle in [
        "Linux version",
        &format!("Command line: console={TTY} "),
        &format!("printk: console [{TTY}] enabled"),
        &format!("{TTY} at I/O {}", v("bar0")),
        "qdev-guest: running the test script",
    ] {
        assert!(
            boot_log.contains(needle),
            "{needle:?} is not in what the host read on the UART:\n{boot_log}"
        );
    }
    assert!(
        v("consoles").starts_with(&format!("{TTY} ")),
        "{TTY} is the console: {}",
        v("consoles")
    );
    assert!(
        text(&side.tail).contains("qdev-guest: the test script exited with status 0"),
        "the init's last words on the console: {:?}",
        text(&side.tail)
    );
    assert!(
        run.console.trim().is_empty(),
        "ttyS0 stays silent: {}",
        run.console
    );

    // Interrupt-driven: a real IRQ line, which fired all through the transfers.
    let irq: u32 = v("irq").parse().unwrap();
    assert_ne!(irq, 0, "the port has an IRQ (0 would mean polling)");
    assert!(
        v("irq_line").contains(TTY),
        "/proc/interrupts names the line's handler: {}",
        v("irq_line")
    );
    let rx_irqs: u64 = v("rx_irqs").parse().unwrap();
    let tx_irqs: u64 = v("tx_irqs").parse().unwrap();
    // Receiving takes an interrupt per FIFO load or so (16 bytes; the
    // handler reads until the FIFO is empty): ask for at most 1 KiB each.
    assert!(
        rx_irqs >= (LEN / 1024) as u64,
        "{rx_irqs} interrupts while receiving {LEN} bytes"
    );
    // Sending: THR is empty again at once, so the 8250 handler keeps finding
    // THRE pending and loads the FIFO again, up to its 512 passes (8 KiB)
    // per interrupt or until the 4 KiB transmit buffer runs dry.
    assert!(
        tx_irqs >= (LEN / (512 * 16)) as u64,
        "{tx_irqs} interrupts while sending {LEN} bytes"
    );

    // Host to guest.
    assert_eq!(v("rx_bytes"), LEN.to_string());
    assert_eq!(v("rx_counted"), LEN.to_string(), "the port's rx counter");
    assert_eq!(
        v("rx_sha256"),
        want_rx,
        "host-to-guest bytes arrived intact"
    );
    // Guest to host.
    assert_eq!(v("tx_bytes"), LEN.to_string());
    assert_eq!(
        v("tx_counted"),
        (LEN + TX_BEGIN.len()).to_string(),
        "the port's tx counter: marker and data"
    );
    assert_eq!(side.received.len(), LEN);
    assert_eq!(
        sha256(&side.received),
        v("tx_sha256"),
        "guest-to-host bytes arrived intact"
    );
    assert_eq!(v("ack"), "ACK!");
    assert!(
        side.between.iter().all(|b| b.is_ascii_whitespace()),
        "nothing but the marker between the transfers: {:?}",
        text(&side.between)
    );
}
