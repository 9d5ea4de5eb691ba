//! Sleeping, time since boot, and periodic timers.
//!
//! ```ignore
//! use tessera_sdk::time::{self, Duration, Instant, Timer};
//! let start = Instant::now();
//! time::sleep(Duration::from_millis(10));
//! assert!(start.elapsed() >= Duration::from_millis(10));
//! let mut tick = Timer::every(Duration::from_millis(500));
//! loop {
//!     tick.wait(); // every 500 ms, without drift
//! }
//! ```

pub use core::time::Duration;

/// A point in time: microseconds since boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    micros: u64,
}

impl Instant {
    /// Now.
    pub fn now() -> Instant {
        Instant { micros: tessera_rt::uptime_micros() }
    }

    /// Time since boot.
    pub fn since_boot(&self) -> Duration {
        Duration::from_micros(self.micros)
    }

    /// Time since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_micros(self.micros.saturating_sub(earlier.micros))
    }

    /// `self` plus `duration`.
    pub fn after(&self, duration: Duration) -> Instant {
        Instant { micros: self.micros.saturating_add(micros(duration)) }
    }
}

/// `duration` in whole microseconds (as many as fit in 64 bits), in
/// 64-bit arithmetic: `Duration::as_micros` works in 128 bits.
pub(crate) fn micros(duration: Duration) -> u64 {
    duration.as_secs().saturating_mul(1_000_000).saturating_add(u64::from(duration.subsec_micros()))
}

/// Blocks for at least `duration`.
pub fn sleep(duration: Duration) {
    sleep_until(Instant::now().after(duration));
}

/// Blocks until `deadline` (returns at once if it has passed).
pub fn sleep_until(deadline: Instant) {
    loop {
        let left = deadline.duration_since(Instant::now()).as_micros();
        if left == 0 {
            return;
        }
        // The kernel's sleep takes 32 bits of microseconds (about 71 min).
        tessera_rt::sleep_micros(u32::try_from(left).unwrap_or(u32::MAX));
    }
}

/// A periodic timer: [`wait`](Timer::wait) returns once per period, on a
/// fixed schedule (a late wake-up does not shift the next one).
#[derive(Clone, Copy, Debug)]
pub struct Timer {
    period: Duration,
    next: Instant,
}

impl Timer {
    /// A timer whose first period ends `period` from now.
    pub fn every(period: Duration) -> Timer {
        Timer { period, next: Instant::now().after(period) }
    }

    /// Waits for the end of the current period. If whole periods were
    /// missed, it returns at once and skips them; returns how many.
    pub fn wait(&mut self) -> u32 {
        sleep_until(self.next);
        let mut missed = 0;
        self.next = self.next.after(self.period);
        let now = Instant::now();
        while self.next <= now && !self.period.is_zero() {
            self.next = self.next.after(self.period);
            missed += 1;
        }
        missed
    }
}
