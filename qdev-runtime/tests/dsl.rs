// SPDX-License-Identifier: GPL-2.0-or-later
//! The DSL's behaviour on the mocked bus, one device using every kind of
//! register, hook, property and line. (The same generated dispatch runs in
//! QEMU; `tests/tests/gpio.rs` checks a device there.)

use qdev_runtime::log::LogClass;
use qdev_runtime::mock::{LineEvent, MockDevice};
use qdev_runtime::{qemu_device, Device, Error, Irq, LineRef, PropertyKind};

#[qemu_device(
    name = "dsl-test",
    sysbus,
    region(name = "a", size = 0x100),
    region(name = "b", size = 0x40),
    register(name = "COUNTER", offset = 0x30, width = 16, read = Self::counter, write = Self::set_counter),
    register(name = "FIFO", region = "b", offset = 0x10, read = Self::pop),
    gpio_in(name = "wake", count = 2, handler = Self::wake),
    gpio_in(count = 1, handler = Self::unnamed_in),
    realize = Self::realize_hook,
    reset = Self::reset_hook,
    unrealize = Self::unrealize_hook
)]
/// A device using every kind of register, hook, property and line.
#[derive(Debug)]
pub struct DslTest {
    #[reg(offset = 0x00, access = w1s)]
    set_bits: u8,
    #[reg(offset = 0x02, access = w0c, reset = 0xffff)]
    zero_clear: u16,
    #[reg(offset = 0x04, access = toggle)]
    flip: u32,
    #[reg(offset = 0x08, access = rs)]
    set_on_read: u32,
    #[reg(offset = 0x10, access = rw, reset = 0x1122_3344_5566_7788)]
    wide: u64,
    #[reg(offset = 0x18, access = rw, before_write = Self::clamp, write = Self::written, after_read = Self::was_read)]
    hooked: u32,
    #[reg(offset = 0x20, access = rw, count = 2, stride = 8, write = Self::slot_written)]
    slots: [u32; 2],
    #[reg(region = "b", offset = 0x00, access = wo)]
    command: u32,
    #[reg(region = "b", offset = 0x04, access = rw, unimplemented = 0xf0)]
    mode: u8,

    #[property(default = -5, min = -10, max = 10)]
    offset: i32,
    #[property(default = 1_000_000_000_000)]
    big: u64,
    #[property(default = 7)]
    small: u16,
    #[property(default = -1)]
    wide_signed: i64,
    #[property(default = 3)]
    tiny: u8,
    #[property(default = true)]
    enabled: bool,
    #[property]
    tag: String,

    #[irq]
    irqs: [Irq; 2],
    #[gpio_out(name = "led")]
    led: Irq,

    log: Vec<String>,
    count: u16,
    fifo: Vec<u32>,
}

impl DslTest {
    fn clamp(&mut self, old: u32, new: u32) -> u32 {
        self.log.push(format!("before {old:#x}->{new:#x}"));
        new.min(1000)
    }
    fn written(&mut self, value: u32) {
        self.log.push(format!("after {value}"));
    }
    fn was_read(&mut self, value: u32) {
        self.log.push(format!("read {value}"));
    }
    fn slot_written(&mut self, index: usize, value: u32) {
        self.log.push(format!("slot {index} = {value}"));
    }
    fn counter(&mut self) -> u16 {
        self.count = self.count.wrapping_add(1);
        self.count
    }
    fn set_counter(&mut self, v: u16) {
        self.count = v;
    }
    fn pop(&mut self) -> u32 {
        if self.fifo.is_empty() {
            0
        } else {
            self.fifo.remove(0)
        }
    }
    fn wake(&mut self, line: u32, level: bool) {
        self.irqs[line as usize].set(level);
    }
    fn unnamed_in(&mut self, _line: u32, level: bool) {
        self.led.set(level);
    }
    fn realize_hook(&mut self) -> Result<(), Error> {
        if self.tag == "bad" {
            return Err(Error::new("tag 'bad' is refused"));
        }
        self.fifo = vec![1, 2, 3];
        Ok(())
    }
    fn reset_hook(&mut self) {
        self.log.push("reset".into());
    }
    fn unrealize_hook(&mut self) {
        self.log.push("unrealize".into());
    }
}

