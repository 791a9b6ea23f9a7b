// SPDX-License-Identifier: GPL-2.0-or-later
//! edu's DMA with guest-supplied descriptors pointing anywhere, on the
//! mocked bus: a transfer that cannot be done ends with the DMA error
//! status (STATUS bit 8) and its interrupt, moves nothing, and the device
//! stays usable.

use qdev_edu::*;
use qdev_runtime::mock::MockDevice;

const RAM: u64 = 0x10_0000;
const RAM_SIZE: usize = 0x10000;

/// edu reaching all 64 address bits, with RAM at 1 MiB and just below 2^64.
fn edu() -> MockDevice<Edu> {
    let d = MockDevice::<Edu>::builder()
        .prop("dma_mask", u64::MAX)
        .build()
        .unwrap();
    d.memory().add_ram(RAM, RAM_SIZE);
    d.memory().add_ram(u64::MAX - 0xfff, 0x1000);
    d
}

fn run(d: &mut MockDevice<Edu>, src: u64, dst: u64, cnt: u64, cmd: u64) -> u32 {
    d.writel(0x20, STATUS_DMA_ERROR); // clear a previous error
    d.writeq(0x80, src);
    d.writeq(0x88, dst);
    d.writeq(0x90, cnt);
    d.writeq(0x98, cmd | DMA_RUN | DMA_IRQ);
    d.advance_ns(DMA_DELAY_NS);
    assert_eq!(d.readq(0x98) & DMA_RUN, 0, "the transfer is over");
    assert_eq!(
        d.readl(0x24) & DMA_DONE_IRQ,
        DMA_DONE_IRQ,
        "and interrupted"
    );
    d.writel(0x64, DMA_DONE_IRQ);
    d.readl(0x20) & STATUS_DMA_ERROR
}

/// A transfer that works, to show the device is still usable.
fn works(d: &mut MockDevice<Edu>) {
    assert!(d.memory().write(RAM, b"still usable"));
    assert_eq!(run(d, RAM, DMA_START, 12, 0), 0);
    assert_eq!(run(d, DMA_START, RAM + 0x100, 12, DMA_TO_RAM), 0);
    assert_eq!(d.memory().read(RAM + 0x100, 12).unwrap(), b"still usable");
}

fn ram_snapshot(d: &MockDevice<Edu>) -> Vec<u8> {
    d.memory().read(RAM, RAM_SIZE).unwrap()
}

#[test]
fn a_good_transfer_has_no_error_status() {
    let mut d = edu();
    works(&mut d);
}

#[test]
fn guest_side_outside_ram_ends_with_the_error_status() {
    for guest in [
        0,
        RAM - 1,
        RAM + RAM_SIZE as u64 - 8,
        0x1_0000_0000,
        0x8000_0000_0000_0000,
    ] {
        for to_ram in [false, true] {
            let mut d = edu();
            let before = ram_snapshot(&d);
            let (src, dst, cmd) = if to_ram {
                (DMA_START, guest, DMA_TO_RAM)
            } else {
                (guest, DMA_START, 0)
            };
            assert_eq!(
                run(&mut d, src, dst, 16, cmd),
                STATUS_DMA_ERROR,
                "guest address 0x{guest:x}, to RAM {to_ram}"
            );
            assert_eq!(ram_snapshot(&d), before, "nothing moved");
            works(&mut d);
        }
    }
}

#[test]
fn a_guest_range_wrapping_around_2_64_is_refused() {
    let mut d = edu();
    let top = d.memory().read(u64::MAX - 0xfff, 0x1000).unwrap();
    assert_eq!(
        run(&mut d, DMA_START, u64::MAX - 7, 16, DMA_TO_RAM),
        STATUS_DMA_ERROR
    );
    assert_eq!(d.memory().read(u64::MAX - 0xfff, 0x1000).unwrap(), top);
    // The last bytes below 2^64 are guest memory and work.
    assert_eq!(run(&mut d, DMA_START, u64::MAX - 7, 8, DMA_TO_RAM), 0);
    works(&mut d);
}

#[test]
fn device_side_outside_the_buffer_or_huge_counts_are_refused() {
    for (device, cnt) in [
        (DMA_START + DMA_SIZE as u64 - 4, 8),
        (DMA_START - 1, 4),
        (DMA_START, DMA_SIZE as u64 + 1),
        (DMA_START, u64::MAX),
        (u64::MAX, 2),
        (DMA_START + 8, u64::MAX - 7),
    ] {
        let mut d = edu();
        let before = ram_snapshot(&d);
        assert_eq!(
            run(&mut d, device, RAM, cnt, DMA_TO_RAM),
            STATUS_DMA_ERROR,
            "device 0x{device:x} count 0x{cnt:x}"
        );
        assert_eq!(ram_snapshot(&d), before);
        assert_eq!(run(&mut d, RAM, device, cnt, 0), STATUS_DMA_ERROR);
        works(&mut d);
    }
}

#[test]
fn the_error_status_is_write_1_to_clear_and_survives_other_writes() {
    let mut d = edu();
    assert_eq!(run(&mut d, DMA_START, 0, 4, DMA_TO_RAM), STATUS_DMA_ERROR);
    d.writel(0x20, STATUS_IRQFACT);
    assert_eq!(d.readl(0x20), STATUS_DMA_ERROR | STATUS_IRQFACT);
    d.writel(0x20, STATUS_DMA_ERROR);
    assert_eq!(d.readl(0x20), 0);
}

#[test]
fn a_zero_length_transfer_is_not_an_error() {
    let mut d = edu();
    assert_eq!(run(&mut d, DMA_START, 0xdead_0000_0000, 0, DMA_TO_RAM), 0);
}

#[test]
fn factorial_of_a_huge_n_is_immediate_and_zero() {
    let mut d = edu();
    let t = std::time::Instant::now();
    d.writel(0x08, u32::MAX);
    assert_eq!(d.readl(0x08), 0);
    d.writel(0x08, 33);
    assert_eq!(d.readl(0x08), 2_147_483_648, "33! mod 2^32");
    d.writel(0x08, 34);
    assert_eq!(d.readl(0x08), 0);
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
}
