// SPDX-License-Identifier: GPL-2.0-or-later
//! The 16550A on PCI inside QEMU, driven through its I/O BAR with a socket
//! chardev on the host: enumeration as a 16550-compatible serial controller,
//! and bulk transfers both ways with the FIFO's backpressure.

use std::time::{Duration, Instant};

use qdev_tests::host::{pattern, receive_in_background, send_in_background, HostSocket};
use qdev_tests::modules::rust_module;
use qdev_tests::{BarKind, Qemu};

#[test]
fn bulk_transfers_both_ways_through_the_io_bar() {
    let sock = HostSocket::new("16550");
    let q = Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-16550").unwrap())
        .args(["-chardev", &sock.chardev_arg("s0")])
        .device("qdev-16550,chardev=s0")
        .start()
        .unwrap();
    let f = q
        .pci_find(0x1234, 0x1655)
        .unwrap()
        .expect("the UART enumerates");
    assert_eq!(
        f.class_code, 0x07_00_02,
        "16550-compatible serial controller"
    );
    assert_eq!(q.pci_bar_info(&f, 0).unwrap().unwrap().kind, BarKind::Io);
    let io = q.pci_map_bar(&f, 0, 0xc000).unwrap();
    let host = sock.connect(Duration::from_secs(20)).unwrap();
    io.writeb(2, 0x07).unwrap(); // FCR: FIFO on, clear both

    // Host to guest, 16 KiB.
    let data = pattern(16 * 1024, 1);
    let writer = send_in_background(&host, data.clone());
    let mut got = Vec::with_capacity(data.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < data.len() {
        assert!(Instant::now() < deadline, "stalled at {} bytes", got.len());
        if io.readb(5).unwrap() & 0x01 != 0 {
            got.push(io.readb(0).unwrap());
        }
    }
    writer.join().unwrap().unwrap();
    assert!(got == data, "host-to-guest bytes differ");

    // Guest to host.
    let reply = pattern(16 * 1024, 2);
    let reader = receive_in_background(&host, reply.len());
    for b in &reply {
        io.writeb(0, *b).unwrap();
    }
    assert!(
        reader.join().unwrap().unwrap() == reply,
        "guest-to-host bytes differ"
    );
}
