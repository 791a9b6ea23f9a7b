// SPDX-License-Identifier: GPL-2.0-or-later
//! Migration state derived by `#[qemu_device]`, on the mocked bus: what is
//! saved (registers, plain fields, line levels, timers), what is not
//! (`migrate = false`, `#[state(skip)]`, properties), versions (`since`,
//! `minimum_version`), the `post_load` hook, and malformed streams.

use std::collections::VecDeque;

use qdev_runtime::mock::MockDevice;
use qdev_runtime::{qemu_device, Error, Irq, LineRef, Timer};

/// Version 1 of a device.
#[qemu_device(name = "mig-v1", sysbus)]
#[derive(Debug)]
struct V1 {
    #[reg(offset = 0x0, access = rw)]
    ctrl: u32,
    #[reg(offset = 0x4, access = rw, migrate = false)]
    volatile: u32,
    #[property(default = 3)]
    depth: u32,
    #[irq]
    irq: Irq,
    #[timer(callback = Self::tick)]
    timer: Timer,
    fifo: VecDeque<u8>,
    ticks: u64,
    #[state(skip)]
    cache: u32,
}

impl V1 {
    fn tick(&mut self) {
        self.ticks += 1;
    }
}

/// Version 2 of the same device: one register and one field more, and a
/// post-load hook that checks and recomputes.
#[qemu_device(name = "mig-v2", sysbus, version = 2, post_load = Self::loaded)]
#[derive(Debug)]
struct V2 {
    #[reg(offset = 0x0, access = rw)]
    ctrl: u32,
    #[reg(offset = 0x4, access = rw, migrate = false)]
    volatile: u32,
    #[property(default = 3)]
    depth: u32,
    #[irq]
    irq: Irq,
    #[timer(callback = Self::tick)]
    timer: Timer,
    fifo: VecDeque<u8>,
    ticks: u64,
    #[state(skip)]
    cache: u32,
    #[reg(offset = 0x8, access = rw, reset = 0x77, since = 2)]
    mode: u32,
    #[state(since = 2)]
    label: Option<String>,
    /// What the post-load hook saw.
    #[state(skip)]
    loaded_version: u32,
}

impl V2 {
    fn tick(&mut self) {
        self.ticks += 1;
    }

    fn loaded(&mut self, version: u32) -> Result<(), Error> {
        if self.fifo.len() > self.depth as usize {
            return Err(Error::new(format!(
                "the FIFO holds {} bytes, more than its depth {}",
                self.fifo.len(),
                self.depth
            )));
        }
        self.loaded_version = version;
        self.cache = self.ctrl * 2;
        Ok(())
    }
}

fn busy_v1() -> MockDevice<V1> {
    let mut m = MockDevice::<V1>::new().unwrap();
    m.writel(0x0, 0x1234);
    m.writel(0x4, 0x99);
    let d = m.device_mut();
    d.irq.raise();
    d.fifo.extend([1, 2, 3]);
    d.cache = 5;
    d.timer.start_periodic(1_000);
    m.advance_ns(2_500); // two ticks; the next at 3000
    m
}

#[test]
fn registers_fields_lines_and_timers_migrate_and_opted_out_ones_do_not() {
    let src = busy_v1();
    let bytes = src.save_state();
    let mut dst = MockDevice::<V1>::new().unwrap();
    dst.load_state(&bytes).unwrap();
    assert_eq!(dst.readl(0x0), 0x1234, "a register");
    assert_eq!(dst.readl(0x4), 0, "migrate = false keeps its reset value");
    assert!(
        dst.take_line_events().is_empty(),
        "loading a line level does not drive the line"
    );
    let d = dst.device();
    assert_eq!(d.fifo, [1, 2, 3], "a plain field");
    assert_eq!(d.ticks, 2, "a plain field");
    assert_eq!(d.cache, 0, "#[state(skip)] keeps its reset value");
    assert!(d.irq.level(), "the line level");
    assert_eq!(d.timer.deadline_ns(), Some(3_000), "the timer's deadline");
    assert_eq!(d.timer.period_ns(), Some(1_000), "the timer's period");
    // The clock is the machine's: move the destination's to the save
    // point, then the timer goes on as on the source.
    dst.advance_ns(2_500);
    assert_eq!(dst.device().ticks, 2, "nothing fired before the deadline");
    dst.advance_ns(1_600);
    assert_eq!(dst.device().ticks, 4, "3000 and 4000 fired");
    assert!(
        dst.line_level(LineRef::Irq(0)),
        "the bus's side of the line (QEMU's interrupt controller) migrates too"
    );
}

