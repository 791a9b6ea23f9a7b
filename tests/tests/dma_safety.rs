// SPDX-License-Identifier: GPL-2.0-or-later
//! DMA safety in QEMU: qdev-edu reaching all 64 address bits
//! (`dma_mask=0xffffffffffffffff`) is given descriptors pointing anywhere:
//! outside guest RAM, across the end of RAM, at unassigned MMIO, at its own
//! BAR, wrapping around 2^64, with huge counts, outside its buffer. Each
//! transfer ends with edu's DMA error status (STATUS bit 8, see its
//! README) and its interrupt value; QEMU keeps running; guest RAM that a
//! refused transfer names stays as it was; and a good transfer works after
//! each one. Then 40 random descriptors end as predicted.

use std::time::Duration;

use qdev_edu::{DMA_DONE_IRQ, DMA_IRQ, DMA_RUN, DMA_START, DMA_TO_RAM, STATUS_DMA_ERROR};
use qdev_tests::modules::rust_module;
use qdev_tests::Qemu;

const BAR0: u64 = 0xfe00_0000;
const RAM: u64 = 0x20_0000;
/// q35's default RAM size: 128 MiB, all below 4 GiB.
const RAM_END: u64 = 0x800_0000;

struct Edu {
    q: Qemu,
}

/// BAR 0 at [`BAR0`], by offset.
struct Regs<'a>(&'a Qemu);

impl Regs<'_> {
    fn readl(&self, off: u64) -> qdev_tests::Result<u32> {
        self.0.readl(BAR0 + off)
    }
    fn readq(&self, off: u64) -> qdev_tests::Result<u64> {
        self.0.readq(BAR0 + off)
    }
    fn writel(&self, off: u64, v: u32) -> qdev_tests::Result<()> {
        self.0.writel(BAR0 + off, v)
    }
    fn writeq(&self, off: u64, v: u64) -> qdev_tests::Result<()> {
        self.0.writeq(BAR0 + off, v)
    }
}

impl Edu {
    fn start() -> Edu {
        let q = Qemu::builder()
            .machine("q35")
            .module(rust_module("qdev-edu").unwrap())
            .device("qdev-edu,dma_mask=0xffffffffffffffff")
            .log("guest_errors")
            .start()
            .unwrap();
        let f = q.pci_find(0x1234, 0x11e8).unwrap().unwrap();
        q.pci_map_bar(&f, 0, BAR0).unwrap();
        q.pci_enable(&f, true, false, true).unwrap();
        q.resume().unwrap();
        Edu { q }
    }

    fn bar(&self) -> Regs<'_> {
        Regs(&self.q)
    }

    /// Runs one transfer and returns STATUS's DMA error bit.
    fn run(&self, src: u64, dst: u64, cnt: u64, cmd: u64) -> u32 {
        let (q, bar) = (&self.q, self.bar());
        bar.writel(0x20, STATUS_DMA_ERROR).unwrap();
        bar.writeq(0x80, src).unwrap();
        bar.writeq(0x88, dst).unwrap();
        bar.writeq(0x90, cnt).unwrap();
        bar.writeq(0x98, cmd | DMA_RUN | DMA_IRQ).unwrap();
        q.wait_until("the transfer is over", Duration::from_secs(10), || {
            Ok(bar.readq(0x98)? & DMA_RUN == 0)
        })
        .unwrap();
        assert_eq!(
            bar.readl(0x24).unwrap() & DMA_DONE_IRQ,
            DMA_DONE_IRQ,
            "the DMA interrupt value"
        );
        bar.writel(0x64, DMA_DONE_IRQ).unwrap();
        assert!(q.try_exit_status().unwrap().is_none(), "QEMU died");
        bar.readl(0x20).unwrap() & STATUS_DMA_ERROR
    }

    fn fails(&self, what: &str, src: u64, dst: u64, cnt: u64, cmd: u64) {
        assert_eq!(
            self.run(src, dst, cnt, cmd),
            STATUS_DMA_ERROR,
            "{what}: src 0x{src:x} dst 0x{dst:x} count 0x{cnt:x} cmd 0x{cmd:x}"
        );
        self.works();
    }

    /// A round trip through guest RAM.
    fn works(&self) {
        let data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        self.q.memwrite(RAM, &data).unwrap();
        assert_eq!(self.run(RAM, DMA_START, 64, 0), 0, "good transfer in");
        assert_eq!(
            self.run(DMA_START, RAM + 0x1000, 64, DMA_TO_RAM),
            0,
            "good transfer out"
        );
        assert_eq!(self.q.memread(RAM + 0x1000, 64).unwrap(), data);
    }
}

#[test]
fn dma_outside_guest_ram_ends_with_the_error_status() {
    let e = Edu::start();
    e.works();
    for guest in [0x1_0000_0000_0000, 0x8000_0000_0000_0000, u64::MAX - 0xfff] {
        e.fails("outside RAM, to RAM", DMA_START, guest, 256, DMA_TO_RAM);
        e.fails("outside RAM, from RAM", guest, DMA_START, 256, 0);
    }
    // Across the end of RAM: the first bytes may move (QEMU's DMA does
    // that too), the transfer still fails.
    e.fails(
        "across the end of RAM",
        DMA_START,
        RAM_END - 8,
        64,
        DMA_TO_RAM,
    );
}

