//! Division without the compiler's library routines. The Cortex-A7
//! kernel is built for Armv7-A without the optional divide instructions,
//! so every 64-bit division, and every 32-bit one by a value not known at
//! compile time, calls `__aeabi_uldivmod` or `__aeabi_uidiv`: about 1.7 KiB
//! of library code in a kernel whose image is measured by the page
//! (`kernel_image_bytes`), and a few hundred instructions a call.
//! [`Reciprocal`] divides by a divisor fixed in advance with a multiply
//! (the clock, the console's budget), and [`div_rem`] by anything, bit by
//! bit (64 steps, about 400 instructions): setting a reciprocal up at
//! boot, and a token bucket's refill when it earns a token (for the
//! console, at most once per write). `cargo xtask test` checks that no
//! user or test kernel links a divide routine
//! (`kernel-without-core-fmt-or-division`).

/// `(dividend / divisor, dividend % divisor)`, one bit at a time: 64
/// steps of a shift, a compare and a subtract; a divisor of 0 is taken as
/// one. Out of line: one copy serves every caller. On the M4
/// (`thumbv7em-none-eabihf`), which divides 32-bit numbers in hardware,
/// the library's 64-bit division is faster and no larger.
#[inline(never)]
pub const fn div_rem(dividend: u64, divisor: u64) -> (u64, u64) {
    let divisor = if divisor == 0 { 1 } else { divisor };
    if cfg!(all(target_arch = "arm", target_abi = "eabihf")) {
        return (dividend / divisor, dividend % divisor);
    }
    let mut quotient = 0u64;
    let mut remainder = 0u64;
    let mut bit = 64;
    while bit > 0 {
        bit -= 1;
        // The remainder is below the divisor, so shifting it left by one
        // loses a bit only if the divisor has its top bit set; then the
        // (129-bit) remainder is at least the divisor and the subtraction
        // below wraps to the right value.
        let carry = remainder >> 63;
        remainder = (remainder << 1) | ((dividend >> bit) & 1);
        if carry != 0 || remainder >= divisor {
            remainder = remainder.wrapping_sub(divisor);
            quotient |= 1 << bit;
        }
    }
    (quotient, remainder)
}

/// Division of 64-bit numbers by a divisor fixed in advance, by a multiply
/// with its reciprocal and at most two corrections: exact for every
/// dividend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reciprocal {
    /// The divisor; 0 only in [`Reciprocal::UNSET`], which divides by 1.
    divisor: u64,
    /// `floor((2^64 - 1) / divisor)`.
    multiplier: u64,
}

impl Reciprocal {
    /// All zero, so a static holding one stays in `.bss`: divides by 1.
    pub const UNSET: Reciprocal = Reciprocal { divisor: 0, multiplier: 0 };

    /// Division by `divisor` (0 is taken as 1).
    pub const fn new(divisor: u64) -> Reciprocal {
        let divisor = if divisor == 0 { 1 } else { divisor };
        Reciprocal { divisor, multiplier: div_rem(u64::MAX, divisor).0 }
    }

    /// `(dividend / divisor, dividend % divisor)`. Out of line: one copy
    /// of the multiply serves the clock's and the console's divisions,
    /// about 380 bytes less of the A7 kernel (measured by the page) for a
    /// call on each uptime and timed wait.
    #[inline(never)]
    pub const fn div_rem(&self, dividend: u64) -> (u64, u64) {
        if self.divisor == 0 {
            return (dividend, 0);
        }
        // `multiplier / 2^64` is below `1 / divisor` by less than
        // `2 / 2^64`, so the estimate is the quotient or up to two less
        // (never more: `quotient * divisor` cannot exceed the dividend).
        // Two corrections written out: a loop here the compiler turns
        // back into a division.
        let mut quotient = high_product(dividend, self.multiplier);
        let mut remainder = dividend - quotient * self.divisor;
        if remainder >= self.divisor {
            quotient += 1;
            remainder -= self.divisor;
            if remainder >= self.divisor {
                quotient += 1;
                remainder -= self.divisor;
            }
        }
        (quotient, remainder)
    }
}

/// Counter ticks to whole microseconds for a counter faster than 1 MHz,
/// with one fixed-point multiply and one correction: exact for every
/// count (`floor(ticks * 10^6 / frequency)`, what the kernel's clock
/// answers `Uptime` with), without a division. User mode reads the A7's
/// counter itself (docs/abi.md) and converts with this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MicrosFromTicks {
    frequency: u64,
    /// `floor(2^64 * 10^6 / frequency)`, below 2^64 since the frequency
    /// is above 10^6.
    rate: u64,
}

