//! Token buckets refilled with time, as the kernel's console budget and
//! the Pluton security server's share of costly requests keep them.

/// Refills a bucket of `tokens` (at most `burst`) last refilled at
/// `refilled_at` (milliseconds since boot, wrapping) for the time up to
/// `now_ms`, at `per_second` tokens a second; returns the new
/// `(tokens, refilled_at)`. Only whole tokens are earned; the time of a
/// token not yet whole carries over (a full bucket owes nothing, so then
/// `refilled_at` is `now_ms`). A bucket left alone for a multiple of 49.7
/// days may earn less than it should, never more.
pub const fn refill(tokens: u32, refilled_at: u32, now_ms: u32, per_second: u32, burst: u32) -> (u32, u32) {
    let elapsed = now_ms.wrapping_sub(refilled_at);
    // `elapsed * per_second / 1000` with no 64-bit division (the kernel has
    // no divide routine, `crate::divide`): whole seconds at the full rate,
    // then the milliseconds at the rate's thousands and at its rest.
    let (seconds, millis) = (elapsed / 1000, elapsed % 1000);
    let (per_milli, rest) = (per_second / 1000, per_second % 1000);
    // `millis * per_milli` <= 999 * 4,294,967 = 4,290,672,033: fits.
    let earned = seconds as u64 * per_second as u64 + (millis * per_milli) as u64 + (millis * rest / 1000) as u64;
    if earned == 0 {
        return (tokens, refilled_at);
    }
    let sum = tokens as u64 + earned;
    if sum >= burst as u64 {
        return (burst, now_ms);
    }
    // The time those tokens took, rounded up (never more than `elapsed`,
    // as `earned` was rounded down): no millisecond is paid for twice.
    let (whole, part) = crate::divide::div_rem(earned * 1000, per_second as u64);
    let took = (whole + (part != 0) as u64) as u32;
    (sum as u32, refilled_at.wrapping_add(took))
}

#[cfg(test)]
mod tests {
    use super::refill;

    #[test]
    fn whole_tokens_only_and_the_rest_carries_over() {
        // 4 a second: one every 250 ms.
        assert_eq!(refill(0, 0, 249, 4, 10), (0, 0));
        assert_eq!(refill(0, 0, 260, 4, 10), (1, 250));
        assert_eq!(refill(1, 250, 500, 4, 10), (2, 500));
        // Full: nothing owed.
        assert_eq!(refill(9, 0, 10_000, 4, 10), (10, 10_000));
        // Across the wrap of the millisecond clock.
        assert_eq!(refill(0, u32::MAX - 99, 400, 4, 10), (2, 400));
    }

    /// The same refill with the compiler's 64-bit division.
    fn reference(tokens: u32, refilled_at: u32, now_ms: u32, per_second: u32, burst: u32) -> (u32, u32) {
        let elapsed = now_ms.wrapping_sub(refilled_at);
        let earned = elapsed as u64 * per_second as u64 / 1000;
        if earned == 0 {
            return (tokens, refilled_at);
        }
        let sum = tokens as u64 + earned;
        if sum >= burst as u64 {
            return (burst, now_ms);
        }
        let took = (earned * 1000).div_ceil(per_second as u64) as u32;
        (sum as u32, refilled_at.wrapping_add(took))
    }

    #[test]
    fn agrees_with_plain_division_at_the_edges_and_at_random() {
        let edges = [0, 1, 2, 999, 1000, 1001, 4_294_967, 4_294_968, 999_999, u32::MAX - 1, u32::MAX];
        for &elapsed in &edges {
            for &per_second in &edges {
                for &burst in &[1, 1000, u32::MAX] {
                    let at = 12_345u32;
                    let now = at.wrapping_add(elapsed);
                    assert_eq!(refill(0, at, now, per_second, burst), reference(0, at, now, per_second, burst));
                }
            }
        }
        let mut random = 0x2545_f491_u32;
        let mut next = || {
            random ^= random << 13;
            random ^= random >> 17;
            random ^= random << 5;
            random
        };
        for _ in 0..50_000 {
            let (tokens, at, now, per_second, burst) = (next() % 5000, next(), next(), next() >> (next() % 32), next());
            assert_eq!(refill(tokens, at, now, per_second, burst), reference(tokens, at, now, per_second, burst));
        }
    }

    /// Refilled as often as one likes, a bucket never earns more than the
    /// rate allows over the whole time; what it loses is the rounding of
    /// each refill to the millisecond (well under 1 % here).
    #[test]
    fn earns_its_rate_however_often_it_is_refilled() {
        let mut random = 0x9e37_79b9_u32;
        for per_second in [1, 3, 1000, 4096] {
            let (mut tokens, mut at, mut now, mut taken) = (0u32, 0u32, 0u32, 0u64);
            for _ in 0..5_000 {
                random ^= random << 13;
                random ^= random >> 17;
                random ^= random << 5;
                now += random % 700;
                (tokens, at) = refill(tokens, at, now, per_second, u32::MAX);
                taken += u64::from(tokens);
                tokens = 0;
            }
            let owed = u64::from(now) * u64::from(per_second) / 1000;
            assert!(taken <= owed && taken + owed / 100 + 1 >= owed, "{per_second}/s: {taken} earned, {owed} owed");
        }
    }
}