#[test]
fn dma_at_mmio_ends_with_the_error_status() {
    let e = Edu::start();
    // Unassigned addresses in the PCI hole.
    e.fails("unassigned MMIO", DMA_START, 0xfd00_0000, 16, DMA_TO_RAM);
    e.fails("unassigned MMIO", 0xfd00_0000, DMA_START, 16, 0);
}

/// Its own BAR: the transfer runs in a timer hook, during which the
/// device's re-entrancy guard (QEMU's own, engaged by the runtime) is held,
/// so QEMU's memory core refuses the access to the device's registers:
/// the register keeps its value, the DMA fails and the transfer ends with
/// the error status, QEMU keeps running, the device stays usable.
#[test]
fn dma_into_its_own_bar_is_refused_with_the_error_status() {
    let e = Edu::start();
    e.bar().writel(0x04, 0).unwrap();
    let liveness = e.bar().readl(0x04).unwrap();
    assert_eq!(
        e.run(DMA_START, BAR0 + 0x04, 4, DMA_TO_RAM),
        STATUS_DMA_ERROR,
        "a DMA into its own registers fails"
    );
    assert_eq!(e.bar().readl(0x04).unwrap(), liveness, "not re-entered");
    e.q.wait_stderr(
        "Blocked re-entrant IO on MemoryRegion: qdev-edu-mmio",
        Duration::from_secs(5),
    )
    .unwrap();
    e.works();
}

#[test]
fn dma_wrapping_around_2_64_is_refused_and_ram_at_0_untouched() {
    let e = Edu::start();
    e.q.memwrite(0, &[0x5a; 64]).unwrap();
    e.fails("wraps 2^64", DMA_START, u64::MAX - 15, 64, DMA_TO_RAM);
    e.fails("wraps 2^64", u64::MAX - 15, DMA_START, 64, 0);
    assert_eq!(
        e.q.memread(0, 64).unwrap(),
        [0x5a; 64],
        "nothing wrapped to 0"
    );
}

#[test]
fn huge_counts_and_device_ranges_outside_the_buffer_are_refused() {
    let e = Edu::start();
    let sentinel = RAM + 0x8000;
    e.q.memwrite(sentinel, &[0xa5; 256]).unwrap();
    for (device, cnt) in [
        (DMA_START, u64::MAX),
        (DMA_START, 4097),
        (DMA_START + 4095, 2),
        (DMA_START - 1, 1),
        (u64::MAX, 1),
        (DMA_START + 8, u64::MAX - 7),
    ] {
        e.fails("device range", device, sentinel, cnt, DMA_TO_RAM);
        assert_eq!(
            e.q.memread(sentinel, 256).unwrap(),
            [0xa5; 256],
            "RAM untouched"
        );
        e.fails("device range", sentinel, device, cnt, 0);
    }
}

/// 40 random descriptors, the VM running: guest ranges in RAM, across its
/// end, above 4 GiB (nothing there on `q35` with 128 MiB), at the top of
/// the address space or wrapping; device ranges in or out of the buffer;
/// random counts and directions. The error status is what the descriptor
/// predicts, guest RAM outside the named range never changes, QEMU keeps
/// running, and a good transfer works at the end.
#[test]
fn random_descriptors_end_as_predicted() {
    let e = Edu::start();
    let mut seed = 0x0d3a_u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // A sentinel page the transfers never name.
    let sentinel = RAM + 0x10_0000;
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 13 + 7) as u8).collect();
    e.q.memwrite(sentinel, &pattern).unwrap();
    let window = RAM + 0x20_0000; // in-RAM targets: 2 MiB from here
    for i in 0..40 {
        let cnt = match next() % 4 {
            0 => next() % 4097,
            1 => 1 + next() % 64,
            2 => u64::MAX - next() % 16,
            _ => next() % 8192,
        };
        let device = match next() % 3 {
            0 => DMA_START + next() % 4096,
            1 => DMA_START,
            _ => next(),
        };
        let guest = match next() % 5 {
            0 | 1 => window + next() % 0x20_0000,
            2 => RAM_END - next() % 64,
            3 => 0x1_0000_0000 + next() % (1 << 40),
            _ => u64::MAX - next() % 8192,
        };
        let to_ram = next() % 2 == 0;
        let device_ok = device
            .checked_sub(DMA_START)
            .and_then(|o| o.checked_add(cnt))
            .is_some_and(|end| end <= 4096);
        let guest_ok = guest.checked_add(cnt).is_some_and(|end| end <= RAM_END) && guest < RAM_END;
        let want = if device_ok && guest_ok {
            0
        } else {
            STATUS_DMA_ERROR
        };
        let (src, dst, cmd) = if to_ram {
            (device, guest, DMA_TO_RAM)
        } else {
            (guest, device, 0)
        };
        assert_eq!(
            e.run(src, dst, cnt, cmd),
            want,
            "transfer {i}: src 0x{src:x} dst 0x{dst:x} count 0x{cnt:x} cmd 0x{cmd:x}"
        );
    }
    assert_eq!(
        e.q.memread(sentinel, 4096).unwrap(),
        pattern,
        "sentinel page"
    );
    e.works();
}
