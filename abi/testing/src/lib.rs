//! Deterministic test inputs for Tessera's host tests and test programs:
//! one small pseudo-random generator, so every property test, bounded fuzz
//! loop and random-traffic program (`storm`, the garbage fixtures) draws
//! from the same well-known stream and a failure replays exactly. A
//! dev-dependency of the host crates; `no_std` but for feature `std`.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "std"))]
extern crate std;

/// Xorshift64 (Marsaglia): small, deterministic, good enough to spread
/// test inputs. Not for anything that needs unpredictability.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed` (0, which xorshift cannot leave,
    /// is replaced by 1).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 1 } else { seed })
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// The next 32 bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform-ish in `0..bound` (`bound > 0`), for 32-bit callers.
    pub fn below_u32(&mut self, bound: u32) -> u32 {
        (self.next_u64() % u64::from(bound)) as u32
    }

    /// `len` bytes.
    #[cfg(feature = "std")]
    pub fn bytes(&mut self, len: usize) -> std::vec::Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn streams_repeat_and_differ_by_seed() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, (0..4).map(|_| c.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::new(0).next_u64(), 0);
        assert!((0..1000).all(|_| a.below(3) < 3));
        assert_ne!(a.next_u32(), a.next_u32());
        assert!((0..1000).all(|_| a.below_u32(7) < 7));
        #[cfg(feature = "std")]
        assert_eq!(a.bytes(5).len(), 5);
    }
}
