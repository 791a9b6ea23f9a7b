// SPDX-License-Identifier: GPL-2.0-or-later
//! The PL011 on the system bus inside QEMU (x86 `pc`, placed with the
//! runtime's `mmio`/`irq` properties), talking to a socket chardev.

use std::time::{Duration, Instant};

use qdev_tests::host::{pattern, receive_in_background, send_in_background, HostSocket};
use qdev_tests::modules::rust_module;
use qdev_tests::Qemu;

const BASE: u64 = 0xfed0_4000;
const GSI: u32 = 6;

#[test]
fn pl011_exchanges_bytes_and_interrupts() {
    let sock = HostSocket::new("pl011");
    let q = Qemu::builder()
        .machine("pc")
        .module(rust_module("qdev-pl011").unwrap())
        .args(["-chardev", &sock.chardev_arg("u0")])
        .device(format!("qdev-pl011,chardev=u0,mmio={BASE:#x},irq={GSI}"))
        .start()
        .unwrap();
    assert_eq!(q.readl(BASE + 0xfe0).unwrap(), 0x11, "PeriphID0");
    assert_eq!(q.readl(BASE + 0xffc).unwrap(), 0xb1, "PCellID3");
    let host = sock.connect(Duration::from_secs(20)).unwrap();
    q.writel(BASE + 0x02c, 1 << 4).unwrap(); // LCR_H: FEN
    q.writel(BASE + 0x030, 0x301).unwrap(); // CR: UARTEN, TXE, RXE
    q.irq_intercept_in("ioapic").unwrap();
    q.writel(BASE + 0x038, 1 << 4).unwrap(); // IMSC: RX

    let data = pattern(4096, 3);
    let writer = send_in_background(&host, data.clone());
    q.wait_irq(GSI, true, Duration::from_secs(10)).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < data.len() {
        assert!(Instant::now() < deadline, "stalled at {} bytes", got.len());
        if q.readl(BASE + 0x018).unwrap() & (1 << 4) == 0 {
            got.push(q.readl(BASE).unwrap() as u8);
        }
    }
    writer.join().unwrap().unwrap();
    assert!(got == data, "host-to-guest bytes differ");
    assert!(!q.irq_level(GSI), "RX interrupt drops when drained");

    let reply = pattern(4096, 4);
    let reader = receive_in_background(&host, reply.len());
    for b in &reply {
        q.writel(BASE, u32::from(*b)).unwrap();
    }
    assert!(
        reader.join().unwrap().unwrap() == reply,
        "guest-to-host bytes differ"
    );
}
