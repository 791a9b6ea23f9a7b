// SPDX-License-Identifier: GPL-2.0-or-later
//! `qdev-i6300esb`: an Intel 6300ESB-compatible watchdog timer (PCI
//! `8086:25ab`), enough for Linux's `i6300esb` driver, modelled after the
//! register behaviour of QEMU's own `i6300esb` (hw/watchdog/wdt_i6300esb.c)
//! and Intel's 6300ESB datasheet.
//!
//! Config space (the device's own registers, through `region(config)`):
//!
//! | offset | name       | width | meaning |
//! |--------|------------|-------|---------|
//! | 0x60   | ESB_CONFIG | 16    | bit 5: no reboot on timeout; bit 2: 1 MHz clock (else 1 kHz); bits 0-1: stage-1 interrupt type |
//! | 0x68   | ESB_LOCK   | 8     | bit 0: locked (no way out); bit 1: enabled; bit 2: free running |
//!
//! BAR 0, 16 bytes of MMIO:
//!
//! | offset | name   | meaning |
//! |--------|--------|---------|
//! | 0x00   | TIMER1 | stage-1 preload (20 bits), writable right after the unlock sequence |
//! | 0x04   | TIMER2 | stage-2 preload (20 bits), likewise |
//! | 0x08   | GINTSR | interrupt status (reads 0: the stage-1 interrupt is not delivered) |
//! | 0x0c   | RELOAD | unlock by writing 0x80 then 0x86; then bit 8 reloads (pings) the timer, bit 9 clears the timeout flag |
//!
//! Counting: a preload `p` lasts `p << 15` ticks of 30 ns with the 1 kHz
//! clock (about 1 ms per unit) or `p << 5` ticks with the 1 MHz clock. When
//! stage 1 runs out, stage 2 starts; when stage 2 runs out the machine's
//! watchdog action runs (`-action watchdog=...`, reset by default) unless
//! ESB_CONFIG bit 5 is set; in free-running mode stage 1 starts again.
//! Left out, as in QEMU's model: the stage-1 interrupt or SMI.

use qdev_runtime::{qemu_device, System, Timer};

/// ESB_CONFIG: do not reboot on timeout.
pub const CONFIG_NO_REBOOT: u16 = 1 << 5;
/// ESB_CONFIG: 1 MHz clock.
pub const CONFIG_1MHZ: u16 = 1 << 2;
/// ESB_CONFIG: stage-1 interrupt type bits.
pub const CONFIG_INT_TYPE: u16 = 0x3;
/// ESB_LOCK: locked.
pub const LOCK_LOCKED: u8 = 1 << 0;
/// ESB_LOCK: enabled.
pub const LOCK_ENABLE: u8 = 1 << 1;
/// ESB_LOCK: free running.
pub const LOCK_FREE_RUN: u8 = 1 << 2;
/// RELOAD: first unlock value.
pub const UNLOCK1: u16 = 0x80;
/// RELOAD: second unlock value.
pub const UNLOCK2: u16 = 0x86;
/// RELOAD: reload (ping) the timer.
pub const RELOAD_PING: u16 = 1 << 8;
/// RELOAD: clear the timeout flag.
pub const RELOAD_CLEAR_TIMEOUT: u16 = 1 << 9;
/// Nanoseconds per tick on PCI.
pub const TICK_NS: u64 = 30;

/// The watchdog.
#[qemu_device(
    name = "qdev-i6300esb",
    desc = "qdev Intel 6300ESB-compatible watchdog",
    pci(vendor = 0x8086, device = 0x25ab, class = 0x0880, revision = 0),
    region(name = "wdt", size = 0x10, bar = 0),
    region(name = "cfg", config),
    register(name = "ESB_CONFIG", region = "cfg", offset = 0x60, width = 16, read = Self::read_config, write = Self::write_config),
    register(name = "ESB_LOCK", region = "cfg", offset = 0x68, width = 8, read = Self::read_lock, write = Self::write_lock),
    register(name = "TIMER1", offset = 0x00, read = Self::read_timer1, write = Self::write_timer1),
    register(name = "TIMER2", offset = 0x04, read = Self::read_timer2, write = Self::write_timer2),
    register(name = "RELOAD", offset = 0x0c, width = 16, read = Self::read_reload, write = Self::write_reload),
    reset = Self::on_reset
)]
#[derive(Debug)]
pub struct I6300Esb {
    /// Interrupt status: the stage-1 interrupt is not modelled.
    #[reg(offset = 0x08, access = ro)]
    gintsr: u32,
    /// The count-down.
    #[timer(callback = Self::expired)]
    timer: Timer,
    /// The machine, for the expiry action.
    #[system]
    system: System,