#[test]
fn a_newer_device_loads_an_older_stream_keeping_reset_values_of_new_state() {
    let bytes = busy_v1().save_state();
    let mut dst = MockDevice::<V2>::new().unwrap();
    dst.load_state_version(&bytes, 1).unwrap();
    assert_eq!(dst.readl(0x0), 0x1234);
    assert_eq!(
        dst.readl(0x8),
        0x77,
        "since = 2: reset value from a v1 stream"
    );
    let d = dst.device();
    assert_eq!(d.label, None);
    assert_eq!(d.fifo, [1, 2, 3]);
    assert_eq!(d.loaded_version, 1, "post_load sees the stream's version");
    assert_eq!(
        d.cache,
        0x1234 * 2,
        "post_load recomputed the skipped field"
    );
}

#[test]
fn the_current_version_round_trips_every_field() {
    let mut src = MockDevice::<V2>::new().unwrap();
    src.writel(0x8, 0x5);
    src.device_mut().label = Some("qdev".into());
    let mut dst = MockDevice::<V2>::new().unwrap();
    dst.load_state(&src.save_state()).unwrap();
    assert_eq!(dst.readl(0x8), 0x5);
    assert_eq!(dst.device().label.as_deref(), Some("qdev"));
    assert_eq!(dst.device().loaded_version, 2);
}

#[test]
fn a_stream_outside_the_versions_the_device_loads_is_refused() {
    let bytes = MockDevice::<V2>::new().unwrap().save_state();
    let mut v1 = MockDevice::<V1>::new().unwrap();
    let e = v1.load_state_version(&bytes, 2).unwrap_err();
    assert!(
        e.message().contains("cannot load state of version 2"),
        "{e}"
    );
    assert!(e.message().contains("versions 1 to 1"), "{e}");
}

#[test]
fn the_post_load_hook_refuses_state_the_device_cannot_hold() {
    let mut src = busy_v1();
    src.device_mut().fifo.extend([4, 5]); // five bytes, depth 3
    let mut dst = MockDevice::<V2>::new().unwrap();
    let e = dst.load_state_version(&src.save_state(), 1).unwrap_err();
    assert!(e.message().contains("more than its depth 3"), "{e}");
}

#[test]
fn truncated_and_oversized_streams_are_errors_not_panics() {
    let bytes = busy_v1().save_state();
    for n in 0..bytes.len() {
        let mut dst = MockDevice::<V1>::new().unwrap();
        let e = dst.load_state(&bytes[..n]).unwrap_err();
        assert!(e.message().contains("truncated"), "{n}: {e}");
    }
    let mut long = bytes.clone();
    long.push(0);
    let e = MockDevice::<V1>::new()
        .unwrap()
        .load_state(&long)
        .unwrap_err();
    assert!(
        e.message().contains("1 bytes of device state left over"),
        "{e}"
    );
    // A FIFO claiming four billion bytes fails on the missing bytes, without
    // allocating for them.
    let mut w = qdev_runtime::StateWriter::new();
    w.put_u32(0x1234); // ctrl (volatile is not saved)
    w.put_bool(true); // irq
    w.put_u64(u64::MAX); // timer: not armed
    w.put_u64(0); // timer: no period
    w.put_u32(u32::MAX); // fifo length
    let e = MockDevice::<V1>::new()
        .unwrap()
        .load_state(&w.into_bytes())
        .unwrap_err();
    assert!(e.message().contains("truncated"), "{e}");
}
