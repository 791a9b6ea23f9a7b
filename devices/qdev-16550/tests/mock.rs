// SPDX-License-Identifier: GPL-2.0-or-later
//! The 16550A on the mocked bus: what Linux's 8250 driver relies on.

use qdev_16550::*;
use qdev_runtime::mock::MockDevice;
use qdev_runtime::{CharEvent, LineRef};

fn uart() -> MockDevice<Uart16550> {
    MockDevice::<Uart16550>::new().unwrap()
}

const RBR: u64 = 0;
const IER: u64 = 1;
const IIR: u64 = 2;
const LCR: u64 = 3;
const MCR: u64 = 4;
const LSR: u64 = 5;
const MSR: u64 = 6;
const SCR: u64 = 7;

#[test]
fn scratch_and_divisor_latch() {
    let mut u = uart();
    u.writeb(SCR, 0xa5);
    assert_eq!(u.readb(SCR), 0xa5);
    u.writeb(LCR, LCR_DLAB | 0x03);
    u.writeb(RBR, 0x01);
    u.writeb(IER, 0x00);
    assert_eq!(
        (u.readb(RBR), u.readb(IER)),
        (0x01, 0x00),
        "divisor 1: 115200 baud"
    );
    u.writeb(LCR, 0x03);
    assert_eq!(u.readb(IER), 0, "IER untouched by the divisor write");
}

#[test]
fn fifo_control_identifies_a_16550a() {
    let mut u = uart();
    assert_eq!(u.readb(IIR), IIR_NO_INT);
    u.writeb(IIR, FCR_ENABLE);
    assert_eq!(u.readb(IIR) & 0xc0, 0xc0, "FIFOs enabled");
}

#[test]
fn loopback_passes_the_linux_probe() {
    let mut u = uart();
    // serial8250's loopback check: MCR = LOOP | OUT2 | RTS -> MSR & 0xf0 == 0x90
    u.writeb(MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
    assert_eq!(u.readb(MSR) & 0xf0, 0x90);
    u.writeb(RBR, b'x');
    assert_eq!(u.readb(LSR) & LSR_DR, LSR_DR);
    assert_eq!(u.readb(RBR), b'x');
    assert_eq!(u.take_chardev_output(0), b"", "looped, not sent");
}

#[test]
fn received_data_interrupt_and_fifo_backpressure() {
    let mut u = uart();
    u.writeb(IIR, FCR_ENABLE);
    u.writeb(IER, IER_RDI);
    let data: Vec<u8> = (0..40).collect();
    u.chardev_input(0, &data);
    assert_eq!(u.chardev_pending(0), 40 - FIFO_DEPTH);
    assert_eq!(u.readb(IIR) & 0x0f, IIR_RDI);
    assert!(u.line_level(LineRef::Intx));
    let mut got = Vec::new();
    while u.readb(LSR) & LSR_DR != 0 {
        got.push(u.readb(RBR));
    }
    assert_eq!(got, data, "every byte, in order, as room was made");
    assert_eq!(u.readb(IIR) & 0x0f, IIR_NO_INT);
    assert!(!u.line_level(LineRef::Intx));
}

#[test]
fn without_fifo_one_byte_at_a_time() {
    let mut u = uart();
    u.chardev_input(0, b"ab");
    assert_eq!(u.chardev_pending(0), 1);
    assert_eq!(u.readb(RBR), b'a');
    assert_eq!(u.readb(RBR), b'b');
}

#[test]
fn thr_empty_interrupt_on_enable_and_after_each_byte() {
    let mut u = uart();
    u.writeb(IER, IER_THRI);
    assert_eq!(u.readb(IIR) & 0x0f, IIR_THRI, "raised when enabled");
    assert_eq!(
        u.readb(IIR) & 0x0f,
        IIR_NO_INT,
        "reading IIR acknowledged it"
    );
    u.writeb(RBR, b'h');
    u.writeb(RBR, b'i');
    assert_eq!(u.take_chardev_output(0), b"hi");
    assert_eq!(u.readb(IIR) & 0x0f, IIR_THRI);
    assert_eq!(u.readb(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
}

#[test]
fn received_data_outranks_thr_empty() {
    let mut u = uart();
    u.writeb(IER, IER_RDI | IER_THRI);
    u.chardev_input(0, b"z");
    assert_eq!(u.readb(IIR) & 0x0f, IIR_RDI);
    u.readb(RBR);
    assert_eq!(u.readb(IIR) & 0x0f, IIR_THRI);
}

#[test]
fn modem_status_deltas_on_connect_and_clear_on_read() {
    let mut u = uart();
    u.writeb(IER, IER_MSI);
    u.readb(MSR);
    u.chardev_event(0, CharEvent::Opened);
    let msr = u.readb(MSR);
    assert_eq!(msr & MSR_DCD, MSR_DCD, "carrier");
    assert_eq!(msr & 0x08, 0x08, "delta DCD");
    assert_eq!(u.readb(MSR) & 0x0f, 0, "deltas cleared by the read");
}

#[test]
fn state_survives_save_and_load() {
    let mut u = uart();
    u.writeb(IIR, FCR_ENABLE);
    u.writeb(IER, IER_RDI);
    u.writeb(SCR, 0x77);
    u.chardev_input(0, b"abc");
    let state = u.save_state();
    let mut v = uart();
    v.load_state(&state).unwrap();
    assert_eq!(v.readb(SCR), 0x77);
    assert_eq!(v.readb(IER), IER_RDI);
    assert_eq!(v.readb(IIR) & 0x0f, IIR_RDI, "the pending bytes came along");
    assert_eq!([v.readb(RBR), v.readb(RBR), v.readb(RBR)], *b"abc");
    assert!(
        v.load_state(&state[..3]).is_err(),
        "a truncated state is refused"
    );
}