    reboot_enabled: bool,
    clock_1mhz: bool,
    int_type: u16,
    free_run: bool,
    locked: bool,
    enabled: bool,
    timer1_preload: u32,
    timer2_preload: u32,
    stage: u8,
    unlock_state: u8,
    /// The previous reset was the watchdog's (kept across its own reset).
    timed_out: bool,
}

impl I6300Esb {
    fn on_reset(&mut self) {
        self.timer.stop();
        self.reboot_enabled = true;
        self.clock_1mhz = false;
        self.int_type = 0;
        self.free_run = false;
        self.locked = false;
        self.enabled = false;
        self.timer1_preload = 0xfffff;
        self.timer2_preload = 0xfffff;
        self.stage = 1;
        self.unlock_state = 0;
    }

    /// The length of `stage` in ns.
    pub fn stage_ns(&self, stage: u8) -> u64 {
        let preload = u64::from(if stage <= 1 {
            self.timer1_preload
        } else {
            self.timer2_preload
        });
        let ticks = if self.clock_1mhz {
            preload << 5
        } else {
            preload << 15
        };
        ticks * TICK_NS
    }

    fn restart(&mut self, stage: u8) {
        if !self.enabled {
            return;
        }
        self.stage = stage;
        self.timer.start_oneshot(self.stage_ns(stage));
    }

    fn expired(&mut self) {
        if self.stage == 1 {
            self.restart(2);
            return;
        }
        if self.reboot_enabled {
            self.timed_out = true;
            self.system.watchdog_expired();
            self.on_reset();
        }
        if self.free_run {
            self.restart(1);
        }
    }

    fn read_config(&mut self) -> u16 {
        let mut v = self.int_type;
        if !self.reboot_enabled {
            v |= CONFIG_NO_REBOOT;
        }
        if self.clock_1mhz {
            v |= CONFIG_1MHZ;
        }
        v
    }

    fn write_config(&mut self, v: u16) {
        self.reboot_enabled = v & CONFIG_NO_REBOOT == 0;
        self.clock_1mhz = v & CONFIG_1MHZ != 0;
        self.int_type = v & CONFIG_INT_TYPE;
    }

    fn read_lock(&mut self) -> u8 {
        let mut v = 0;
        if self.free_run {
            v |= LOCK_FREE_RUN;
        }
        if self.locked {
            v |= LOCK_LOCKED;
        }
        if self.enabled {
            v |= LOCK_ENABLE;
        }
        v
    }

    fn write_lock(&mut self, v: u8) {
        if self.locked {
            return;
        }
        self.locked = v & LOCK_LOCKED != 0;
        self.free_run = v & LOCK_FREE_RUN != 0;
        let was = self.enabled;
        self.enabled = v & LOCK_ENABLE != 0;
        if !was && self.enabled {
            self.restart(1);
        } else if !self.enabled {
            self.timer.stop();
        }
    }

    /// Steps the unlock sequence; true when this write is the one the
    /// sequence unlocked (and it is consumed).
    fn unlocked_write(&mut self, offset: u64, v: u32) -> bool {
        if offset == 0x0c && v == u32::from(UNLOCK1) {
            self.unlock_state = 1;
            false
        } else if offset == 0x0c && v == u32::from(UNLOCK2) && self.unlock_state == 1 {
            self.unlock_state = 2;
            false
        } else if self.unlock_state == 2 {
            self.unlock_state = 0;
            true
        } else {
            false
        }
    }

    fn read_timer1(&mut self) -> u32 {
        self.timer1_preload
    }

    fn read_timer2(&mut self) -> u32 {
        self.timer2_preload
    }

    fn write_timer1(&mut self, v: u32) {
        if self.unlocked_write(0x00, v) {
            self.timer1_preload = v & 0xfffff;
        }
    }

    fn write_timer2(&mut self, v: u32) {
        if self.unlocked_write(0x04, v) {
            self.timer2_preload = v & 0xfffff;
        }
    }

    fn read_reload(&mut self) -> u16 {
        if self.timed_out {
            RELOAD_CLEAR_TIMEOUT
        } else {
            0
        }
    }

    fn write_reload(&mut self, v: u16) {
        if self.unlocked_write(0x0c, u32::from(v)) {
            if v & RELOAD_PING != 0 {
                self.restart(1);
            }
            // Linux sets bit 12 for "clear timeout"; the datasheet says 9.
            if v & (RELOAD_CLEAR_TIMEOUT | 0x1000) != 0 {
                self.timed_out = false;
            }
        }
    }
}