fn dev() -> MockDevice<DslTest> {
    MockDevice::<DslTest>::new().unwrap()
}

#[test]
fn descriptor_lists_regions_registers_and_properties() {
    let d = DslTest::DESCRIPTOR;
    assert_eq!(d.name, "dsl-test");
    assert_eq!(d.regions.len(), 2);
    assert_eq!((d.regions[0].name, d.regions[0].size), ("a", 0x100));
    let names: Vec<&str> = d.regions[0].registers.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "SET_BITS",
            "ZERO_CLEAR",
            "FLIP",
            "SET_ON_READ",
            "WIDE",
            "HOOKED",
            "SLOTS",
            "COUNTER"
        ]
    );
    assert_eq!(d.irqs, 2);
    assert_eq!(d.gpio_out[0].name, Some("led"));
    assert_eq!(d.gpio_in.len(), 2);
    let p = d.property("wide-signed").unwrap();
    assert_eq!((p.kind, p.default), (PropertyKind::I64, -1));
    assert_eq!(d.property("offset").unwrap().range, Some((-10, 10)));
    assert_eq!(d.property("tag").unwrap().kind, PropertyKind::Str);
}

#[test]
fn w1s_sets_w0c_clears_toggle_flips() {
    let mut d = dev();
    d.writeb(0x00, 0b0001);
    d.writeb(0x00, 0b0100);
    assert_eq!(d.readb(0x00), 0b0101);
    d.writew(0x02, 0xff0f);
    assert_eq!(d.readw(0x02), 0xff0f);
    d.writel(0x04, 0b11);
    d.writel(0x04, 0b01);
    assert_eq!(d.readl(0x04), 0b10);
}

#[test]
fn set_on_read_returns_old_value_then_all_ones() {
    let mut d = dev();
    assert_eq!(d.readl(0x08), 0);
    assert_eq!(d.readl(0x08), 0xffff_ffff);
}

#[test]
fn sixty_four_bit_register_by_halves_and_bytes() {
    let mut d = dev();
    assert_eq!(d.readq(0x10), 0x1122_3344_5566_7788);
    assert_eq!(d.readl(0x14), 0x1122_3344);
    assert_eq!(d.readb(0x17), 0x11);
    d.writel(0x10, 0xaabb_ccdd);
    assert_eq!(d.readq(0x10), 0x1122_3344_aabb_ccdd);
}

#[test]
fn hooks_run_in_order_and_before_write_changes_the_stored_value() {
    let mut d = dev();
    d.writel(0x18, 5000);
    assert_eq!(d.readl(0x18), 1000);
    assert_eq!(
        d.device().log[1..],
        ["before 0x0->0x1388", "after 1000", "read 1000"]
    );
}

#[test]
fn array_hooks_get_the_index_and_gaps_are_unmapped() {
    let mut d = dev();
    d.writel(0x28, 9);
    assert_eq!(d.readl(0x28), 9);
    assert_eq!(d.device().log.last().unwrap(), "slot 1 = 9");
    d.take_log();
    assert_eq!(d.readl(0x24), 0, "between the slots");
    assert!(d.take_log()[0]
        .message
        .contains("unmapped offset 0x24 of region 'a'"));
}

#[test]
fn method_registers_read_and_write_through_methods() {
    let mut d = dev();
    assert_eq!(d.readw(0x30), 1);
    assert_eq!(d.readw(0x30), 2);
    d.writew(0x30, 100);
    assert_eq!(d.readw(0x30), 101);
    assert_eq!(d.read(1, 0x10, 4), 1, "FIFO pops in region b");
    assert_eq!(d.read(1, 0x10, 4), 2);
    d.take_log();
    d.write(1, 0x10, 4, 5);
    assert!(d.take_log()[0].message.contains("read-only register FIFO"));
}

