// SPDX-License-Identifier: GPL-2.0-or-later
//! A chardev-backed device (the FIFO UART fixture) exchanging bytes with a
//! socket chardev on the host, in both directions, with backpressure.

use std::io::{Read, Write};
use std::time::Duration;

use qdev_tests::host::HostSocket;
use qdev_tests::modules::rust_module;
use qdev_tests::Qemu;

const BASE: u64 = 0xfed0_3000;

#[test]
fn bytes_flow_both_ways_with_backpressure() {
    let sock = HostSocket::new("uart");
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-fixture-fifo-uart").unwrap())
        .args(["-chardev", &sock.chardev_arg("c0")])
        .device(format!(
            "fixture-uart,chardev=c0,mmio={BASE:#x},fifo-depth=4"
        ))
        .start()
        .unwrap();
    let mut host = sock.connect(Duration::from_secs(10)).unwrap();
    let timeout = Duration::from_secs(10);
    q.wait_until("the device sees the connection", timeout, || {
        Ok(q.readl(BASE + 0x8)? == 1)
    })
    .unwrap();

    // Host to guest: 64 bytes through a 4-byte FIFO.
    let message: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).collect();
    host.write_all(&message).unwrap();
    let mut got = Vec::new();
    let mut max_seen = 0;
    while got.len() < message.len() {
        let mut count = 0;
        q.wait_until("bytes in the FIFO", timeout, || {
            count = q.readl(BASE + 0x4)?;
            Ok(count > 0)
        })
        .unwrap();
        max_seen = max_seen.max(count);
        assert!(
            count <= 4,
            "the FIFO holds {count} bytes: backpressure ignored"
        );
        for _ in 0..count {
            got.push(q.readb(BASE).unwrap());
        }
    }
    assert_eq!(got, message);
    assert_eq!(max_seen, 4, "the backend filled the FIFO");

    // Guest to host.
    for b in b"pong\n" {
        q.writeb(BASE, *b).unwrap();
    }
    let mut reply = [0u8; 5];
    host.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"pong\n");
}

#[test]
fn without_a_backend_writes_are_dropped_quietly() {
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-fixture-fifo-uart").unwrap())
        .device(format!("fixture-uart,mmio={BASE:#x}"))
        .start()
        .unwrap();
    q.writeb(BASE, b'x').unwrap();
    assert_eq!(q.readl(BASE + 0x4).unwrap(), 0);
    assert!(q.try_exit_status().unwrap().is_none());
}

#[test]
fn an_unknown_chardev_id_stops_qemu_naming_it() {
    let Err(e) = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-fixture-fifo-uart").unwrap())
        .device("fixture-uart,chardev=nope")
        .start()
    else {
        panic!("QEMU accepted chardev=nope");
    };
    let stderr = e.stderr().unwrap_or_default();
    assert!(stderr.contains("nope"), "{stderr}");
}