impl MicrosFromTicks {
    /// The conversion for a counter of `frequency` Hz: `None` unless it is
    /// above 1 MHz and fits the generic timer's 32-bit frequency register.
    pub const fn new(frequency: u64) -> Option<MicrosFromTicks> {
        if frequency <= 1_000_000 || frequency > u32::MAX as u64 {
            return None;
        }
        // 10^6 * 2^64 / frequency in two 32-bit digits (long division):
        // the high digit is below 2^32 because the frequency is above
        // 10^6, and each partial dividend fits in 64 bits.
        let (high, rest) = div_rem(1_000_000 << 32, frequency);
        let (low, _) = div_rem(rest << 32, frequency);
        Some(MicrosFromTicks { frequency, rate: (high << 32) | low })
    }

    /// The frequency and the rate, to keep: [`MicrosFromTicks::from_parts`]
    /// makes the same conversion again without the divisions.
    pub const fn parts(&self) -> (u64, u64) {
        (self.frequency, self.rate)
    }

    /// The conversion whose [`MicrosFromTicks::parts`] these are (other
    /// parts give wrong times, nothing worse).
    pub const fn from_parts(frequency: u64, rate: u64) -> MicrosFromTicks {
        MicrosFromTicks { frequency, rate }
    }

    /// `floor(ticks * 10^6 / frequency)`.
    #[inline]
    pub const fn micros(&self, ticks: u64) -> u64 {
        // `rate / 2^64` is below `10^6 / frequency` by less than `1 / 2^64`,
        // so the estimate is the quotient or one less, and the remainder
        // it leaves is below twice the frequency: exact in 64 bits even
        // where `ticks * 10^6` is not.
        let estimate = high_product(ticks, self.rate);
        let remainder = ticks.wrapping_mul(1_000_000).wrapping_sub(estimate.wrapping_mul(self.frequency));
        if remainder >= self.frequency {
            estimate + 1
        } else {
            estimate
        }
    }
}

/// Whole microseconds from counter ticks read often and in order, most
/// within a second of the last exact conversion: the ticks since it times
/// a 32-bit rate (one 32 x 32 bit multiply), and the exact conversion
/// again once a second or more has passed (or the count went back).
/// Never ahead of [`MicrosFromTicks::micros`] and at most 2 behind it (the
/// rate's floor and the two floors of the sum); never back for counts in
/// order (each exact conversion is at or above the estimates before it).
#[derive(Clone, Copy, Debug)]
pub struct SteppedMicros {
    conversion: MicrosFromTicks,
    /// `floor(2^32 * 10^6 / frequency)`: the rate's high word.
    per_tick: u32,
    /// The count of the last exact conversion, and its microseconds.
    base: (u64, u64),
}

impl SteppedMicros {
    /// Steps from `conversion`, the first exact one at the first count a
    /// second or more after 0.
    pub const fn new(conversion: MicrosFromTicks) -> SteppedMicros {
        SteppedMicros { conversion, per_tick: (conversion.rate >> 32) as u32, base: (0, 0) }
    }

    /// Microseconds at `ticks`.
    #[inline]
    pub fn micros(&mut self, ticks: u64) -> u64 {
        let since = ticks.wrapping_sub(self.base.0);
        // Below the frequency, so below 2^32: one 32 x 32 bit multiply.
        if since < self.conversion.frequency {
            return self.base.1 + ((u64::from(since as u32) * u64::from(self.per_tick)) >> 32);
        }
        self.base = (ticks, self.conversion.micros(ticks));
        self.base.1
    }
}