#[test]
fn write_only_register_in_second_region() {
    let mut d = dev();
    d.write(1, 0x00, 4, 0x42);
    assert_eq!(d.device().command, 0x42);
    d.take_log();
    assert_eq!(d.read(1, 0x00, 4), 0);
    assert_eq!(d.take_log()[0].class, LogClass::GuestError);
}

#[test]
fn properties_of_every_type_with_defaults_and_overrides() {
    let d = dev();
    let s = d.device();
    assert_eq!(
        (s.offset, s.big, s.small, s.wide_signed, s.tiny, s.enabled),
        (-5, 1_000_000_000_000, 7, -1, 3, true)
    );
    assert_eq!(s.tag, "");
    let d = MockDevice::<DslTest>::builder()
        .prop("offset", -10)
        .prop("tiny", 255u8)
        .prop("enabled", false)
        .prop("tag", "x")
        .build()
        .unwrap();
    let s = d.device();
    assert_eq!(
        (s.offset, s.tiny, s.enabled, s.tag.as_str()),
        (-10, 255, false, "x")
    );
}

#[test]
fn integer_properties_reject_values_outside_their_type_or_range() {
    let e = MockDevice::<DslTest>::builder()
        .prop("tiny", 256)
        .build()
        .err()
        .unwrap();
    assert!(
        e.message().contains("'dsl-test.tiny' doesn't take value"),
        "{e}"
    );
    let e = MockDevice::<DslTest>::builder()
        .prop("offset", 11)
        .build()
        .err()
        .unwrap();
    assert_eq!(
        e.message(),
        "property 'offset' must be between -10 and 10, not 11"
    );
}

#[test]
fn realize_hook_error_fails_the_build() {
    let e = MockDevice::<DslTest>::builder()
        .prop("tag", "bad")
        .build()
        .err()
        .unwrap();
    assert_eq!(e.message(), "tag 'bad' is refused");
}

#[test]
fn gpio_inputs_reach_their_handlers_and_lines_record_in_order() {
    let mut d = dev();
    d.set_gpio_in(0, 1, true);
    d.set_gpio_in(1, 0, true);
    d.set_gpio_in(0, 1, false);
    assert_eq!(
        d.take_line_events(),
        [
            LineEvent::new(LineRef::Irq(1), true),
            LineEvent::new(LineRef::GpioOut { group: 0, line: 0 }, true),
            LineEvent::new(LineRef::Irq(1), false),
        ]
    );
}

#[test]
fn reset_restores_registers_and_runs_the_hook() {
    let mut d = dev();
    d.writew(0x02, 0);
    d.writel(0x10, 0);
    d.reset();
    assert_eq!(d.readw(0x02), 0xffff);
    assert_eq!(d.readq(0x10), 0x1122_3344_5566_7788);
    assert_eq!(
        d.device().log.iter().filter(|l| *l == "reset").count(),
        2,
        "build and reset"
    );
}

#[test]
fn unrealize_hook_runs() {
    let mut d = dev();
    d.device_mut().unrealize();
    assert_eq!(d.device().log.last().unwrap(), "unrealize");
}

#[test]
fn access_crossing_a_register_end_is_refused() {
    let mut d = dev();
    d.take_log();
    assert_eq!(d.readl(0x02), 0, "4 bytes from a 2-byte register");
    assert!(d.take_log()[0]
        .message
        .contains("runs past the end of register ZERO_CLEAR"));
}

#[test]
fn writes_to_unimplemented_bits_are_logged_as_unimp_and_stored() {
    let mut d = dev();
    d.take_log();
    d.write(1, 0x04, 1, 0x0f);
    assert!(d.take_log().is_empty(), "implemented bits only");
    d.write(1, 0x04, 1, 0x3f);
    let log = d.take_log();
    assert_eq!(log[0].class, LogClass::Unimplemented);
    assert!(
        log[0].message.contains("unimplemented bits 0x30"),
        "{:?}",
        log[0]
    );
    assert_eq!(d.read(1, 0x04, 1), 0x3f);
}
