// SPDX-License-Identifier: GPL-2.0-or-later
//! The 16550A on PCI inside QEMU, driven through its I/O BAR with a socket
//! chardev on the host: enumeration as a 16550-compatible serial controller,
//! and bulk transfers both ways with the FIFO's backpressure.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use qdev_tests::modules::rust_module;
use qdev_tests::{BarKind, Qemu};

#[test]
fn bulk_transfers_both_ways_through_the_io_bar() {
    let sock = std::env::temp_dir().join(format!("qdev-16550-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let q = Qemu::builder()
        .machine("q35")
        .module(rust_module("qdev-16550").unwrap())
        .arg("-chardev")
        .arg(format!(
            "socket,id=s0,path={},server=on,wait=off",
            sock.display()
        ))
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
    let host = UnixStream::connect(&sock).unwrap();
    host.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    io.writeb(2, 0x07).unwrap(); // FCR: FIFO on, clear both

    // Host to guest, 16 KiB of pseudo-random bytes.
    let data: Vec<u8> = (0..16 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let writer = {
        let mut h = host.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || h.write_all(&data).unwrap())
    };
    let mut got = Vec::with_capacity(data.len());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while got.len() < data.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "stalled at {} bytes",
            got.len()
        );
        if io.readb(5).unwrap() & 0x01 != 0 {
            got.push(io.readb(0).unwrap());
        }
    }
    writer.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "host-to-guest bytes differ");

    // Guest to host. The host reads as the guest writes: a UART's bytes
    // go out one by one, and QEMU blocks while the socket is full.
    let reply: Vec<u8> = data.iter().rev().copied().collect();
    let reader = {
        let mut h = host.try_clone().unwrap();
        let n = reply.len();
        std::thread::spawn(move || {
            let mut back = vec![0u8; n];
            h.read_exact(&mut back).map(|_| back)
        })
    };
    for b in &reply {
        io.writeb(0, *b).unwrap();
    }
    let back = reader.join().unwrap().unwrap();
    assert!(back == reply, "guest-to-host bytes differ");
    drop(q);
    let _ = std::fs::remove_file(&sock);
}