/// The high 64 bits of the 128-bit product `a * b`, from four 32 x 32
/// bit multiplies (a `u128` multiply would call a library routine).
const fn high_product(a: u64, b: u64) -> u64 {
    let (a_low, a_high) = (a & 0xffff_ffff, a >> 32);
    let (b_low, b_high) = (b & 0xffff_ffff, b >> 32);
    let low_low = a_low * b_low;
    let low_high = a_low * b_high;
    let high_low = a_high * b_low;
    let high_high = a_high * b_high;
    // The middle 32-bit column with the carry out of the low one.
    let middle = (low_low >> 32) + (low_high & 0xffff_ffff) + (high_low & 0xffff_ffff);
    high_high + (low_high >> 32) + (high_low >> 32) + (middle >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dividends and divisors at the edges: 0, 1, powers of two and their
    /// neighbours, the top bit set, `u64::MAX`.
    fn edges() -> impl Iterator<Item = u64> {
        (0..64).flat_map(|shift| {
            let power = 1u64 << shift;
            [power - 1, power, power + 1, u64::MAX - power, u64::MAX >> shift]
        })
    }

    #[test]
    fn bit_by_bit_division_agrees_with_the_operator() {
        for dividend in edges() {
            for divisor in edges().filter(|&divisor| divisor != 0) {
                assert_eq!(
                    div_rem(dividend, divisor),
                    (dividend / divisor, dividend % divisor),
                    "{dividend} / {divisor}"
                );
            }
        }
        assert_eq!(div_rem(7, 0), (7, 0));
    }

    #[test]
    fn microseconds_from_ticks_are_exact() {
        // The boards' rates, rates near the edges, and odd ones.
        let rates =
            [62_500_000, 24_000_000, 26_000_000, 1_000_001, 1_048_576, 19_200_000, 999_999_937, u32::MAX as u64];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for frequency in rates {
            let conversion = MicrosFromTicks::new(frequency).unwrap();
            let random = core::iter::from_fn(|| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                Some(state)
            });
            let near_seconds = (0..2000u64).flat_map(|second| {
                let at = second.wrapping_mul(frequency).wrapping_mul(0x1_0001);
                [at.wrapping_sub(1), at, at + 1]
            });
            for ticks in edges().chain(near_seconds).chain(random.take(20_000)) {
                let exact = (u128::from(ticks) * 1_000_000 / u128::from(frequency)) as u64;
                assert_eq!(conversion.micros(ticks), exact, "{ticks} ticks at {frequency} Hz");
            }
        }
        assert_eq!(MicrosFromTicks::new(1_000_000), None, "1 MHz and slower: no conversion");
        assert_eq!(MicrosFromTicks::new(0), None);
        assert_eq!(MicrosFromTicks::new(u32::MAX as u64 + 1), None);
    }

    #[test]
    fn stepped_microseconds_trail_the_exact_ones_by_at_most_two_and_never_go_back() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for frequency in [62_500_000, 24_000_000, 26_000_000, 1_000_001, 19_200_000, 999_999_937, u32::MAX as u64] {
            let conversion = MicrosFromTicks::new(frequency).unwrap();
            let mut stepped = SteppedMicros::new(conversion);
            let (mut ticks, mut last) = (0u64, 0u64);
            for round in 0..50_000 {
                // Steps of a few ticks, of about a second, and of days.
                ticks += match round % 7 {
                    0 => next() % (2 * frequency),
                    1 => frequency - 1 + next() % 3,
                    2 if round % 1000 == 2 => next() % (frequency << 20),
                    _ => next() % 5000,
                };
                let (exact, estimate) = (conversion.micros(ticks), stepped.micros(ticks));
                assert!(
                    estimate <= exact && exact - estimate <= 2,
                    "{ticks} ticks at {frequency} Hz: {estimate} for {exact}"
                );
                assert!(estimate >= last, "{ticks} ticks at {frequency} Hz: {estimate} after {last}");
                last = estimate;
            }
        }
    }

    #[test]
    fn a_reciprocal_divides_exactly() {
        for divisor in edges().chain([1000, 1_000_000, 62_500_000, 25_000_000, 26_000_000, 24_000_000]) {
            let reciprocal = Reciprocal::new(divisor);
            let divisor = divisor.max(1);
            for dividend in
                edges().chain([divisor.saturating_mul(3) - 1, divisor.saturating_mul(3), u64::MAX / divisor * divisor])
            {
                assert_eq!(reciprocal.div_rem(dividend), (dividend / divisor, dividend % divisor));
            }
        }
        assert_eq!(Reciprocal::UNSET.div_rem(12_345), (12_345, 0));
    }

    #[test]
    fn the_high_product_is_the_top_of_the_128_bit_one() {
        for (a, b) in [(u64::MAX, u64::MAX), (u64::MAX, 1), (1 << 32, 1 << 32), (0xffff_ffff, 0xffff_ffff)] {
            assert_eq!(high_product(a, b), ((a as u128 * b as u128) >> 64) as u64);
        }
    }

    #[test]
    fn random_divisions_agree_with_the_operator() {
        // xorshift64*: reproducible.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for _ in 0..20_000 {
            let (dividend, shift) = (next(), next() % 64);
            let divisor = (next() >> shift).max(1);
            assert_eq!(div_rem(dividend, divisor), (dividend / divisor, dividend % divisor));
            assert_eq!(Reciprocal::new(divisor).div_rem(dividend), (dividend / divisor, dividend % divisor));
        }
    }
}
