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
    /// Division by `ticks_per_second`, set with it.
    per_tick_rate: Reciprocal,
    /// Ticks per microsecond in 32.32 fixed point, rounded up:
    /// `ceil(ticks_per_second * 2^32 / 10^6)` (0 in [`Clock::UNSET`]). A
    /// timeout becomes ticks with two multiplies and no division
    /// ([`Clock::ticks`]), which the A7's assembly does too (svc.s).
    ticks_per_micro: u64,
}

/// Where [`Clock`]'s fixed-point rate lies in it (a `u64`, for svc.s).
pub(crate) const TICKS_PER_MICRO_OFFSET: usize = core::mem::offset_of!(Clock, ticks_per_micro);
// Its width, which svc.s reads it with (`ldrd`): a change fails here.
const _: fn(&Clock) -> u64 = |clock| clock.ticks_per_micro;

/// Microseconds in a second, as a divisor.
const MICROS: Reciprocal = Reciprocal::new(1_000_000);

pub use tessera_abi::divide::Reciprocal;

impl Clock {
    /// A clock that is not set up yet (rate 0, all zero so a kernel's
    /// static state holding one stays in `.bss`): conversions take it as
    /// 1 Hz until [`Clock::new`] replaces it.
    pub const UNSET: Clock = Clock { ticks_per_second: 0, per_tick_rate: Reciprocal::UNSET, ticks_per_micro: 0 };

    /// The rate conversions use: at least 1.
    const fn rate(&self) -> u64 {
        if self.ticks_per_second == 0 {
            1
        } else {
            self.ticks_per_second
        }
    }
}

/// `value / 1_000_000`, rounded up.
const fn div_ceil_micros(value: u64) -> u64 {
    let (quotient, remainder) = MICROS.div_rem(value);
    if remainder == 0 {
        quotient
    } else {
        quotient + 1
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
    /// A clock of `ticks_per_second` (at least 1, at most `u32::MAX`: the
    /// generic timer's frequency register has 32 bits).
    pub const fn new(ticks_per_second: u64) -> Clock {
        let ticks_per_second = if ticks_per_second == 0 {
            1
        } else if ticks_per_second > u32::MAX as u64 {
            u32::MAX as u64
        } else {
            ticks_per_second
        };
        // Below 2^32 * 2^32: the shift cannot overflow.
        let (quotient, remainder) = MICROS.div_rem(ticks_per_second << 32);
        let ticks_per_micro = if remainder == 0 { quotient } else { quotient + 1 };
        Clock { ticks_per_second, per_tick_rate: Reciprocal::new(ticks_per_second), ticks_per_micro }
    }

    /// Its rate.
    pub const fn ticks_per_second(&self) -> u64 {
        self.rate()
    }

    /// `micros` as ticks, never fewer than the exact quotient rounded up
    /// and at most one more: `ceil(micros * ticks_per_micro / 2^32)`. The
    /// fixed-point rate is above the exact one by less than 2^-32 a
    /// microsecond, so the product is above the exact one by less than one
    /// tick (it is exact when `ticks_per_second * 2^32` is a multiple of
    /// 10^6, as for QEMU `virt`'s 62.5 MHz and the M4's 25 MHz). A wait
    /// may end up to a tick late, never early.
    pub const fn ticks(&self, micros: u32) -> u64 {
        if self.ticks_per_micro == 0 {
            return div_ceil_micros(micros as u64); // unset: 1 Hz
        }
        let rate = self.ticks_per_micro;
        // The 96-bit product from two 32 x 32 multiplies: its bits above 32
        // are the whole ticks, the low 32 the fraction to round up.
        let low = micros as u64 * (rate as u32 as u64);
        let high = micros as u64 * (rate >> 32);
        let ticks = high + (low >> 32);
        if low as u32 != 0 {
            ticks + 1
        } else {
            ticks
        }
    }

    /// `ticks` as whole microseconds (rounded down).
    pub const fn micros(&self, ticks: u64) -> u64 {
        let (seconds, rest) = self.per_tick_rate.div_rem(ticks);
        // `rest` is below the rate, which fits in 32 bits: no overflow.
        let fraction = self.per_tick_rate.div_rem(rest * 1_000_000).0;
        seconds.saturating_mul(1_000_000).saturating_add(fraction)
    }

    /// The deadline of a blocking call made at tick `now` with `timeout`
    /// (microseconds; [`NO_WAIT`], [`FOREVER`]).
    pub const fn deadline(&self, now: u64, timeout: u32) -> Deadline {
        match timeout {
            NO_WAIT => Deadline::Now,
            FOREVER => Deadline::Never,
            micros => Deadline::At(now.saturating_add(self.ticks(micros))),
        }
    }
}

/// A 64-bit tick count from a down-counter that reloads every `period`
/// ticks and raises an interrupt each time (Armv7-M's SysTick, 24 bits):
/// whole periods are counted in software when the interrupt is taken, the
/// part of the current one is read from the counter.
///
/// The kernel reads the time with interrupts masked, so a reload may have
/// happened that the interrupt has not counted yet: the reader passes the
/// interrupt's pending bit with the counter value it read (see
/// [`PeriodicCounter::now`] for the order of reads that makes the pair
/// consistent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodicCounter {
    /// Ticks per period (the reload value + 1), at least 2.
    period: u32,
    /// Ticks at the start of the current period, as counted so far.
    base: u64,
}

