// SPDX-License-Identifier: GPL-2.0-or-later
//! Timers on the virtual clock, whose expiry calls a method of the device
//! (`#[timer(callback = Self::tick)] timer: Timer`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// The state a timer shares with its backend: when it fires next and, for a
/// periodic timer, its period.
#[derive(Debug, Default)]
pub(crate) struct TimerState {
    pub(crate) deadline: Cell<Option<u64>>,
    pub(crate) period: Cell<Option<u64>>,
}

pub(crate) enum TimerSink {
    None,
    #[cfg(feature = "qemu")]
    Qemu {
        timer: *mut qdev_sys::QEMUTimer,
        state: *const TimerState,
    },
    Mock(Rc<RefCell<crate::mock::MockClock>>, usize),
}

/// A timer on QEMU's virtual clock (ns resolution). Its expiry calls the
/// device's callback method; a periodic timer is re-armed first, from its
/// previous deadline, so it does not drift.
pub struct Timer {
    sink: TimerSink,
    local: TimerState,
}

impl Default for Timer {
    fn default() -> Self {
        Timer::with_sink(TimerSink::None)
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline_ns())
            .finish()
    }
}

impl Timer {
    pub(crate) fn with_sink(sink: TimerSink) -> Timer {
        Timer {
            sink,
            local: TimerState::default(),
        }
    }

    fn state(&self) -> &TimerState {
        match &self.sink {
            #[cfg(feature = "qemu")]
            // SAFETY: the state lives in the device instance, which outlives
            // the device and so this handle.
            TimerSink::Qemu { state, .. } => unsafe { &**state },
            _ => &self.local,
        }
    }

    /// The virtual clock, in ns.
    pub fn now_ns(&self) -> u64 {
        match &self.sink {
            TimerSink::None => 0,
            #[cfg(feature = "qemu")]
            TimerSink::Qemu { .. } => crate::qemu::clock_ns(),
            TimerSink::Mock(clock, _) => clock.borrow().now,
        }
    }

    fn arm(&self, deadline: Option<u64>) {
        match &self.sink {
            TimerSink::None => self.local.deadline.set(deadline),
            #[cfg(feature = "qemu")]
            TimerSink::Qemu { timer, state } => {
                // SAFETY: see `state`.
                unsafe { (**state).deadline.set(deadline) };
                crate::qemu::timer_arm(*timer, deadline);
            }
            TimerSink::Mock(clock, i) => {
                clock
                    .borrow_mut()
                    .arm(*i, deadline, self.state().period.get())
            }
        }
    }

    /// Fires once at `deadline_ns` on the virtual clock (a deadline in the
    /// past fires at once). Cancels any period.
    pub fn mod_ns(&self, deadline_ns: u64) {
        self.state().period.set(None);
        self.arm(Some(deadline_ns));
    }

    /// Fires once, `delay_ns` from now.
    pub fn start_oneshot(&self, delay_ns: u64) {
        self.mod_ns(self.now_ns().saturating_add(delay_ns));
    }

    /// Fires every `period_ns` (at least 1), the first time `period_ns`
    /// from now.
    pub fn start_periodic(&self, period_ns: u64) {
        let period = period_ns.max(1);
        self.state().period.set(Some(period));
        self.arm(Some(self.now_ns().saturating_add(period)));
    }

    /// Cancels the timer.
    pub fn stop(&self) {
        self.state().period.set(None);
        self.arm(None);
    }

    /// Whether the timer will fire.
    pub fn pending(&self) -> bool {
        self.deadline_ns().is_some()
    }

    /// The period of a periodic timer.
    pub fn period_ns(&self) -> Option<u64> {
        self.state().period.get()
    }

    /// When the timer fires next.
    pub fn deadline_ns(&self) -> Option<u64> {
        match &self.sink {
            TimerSink::Mock(clock, i) => clock.borrow().deadline(*i),
            _ => self.state().deadline.get(),
        }
    }
}

/// A timer migrates its deadline and period and is re-armed with them on
/// the destination (the virtual clock migrates with the machine).
impl crate::Migrate for Timer {
    fn save(&self, w: &mut crate::StateWriter) {
        w.put_u64(self.deadline_ns().unwrap_or(u64::MAX));
        w.put_u64(self.period_ns().unwrap_or(0));
    }
    fn load(&mut self, r: &mut crate::StateReader<'_>) -> Result<(), crate::Error> {
        let deadline = r.get_u64()?;
        let period = r.get_u64()?;
        self.state().period.set((period != 0).then_some(period));
        self.arm((deadline != u64::MAX).then_some(deadline));
        Ok(())
    }
}
