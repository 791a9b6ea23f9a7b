// SPDX-License-Identifier: GPL-2.0-or-later
//! The watchdog on the mocked bus's virtual clock: both stages expire
//! exactly on schedule, pings hold it off, configuration is honoured.

use qdev_i6300esb::*;
use qdev_runtime::mock::{BusEvent, MockDevice};
use qdev_runtime::SystemRequest;

fn wdt() -> MockDevice<I6300Esb> {
    MockDevice::<I6300Esb>::new().unwrap()
}

fn unlock(d: &mut MockDevice<I6300Esb>) {
    d.writew(0x0c, UNLOCK1);
    d.writew(0x0c, UNLOCK2);
}

/// Preloads of 512 (Linux's value for a 1 s heartbeat) and enable.
fn arm(d: &mut MockDevice<I6300Esb>) -> u64 {
    unlock(d);
    d.writel(0x00, 512);
    unlock(d);
    d.writel(0x04, 512);
    d.config_write(0x68, 1, u64::from(LOCK_ENABLE));
    512 << 15 // ticks per stage
}

fn expiries(d: &mut MockDevice<I6300Esb>) -> usize {
    d.take_events()
        .iter()
        .filter(|e| **e == BusEvent::System(SystemRequest::WatchdogExpired))
        .count()
}

#[test]
fn both_stages_run_out_then_the_watchdog_action_runs() {
    let mut d = wdt();
    let stage = arm(&mut d) * TICK_NS;
    assert_eq!(stage, 503_316_480, "about half a second per stage");
    d.advance_ns(2 * stage - 1);
    assert_eq!(expiries(&mut d), 0);
    d.advance_ns(1);
    assert_eq!(expiries(&mut d), 1, "exactly at the end of stage 2");
    assert_eq!(
        d.readw(0x0c) & RELOAD_CLEAR_TIMEOUT,
        RELOAD_CLEAR_TIMEOUT,
        "timeout flag"
    );
    assert_eq!(
        d.config_read(0x68, 1) & u64::from(LOCK_ENABLE),
        0,
        "reset after firing"
    );
}

#[test]
fn pings_keep_the_machine_alive() {
    let mut d = wdt();
    let stage = arm(&mut d) * TICK_NS;
    for _ in 0..10 {
        d.advance_ns(stage);
        unlock(&mut d);
        d.writew(0x0c, RELOAD_PING);
    }
    assert_eq!(expiries(&mut d), 0);
    d.advance_ns(2 * stage);
    assert_eq!(expiries(&mut d), 1, "stopped pinging");
}

#[test]
fn preloads_need_the_unlock_sequence() {
    let mut d = wdt();
    d.writel(0x00, 5);
    assert_eq!(d.readl(0x00), 0xfffff, "locked: ignored");
    unlock(&mut d);
    d.writel(0x00, 5);
    assert_eq!(d.readl(0x00), 5);
    d.writel(0x00, 6);
    assert_eq!(d.readl(0x00), 5, "one write per unlock");
}

#[test]
fn no_reboot_bit_suppresses_the_action() {
    let mut d = wdt();
    d.config_write(0x60, 2, u64::from(CONFIG_NO_REBOOT));
    let stage = arm(&mut d) * TICK_NS;
    d.advance_ns(10 * stage);
    assert_eq!(expiries(&mut d), 0);
    assert_eq!(
        d.config_read(0x60, 2) & u64::from(CONFIG_NO_REBOOT),
        u64::from(CONFIG_NO_REBOOT)
    );
}

#[test]
fn lock_bit_keeps_it_enabled() {
    let mut d = wdt();
    arm(&mut d);
    d.config_write(0x68, 1, u64::from(LOCK_ENABLE | LOCK_LOCKED));
    d.config_write(0x68, 1, 0);
    assert_eq!(
        d.config_read(0x68, 1) as u8 & LOCK_ENABLE,
        LOCK_ENABLE,
        "no way out"
    );
}

#[test]
fn one_mhz_clock_is_1024_times_faster() {
    let mut d = wdt();
    d.config_write(0x60, 2, u64::from(CONFIG_1MHZ));
    arm(&mut d);
    assert_eq!(d.device().stage_ns(1), (512 << 5) * TICK_NS);
}
