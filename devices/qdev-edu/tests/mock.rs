// SPDX-License-Identifier: GPL-2.0-or-later
//! edu on the mocked bus: registers, interrupts over INTx and MSI, and the
//! DMA engine on the virtual clock, exactly on schedule.

use qdev_edu::*;
use qdev_runtime::mock::{BusEvent, LineEvent, MockDevice};
use qdev_runtime::{LineRef, MsiMode};

const RAM: u64 = 0x10_0000;

fn edu() -> MockDevice<Edu> {
    let d = MockDevice::<Edu>::new().unwrap();
    d.memory().add_ram(RAM, 0x10000);
    d
}

#[test]
fn id_liveness_and_factorial() {
    let mut d = edu();
    assert_eq!(d.readl(0x00), EDU_ID);
    d.writel(0x04, 0x1234_5678);
    assert_eq!(d.readl(0x04), !0x1234_5678);
    d.writel(0x08, 10);
    assert_eq!(d.readl(0x08), 3_628_800);
    assert_eq!(d.readl(0x20) & STATUS_COMPUTING, 0);
}

#[test]
fn registers_below_0x80_take_32_bit_accesses_only() {
    let mut d = edu();
    d.take_log();
    assert_eq!(d.readw(0x00), 0);
    assert!(d.take_log()[0].message.contains("does not take that size"));
    d.writel(0x80, 0xdead_beef);
    d.writel(0x84, 0x1);
    assert_eq!(
        d.readq(0x80),
        0x1_dead_beef,
        "DMA registers take 4 or 8 bytes"
    );
}

#[test]
fn raise_and_ack_over_intx() {
    let mut d = edu();
    d.writel(0x60, 0x5);
    assert_eq!(d.readl(0x24), 0x5);
    d.writel(0x64, 0x1);
    assert!(d.line_level(LineRef::Intx), "still 0x4 pending");
    d.writel(0x64, 0x4);
    assert_eq!(
        d.take_line_events(),
        [
            LineEvent::new(LineRef::Intx, true),
            LineEvent::new(LineRef::Intx, false)
        ]
    );
}

#[test]
fn raise_goes_over_msi_when_the_guest_enabled_it() {
    let mut d = edu();
    d.set_msi_mode(MsiMode::Msi);
    d.writel(0x60, 0x2);
    d.writel(0x64, 0x2);
    assert_eq!(
        d.take_events(),
        [BusEvent::Message {
            mode: MsiMode::Msi,
            vector: 0
        }]
    );
}

#[test]
fn factorial_interrupt_when_asked() {
    let mut d = edu();
    d.writel(0x20, STATUS_IRQFACT);
    d.writel(0x08, 5);
    assert_eq!(d.readl(0x24), FACT_IRQ);
    assert!(d.line_level(LineRef::Intx));
}

fn start_dma(d: &mut MockDevice<Edu>, src: u64, dst: u64, cnt: u64, cmd: u64) {
    d.writeq(0x80, src);
    d.writeq(0x88, dst);
    d.writeq(0x90, cnt);
    d.writeq(0x98, cmd | DMA_RUN);
}

#[test]
fn dma_round_trip_runs_exactly_100ms_after_start() {
    let mut d = edu();
    let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
    assert!(d.memory().write(RAM, &data));
    start_dma(&mut d, RAM, DMA_START + 16, 300, DMA_IRQ);
    d.advance_ns(DMA_DELAY_NS - 1);
    assert_eq!(d.readq(0x98) & DMA_RUN, DMA_RUN, "not yet");
    assert!(!d.line_level(LineRef::Intx));
    d.advance_ns(1);
    assert_eq!(d.readq(0x98) & DMA_RUN, 0, "done at exactly 100 ms");
    assert_eq!(d.readl(0x24), DMA_DONE_IRQ);
    d.writel(0x64, DMA_DONE_IRQ);

    start_dma(&mut d, DMA_START + 16, RAM + 0x1000, 300, DMA_TO_RAM);
    d.advance_ns(DMA_DELAY_NS);
    assert_eq!(d.memory().read(RAM + 0x1000, 300).unwrap(), data);
}

#[test]
fn registers_are_frozen_while_a_transfer_runs() {
    let mut d = edu();
    start_dma(&mut d, RAM, DMA_START, 8, 0);
    d.writeq(0x90, 4096);
    assert_eq!(d.readq(0x90), 8);
}

#[test]
fn dma_outside_the_buffer_or_into_a_hole_is_logged_and_skipped() {
    let mut d = edu();
    start_dma(&mut d, RAM, DMA_START + 4000, 200, 0);
    d.advance_ns(DMA_DELAY_NS);
    let log = d.take_log();
    assert!(
        log.iter().any(|l| l.message.contains("outside the buffer")),
        "{log:?}"
    );

    start_dma(&mut d, 0x0800_0000, DMA_START, 16, 0);
    d.advance_ns(DMA_DELAY_NS);
    let log = d.take_log();
    assert!(
        log.iter().any(|l| l
            .message
            .contains("DMA read of 16 bytes at 0x8000000 failed")),
        "{log:?}"
    );
}

#[test]
fn dma_addresses_are_masked() {
    let mut d = edu();
    start_dma(&mut d, RAM | 0x1000_0000, DMA_START, 4, 0);
    d.advance_ns(DMA_DELAY_NS);
    assert!(d
        .take_log()
        .iter()
        .any(|l| l.message.contains("clamping DMA")));
}

#[test]
fn buffer_and_registers_survive_save_and_load() {
    let mut d = edu();
    assert!(d.memory().write(RAM, b"migrate me"));
    start_dma(&mut d, RAM, DMA_START, 10, 0);
    d.advance_ns(DMA_DELAY_NS);
    d.writel(0x04, 5);
    let state = d.save_state();
    let mut e = edu();
    e.load_state(&state).unwrap();
    assert_eq!(e.readl(0x04), !5);
    start_dma(&mut e, DMA_START, RAM, 10, DMA_TO_RAM);
    e.advance_ns(DMA_DELAY_NS);
    assert_eq!(e.memory().read(RAM, 10).unwrap(), b"migrate me");
}