impl PeriodicCounter {
    /// A counter of `period` ticks per reload (clamped to at least 2: a
    /// SysTick reload value of 0 stops it), at time 0.
    pub const fn new(period: u32) -> PeriodicCounter {
        PeriodicCounter { period: if period < 2 { 2 } else { period }, base: 0 }
    }

    /// Ticks per period.
    pub const fn period(&self) -> u32 {
        self.period
    }

    /// Counts a reload: the interrupt was taken (its pending bit cleared).
    pub fn reloaded(&mut self) {
        self.base += u64::from(self.period);
    }

    /// The time, from a consistent reading: `current`, the down-counter's
    /// value (`period - 1` just after a reload, 0 at the end of a period),
    /// and `pending`, whether a reload is pending that [`reloaded`] has not
    /// counted. To make the pair consistent, read the pending bit, then the
    /// counter, then the pending bit again; if the two bits differ the
    /// reload came between the reads: read the counter once more and use
    /// the second bit (a whole period cannot pass between two reads).
    ///
    /// [`reloaded`]: PeriodicCounter::reloaded
    pub fn now(&self, current: u32, pending: bool) -> u64 {
        let into = u64::from(self.period - 1 - current.min(self.period - 1));
        self.base + into + if pending { u64::from(self.period) } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
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
    fn reciprocal_division_is_exact() {
        let mut random = tessera_testing::Rng::new(0xd1f);
        let edges = [0, 1, 2, 3, 999_999, 1_000_000, 62_500_000, u64::MAX / 2, u64::MAX - 1, u64::MAX];
        let mut divisors: std::vec::Vec<u64> = edges.iter().copied().filter(|&divisor| divisor != 0).collect();
        divisors.extend((0..300).map(|round| random.next_u64() >> (round % 64)).filter(|&divisor| divisor != 0));
        for &divisor in &divisors {
            let reciprocal = Reciprocal::new(divisor);
            let mut dividends = edges.to_vec();
            dividends.extend([divisor - 1, divisor, divisor.saturating_add(1), divisor.saturating_mul(3)]);
            dividends.extend((0..200).map(|round| random.next_u64() >> (round % 64)));
            for dividend in dividends {
                assert_eq!(
                    reciprocal.div_rem(dividend),
                    (dividend / divisor, dividend % divisor),
                    "{dividend} / {divisor}"
                );
            }
        }
        assert_eq!(Clock::UNSET.micros(5), 5_000_000, "an unset clock is 1 Hz");
        assert_eq!(Clock::new(u64::MAX).ticks_per_second(), u64::from(u32::MAX), "rates have 32 bits");
    }

    #[test]
    fn conversions_match_the_exact_arithmetic() {
        let mut random = tessera_testing::Rng::new(0x71c);
        for rate in [1, 1_000, 62_500_000, 24_000_000, 1_000_000_007, u64::from(u32::MAX)] {
            let clock = Clock::new(rate);
            for round in 0..2_000 {
                let value = random.next_u64() >> (round % 64);
                let exact_micros = u128::from(value) * 1_000_000 / u128::from(rate);
                assert_eq!(
                    u128::from(clock.micros(value)),
                    exact_micros.min(u128::from(u64::MAX)),
                    "{value} at {rate}"
                );
                let micros = value as u32;
                let exact_ticks = (u128::from(micros) * u128::from(rate)).div_ceil(1_000_000);
                let ticks = u128::from(clock.ticks(micros));
                if (u128::from(rate) << 32) % 1_000_000 == 0 {
                    assert_eq!(ticks, exact_ticks, "{micros} µs at {rate}: an exact fixed-point rate");
                } else {
                    assert!(ticks == exact_ticks || ticks == exact_ticks + 1, "{micros} µs at {rate}: {ticks}");
                }
            }
        }
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
    fn no_deadline_is_early_and_none_is_more_than_a_tick_late_past_rounding() {
        let mut random = tessera_testing::Rng::new(0x7135);
        for _ in 0..10_000 {
            let rate = 1 + random.next_u64() % 100_000_000;
            let clock = Clock::new(rate);
            let micros = (random.next_u64() % (u32::MAX as u64 - 1) + 1) as u32;
            let ticks = clock.ticks(micros);
            // ticks / rate seconds >= micros / 1e6 seconds, and less than
            // two ticks more (the fixed-point rate's one tick at most, and
            // the rounding up).
            assert!(u128::from(ticks) * 1_000_000 >= u128::from(micros) * u128::from(rate), "{rate} {micros}");
            assert!(u128::from(ticks - 2) * 1_000_000 < u128::from(micros) * u128::from(rate), "{rate} {micros}");
            assert!(clock.micros(ticks) >= u64::from(micros).saturating_sub(1));
        }
    }

    /// A simulated SysTick read in every interleaving of the three reads
    /// with the reload: the time never goes back and is never off by more
    /// than the ticks spent reading.
    #[test]
    fn a_periodic_counter_never_goes_back() {
        for period in [2u32, 3, 7, 25_000, 1 << 24] {
            let mut rng = tessera_testing::Rng::new(u64::from(period));
            let mut clock = PeriodicCounter::new(period);
            // The true time, and whether the interrupt for a reload is
            // waiting (the kernel masks it while it runs).
            let mut time = 0u64;
            let mut pending = false;
            let mut last = 0;
            let tick = |time: &mut u64, pending: &mut bool, ticks: u64| {
                let before = *time / u64::from(period);
                *time += ticks;
                if *time / u64::from(period) != before {
                    *pending = true;
                }
            };
            let counter = |time: u64| period - 1 - (time % u64::from(period)) as u32;
            for _ in 0..20_000 {
                match rng.below(4) {
                    0 if pending => {
                        // The interrupt is taken.
                        clock.reloaded();
                        pending = false;
                    }
                    _ => {
                        // A read, with up to a period's worth of time
                        // between each of the reads (less than one whole
                        // period in all).
                        let mut gaps = [0, 1, 2].map(|_| rng.below(period as usize / 3 + 1) as u64);
                        if pending {
                            // A second reload before the interrupt is
                            // taken cannot happen (see below).
                            let room = u64::from(period) - 1 - time % u64::from(period);
                            gaps = gaps.map(|gap| gap.min(room / 3));
                        }
                        let start = time;
                        let first = pending;
                        tick(&mut time, &mut pending, gaps[0]);
                        let mut value = counter(time);
                        tick(&mut time, &mut pending, gaps[1]);
                        let second = pending;
                        if first != second {
                            tick(&mut time, &mut pending, gaps[2]);
                            value = counter(time);
                        }
                        let now = clock.now(value, second);
                        assert!(now >= last, "period {period}: {now} after {last}");
                        assert!(start <= now && now <= time, "period {period}: {now} outside {start}..={time}");
                        last = now;
                    }
                }
                // Never two reloads uncounted: the kernel takes the
                // interrupt within a period.
                if pending && rng.below(2) == 0 {
                    clock.reloaded();
                    pending = false;
                }
            }
        }
    }
}
