// SPDX-License-Identifier: GPL-2.0-or-later
//! The bad-input sweep: every offset of every region and BAR of every
//! catalogue device, every access size (1, 2, 4, 8; I/O ports and config
//! space 1, 2, 4), a read and writes of zero, all ones and a random value,
//! before and after a system reset, in QEMU and on the mocked bus in
//! lockstep (see `qdev_tests::lockstep` for what is compared). QEMU must
//! keep running, log exactly the accesses the module's own description
//! calls invalid (refused sizes and unimplemented registers included; a
//! write changing unimplemented bits, which depends on the register's
//! current value, is counted apart), answer every read as the mocked bus does, and the
//! device must pass its functional check afterwards.
//!
//! Regions up to 4 KiB are swept at every offset. A larger region (edu's
//! 1 MiB BAR) is swept at every offset of its first 4 KiB (the registers
//! end at 0xa0), then at every 64th offset of the rest plus 1024 random
//! offsets, and every other offset of the rest with a 1-byte read and
//! write (before the reset), so every offset is touched. Config space is swept from 0x40 (the device's own part) to
//! 0xff, an access never crossing a dword (the `0xcfc` window).

use std::time::Instant;

use qdev_tests::access::{Access, Space};
use qdev_tests::lockstep::Lockstep;
use qdev_tests::targets::Target;

/// Regions up to this size are swept at every offset.
const FULL: u64 = 0x1000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn offsets(size: u64, config: bool, rng: &mut Rng) -> Vec<u64> {
    if config {
        return (0x40..size.min(0x100)).collect();
    }
    if size <= FULL {
        return (0..size).collect();
    }
    let mut v: Vec<u64> = (0..FULL).collect();
    v.extend((FULL..size).step_by(0x40));
    v.extend((0..1024).map(|_| FULL + rng.next() % (size - FULL)));
    v
}

fn sweep(package: &'static str) {
    let started = Instant::now();
    let target = Target::new(package).unwrap();
    let mut l = Lockstep::start(&target).unwrap();
    let mut rng = Rng(0x5eed ^ package.len() as u64);
    for pass in 0..2 {
        if pass == 1 {
            l.reset().unwrap();
        }
        for (i, r) in target.device.regions.iter().enumerate() {
            let space = target.spaces[i];
            let config = matches!(space, Space::Config(_));
            let sizes: &[u32] = match space {
                Space::Mmio(_) => &[1, 2, 4, 8],
                _ => &[1, 2, 4],
            };
            for offset in offsets(r.size, config, &mut rng) {
                for &size in sizes {
                    if offset + u64::from(size) > r.size
                        || (config && (offset & 3) + u64::from(size) > 4)
                    {
                        continue;
                    }
                    let a = Access {
                        region: i as u32,
                        offset,
                        size,
                        write: None,
                    };
                    l.access(a).unwrap();
                    for v in [0, u64::MAX, rng.next()] {
                        l.access(Access {
                            write: Some(v),
                            ..a
                        })
                        .unwrap();
                    }
                }
            }
            // Beyond the fully swept part of a large region, the offsets
            // the sample above skips still get a 1-byte read and a 1-byte
            // write each (once, before the reset): every offset of every
            // region is touched.
            if pass == 0 && !config && r.size > FULL {
                for offset in (FULL..r.size).filter(|o| o % 0x40 != 0) {
                    let a = Access {
                        region: i as u32,
                        offset,
                        size: 1,
                        write: None,
                    };
                    l.access(a).unwrap();
                    l.access(Access {
                        write: Some(rng.next() & 0xff),
                        ..a
                    })
                    .unwrap();
                }
            }
        }
    }
    l.functional_check().unwrap();
    let stats = l.finish(&format!("sweep-{package}"));
    eprintln!(
        "{package}: {} accesses ({} invalid, {} log lines, described-valid but logged: {:?}), \
         {} interrupt changes, {} qtest commands, {} resets, {:.1?}",
        stats.accesses,
        stats.invalid,
        stats.logged,
        stats.undescribed,
        stats.irq_changes,
        stats.commands,
        stats.resets,
        started.elapsed()
    );
}

#[test]
fn sweep_edu() {
    sweep("qdev-edu");
}

#[test]
fn sweep_16550() {
    sweep("qdev-16550");
}

#[test]
fn sweep_pl011() {
    sweep("qdev-pl011");
}

#[test]
fn sweep_i6300esb() {
    sweep("qdev-i6300esb");
}

#[test]
fn sweep_gpio() {
    sweep("qdev-gpio");
}

#[test]
fn sweep_baseline() {
    sweep("qdev-baseline");
}
