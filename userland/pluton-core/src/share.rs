//! Each app's share of the Pluton security server's time for the requests
//! that cost it millions of instructions.
//!
//! `plutond` runs above `init` and every server (it must answer `init`'s
//! package checks), so whatever it computes for an app, nothing below it
//! runs meanwhile. `ATTEST` costs about 12 million instructions and
//! `SIGN_CHALLENGE` several million; an app asking for either in a loop
//! would hold the CPU for everyone. So each app has a [`CostlyShare`]: at
//! most [`CostlyShare::BURST`] such requests at once, and one more every
//! [`CostlyShare::REFILL_MS`]; beyond that the request is refused with
//! `Busy` (try again later) before any work is done. `init`'s requests
//! are not limited.

use tessera_abi::rate::refill;

/// An app's allowance of costly requests: a token bucket over requests,
/// refilled with time (milliseconds since boot, wrapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostlyShare {
    /// Requests it may make now (at most [`CostlyShare::BURST`]).
    tokens: u8,
    /// When `tokens` was last refilled (milliseconds since boot, wrapping:
    /// a client silent for a multiple of 49.7 days may find fewer tokens
    /// than it earned, never more).
    refilled_at: u32,
}

impl CostlyShare {
    /// The most costly requests an app may make at once.
    pub const BURST: u8 = 3;
    /// How often it earns one more (a whole number of them a second).
    pub const REFILL_MS: u32 = 1000;

    /// A full allowance.
    pub const fn new() -> CostlyShare {
        CostlyShare { tokens: CostlyShare::BURST, refilled_at: 0 }
    }

    /// Takes one request from the allowance at `now_ms` (milliseconds since
    /// boot): true if the app may make it, false if it must wait.
    pub fn take(&mut self, now_ms: u32) -> bool {
        let burst = u32::from(CostlyShare::BURST);
        let per_second = 1000 / CostlyShare::REFILL_MS;
        let (tokens, refilled_at) = refill(u32::from(self.tokens), self.refilled_at, now_ms, per_second, burst);
        // At most the burst, which fits.
        (self.tokens, self.refilled_at) = (tokens.min(burst) as u8, refilled_at);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

const _: () = assert!(1000 % CostlyShare::REFILL_MS == 0);

impl Default for CostlyShare {
    fn default() -> CostlyShare {
        CostlyShare::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_a_period() {
        let mut share = CostlyShare::new();
        let now = 5_000;
        let granted = (0..10).filter(|_| share.take(now)).count();
        assert_eq!(granted, usize::from(CostlyShare::BURST));
        assert!(!share.take(now + CostlyShare::REFILL_MS - 1));
        assert!(share.take(now + CostlyShare::REFILL_MS));
        assert!(!share.take(now + CostlyShare::REFILL_MS));
        // A long silence earns a full burst, no more.
        let later = now + 100 * CostlyShare::REFILL_MS;
        assert_eq!((0..10).filter(|_| share.take(later)).count(), usize::from(CostlyShare::BURST));
    }

    /// Over any stretch of time, an app asking as fast as it can gets at
    /// most the burst and one request a period, and no fewer than one a
    /// period once the burst is spent.
    #[test]
    fn never_more_than_its_rate() {
        let mut random = 0x1234_5678_u32;
        for start in [0, 1_000_000, u32::MAX - 2_500] {
            let mut share = CostlyShare::new();
            let (mut now, mut granted) = (start, 0u32);
            for _ in 0..2_000 {
                random ^= random << 13;
                random ^= random >> 17;
                random ^= random << 5;
                now = now.wrapping_add(random % 300);
                if share.take(now) {
                    granted += 1;
                }
                let elapsed = now.wrapping_sub(start);
                let limit = u32::from(CostlyShare::BURST) + elapsed / CostlyShare::REFILL_MS;
                assert!(granted <= limit, "{granted} granted by {elapsed} ms, limit {limit}");
            }
            let elapsed = now.wrapping_sub(start);
            assert!(granted >= elapsed / CostlyShare::REFILL_MS, "{granted} granted in {elapsed} ms");
        }
    }
}
