//! Time and timeouts: timer ticks to and from microseconds, and the one timeout encoding every blocking call shares.
//!
//! The kernel's clock counts timer ticks (62.5 MHz on QEMU `virt`); the ABI
//! speaks microseconds. A timeout ([`tessera_abi::NO_WAIT`], a number of
//! microseconds, or [`tessera_abi::FOREVER`]) becomes a [`Deadline`] here,
//! rounded up to whole ticks so that no call ever wakes early.

use tessera_abi::{FOREVER, NO_WAIT};

/// A timer running at `ticks_per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    ticks_per_second: u64,
}

impl Clock {
    /// A clock that is not set up yet (rate 0, all zero so a kernel's
    /// static state holding one stays in `.bss`): conversions take it as
    /// 1 Hz until [`Clock::new`] replaces it.
    pub const UNSET: Clock = Clock { ticks_per_second: 0 };

    /// The rate conversions use: at least 1.
    const fn rate(&self) -> u64 {
        if self.ticks_per_second == 0 {
            1
        } else {
            self.ticks_per_second
        }
    }
}

/// What a blocking call's timeout means at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// `NO_WAIT`: do not block at all.
    Now,
    /// Wake at this tick at the latest.
    At(u64),
    /// `FOREVER`: no limit.
    Never,
}

impl Deadline {
    /// The tick to wake at, `u64::MAX` for never (how blocked threads keep
    /// it); `None` for [`Deadline::Now`].
    pub const fn until(self) -> Option<u64> {
        match self {
            Deadline::Now => None,
            Deadline::At(tick) => Some(tick),
            Deadline::Never => Some(u64::MAX),
        }
    }
}

impl Clock {
    /// A clock of `ticks_per_second` (at least 1).
    pub const fn new(ticks_per_second: u64) -> Clock {
        Clock { ticks_per_second: if ticks_per_second == 0 { 1 } else { ticks_per_second } }
    }

    /// Its rate.
    pub const fn ticks_per_second(&self) -> u64 {
        self.rate()
    }

    /// `micros` as ticks, rounded up (saturating).
    pub const fn ticks(&self, micros: u64) -> u64 {
        match micros.checked_mul(self.rate()) {
            Some(product) => product.div_ceil(1_000_000),
            // Beyond u64 in tick-microseconds: split to stay exact enough.
            None => (micros / 1_000_000)
                .saturating_mul(self.rate())
                .saturating_add(((micros % 1_000_000) * self.rate()).div_ceil(1_000_000)),
        }
    }

    /// `ticks` as whole microseconds (rounded down).
    pub const fn micros(&self, ticks: u64) -> u64 {
        ticks / self.rate() * 1_000_000 + (ticks % self.rate()) * 1_000_000 / self.rate()
    }

    /// The deadline of a blocking call made at tick `now` with `timeout`
    /// (microseconds; [`NO_WAIT`], [`FOREVER`]).
    pub const fn deadline(&self, now: u64, timeout: u32) -> Deadline {
        match timeout {
            NO_WAIT => Deadline::Now,
            FOREVER => Deadline::Never,
            micros => Deadline::At(now.saturating_add(self.ticks(micros as u64))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIRT: Clock = Clock::new(62_500_000);

    #[test]
    fn conversions_round_the_safe_way() {
        assert_eq!(VIRT.ticks(1), 63, "1 µs is 62.5 ticks: never wake early");
        assert_eq!(VIRT.ticks(1_000_000), 62_500_000);
        assert_eq!(VIRT.micros(63), 1);
        assert_eq!(VIRT.micros(62_500_000), 1_000_000);
        assert_eq!(Clock::new(0).ticks_per_second(), 1, "a zero rate is taken as 1 Hz");
        assert_eq!(Clock::UNSET.ticks(2_000_000), 2, "an unset clock converts at 1 Hz rather than dividing by 0");
    }

    #[test]
    fn the_two_special_timeouts() {
        assert_eq!(VIRT.deadline(1000, NO_WAIT), Deadline::Now);
        assert_eq!(VIRT.deadline(1000, FOREVER), Deadline::Never);
        assert_eq!(VIRT.deadline(1000, 2), Deadline::At(1000 + 125));
        assert_eq!(Deadline::Now.until(), None);
        assert_eq!(Deadline::Never.until(), Some(u64::MAX));
        assert_eq!(VIRT.deadline(u64::MAX - 1, 1_000_000), Deadline::At(u64::MAX));
    }

    #[test]
    fn no_deadline_is_early_and_none_is_more_than_a_tick_late() {
        let mut random = tessera_testing::Rng::new(0x7135);
        for _ in 0..10_000 {
            let rate = 1 + random.next_u64() % 100_000_000;
            let clock = Clock::new(rate);
            let micros = random.next_u64() % (u32::MAX as u64 - 1) + 1;
            let ticks = clock.ticks(micros);
            // ticks / rate seconds >= micros / 1e6 seconds, and less than a tick more.
            assert!(u128::from(ticks) * 1_000_000 >= u128::from(micros) * u128::from(rate), "{rate} {micros}");
            assert!(u128::from(ticks - 1) * 1_000_000 < u128::from(micros) * u128::from(rate), "{rate} {micros}");
            assert!(clock.micros(ticks) >= micros.saturating_sub(1));
        }
    }
}
