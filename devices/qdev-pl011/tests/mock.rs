// SPDX-License-Identifier: GPL-2.0-or-later
//! The PL011 on the mocked bus.

use qdev_pl011::*;
use qdev_runtime::mock::MockDevice;
use qdev_runtime::LineRef;

const DR: u64 = 0x000;
const FR: u64 = 0x018;
const LCR_H: u64 = 0x02c;
const CR: u64 = 0x030;
const IMSC: u64 = 0x038;
const RIS: u64 = 0x03c;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;

fn uart() -> MockDevice<Pl011> {
    let mut u = MockDevice::<Pl011>::new().unwrap();
    u.writel(CR, CR_UARTEN | CR_TXE | CR_RXE);
    u
}

#[test]
fn primecell_identification() {
    let mut u = uart();
    let id: Vec<u32> = (0..8).map(|i| u.readl(0xfe0 + 4 * i)).collect();
    assert_eq!(id, [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
}

#[test]
fn transmit_and_tx_interrupt() {
    let mut u = uart();
    u.writel(IMSC, INT_TX);
    for b in b"hi" {
        u.writel(DR, u32::from(*b));
    }
    assert_eq!(u.take_chardev_output(0), b"hi");
    assert_eq!(u.readl(MIS), INT_TX);
    assert!(u.line_level(LineRef::Irq(0)));
    u.writel(ICR, INT_TX);
    assert!(!u.line_level(LineRef::Irq(0)));
}

#[test]
fn receive_with_and_without_the_fifo() {
    let mut u = uart();
    u.chardev_input(0, b"abc");
    assert_eq!(u.chardev_pending(0), 2, "one byte without FEN");
    u.writel(LCR_H, LCR_H_FEN);
    assert_eq!(u.chardev_pending(0), 0, "FIFO on: the rest came in");
    let mut got = Vec::new();
    while u.readl(FR) & FR_RXFE == 0 {
        got.push(u.readl(DR) as u8);
    }
    assert_eq!(got, b"abc");
}

#[test]
fn rx_interrupt_follows_the_mask_and_the_data() {
    let mut u = uart();
    u.chardev_input(0, b"x");
    assert_eq!(u.readl(RIS) & INT_RX, INT_RX);
    assert!(!u.line_level(LineRef::Irq(0)), "masked");
    u.writel(IMSC, INT_RX);
    assert!(u.line_level(LineRef::Irq(0)));
    u.readl(DR);
    assert!(!u.line_level(LineRef::Irq(0)), "drained");
}

#[test]
fn disabled_receiver_takes_nothing() {
    let mut u = uart();
    u.writel(CR, CR_UARTEN | CR_TXE);
    u.chardev_input(0, b"zz");
    assert_eq!(u.chardev_pending(0), 2);
    u.writel(CR, CR_UARTEN | CR_TXE | CR_RXE);
    assert_eq!(u.chardev_pending(0), 1);
}

#[test]
fn loopback() {
    let mut u = uart();
    u.writel(LCR_H, LCR_H_FEN);
    u.writel(CR, CR_UARTEN | CR_TXE | CR_RXE | CR_LBE);
    u.writel(DR, u32::from(b'q'));
    assert_eq!(u.readl(DR), u32::from(b'q'));
    assert!(u.take_chardev_output(0).is_empty());
}

#[test]
fn reserved_bits_are_guarded() {
    let mut u = uart();
    u.take_log();
    u.writel(0x028, 0xff);
    assert_eq!(u.readl(0x028), 0x3f);
    assert!(u.take_log()[0].message.contains("reserved bits 0xc0"));
}
