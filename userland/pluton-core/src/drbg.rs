//! The random generator: entropy from a source (QEMU's `virtio-rng-device`
//! in `plutond`) conditioned into a ChaCha20 generator, with fast key
//! erasure (`RANDOM` in `tessera_abi::app::pluton`, and the nonces of
//! [`crate::seal`]).
//!
//! # Construction
//!
//! ```text
//! first seed  = SHA-256("Tessera DRBG seed v1" || entropy)
//! later seeds = SHA-256("Tessera DRBG reseed v1" || 32 bytes of the current generator's output || entropy)
//! fill(n)     = the generator's next n bytes; then the generator is replaced by
//!               one seeded with its next 32 bytes (fast key erasure)
//! ```
//!
//! The generator is ChaCha20 (20 rounds) keyed with the seed, nonce and
//! block counter starting at zero: the `chacha20` crate's `ChaCha20Rng`.
//! Each reseed needs at least [`MIN_ENTROPY`] (32) bytes of entropy, and
//! the old state enters the new seed, so a weak reseed never makes the
//! output weaker than it was. A reseed restarts the count of bytes
//! produced.
//!
//! # Refusals
//!
//! [`Drbg::fill`] never produces output from an unseeded generator, nor
//! more than [`RESEED_INTERVAL`] (64 KiB) bytes between reseeds: it
//! answers [`DrbgError::NeedsEntropy`] instead, and `plutond` reseeds from
//! its source and tries again (a missing or failed source is an error
//! for the caller, never predictable output). One fill is at most
//! [`RESEED_INTERVAL`] bytes ([`DrbgError::TooLong`]).
//!
//! # Backtracking resistance
//!
//! After every fill the generator's key is replaced by output it has not
//! given out, and the old state is wiped (the `zeroize` feature of
//! `chacha20`): someone who reads the state later (the ChaCha key and
//! counter, and up to 256 bytes of buffered keystream not yet given out)
//! cannot compute earlier output.
//!
//! # Why `chacha20`'s `ChaCha20Rng`, not `rand_chacha`
//!
//! Both are no_std ChaCha20 generators for `rand_core` 0.10. The
//! `chacha20` crate is RustCrypto's ChaCha, which [`crate::seal`]'s
//! ChaCha20-Poly1305 already links, so the device carries one ChaCha
//! implementation instead of two; it wipes its state on drop (feature
//! `zeroize`), which `rand_chacha` does not offer; and `rand` 0.10 itself
//! builds its standard generator on it, while `rand_chacha` (on
//! `ppv-lite86`) moved out of the `rand` repository into the
//! `rust-random/rngs` collection.

use core::fmt;

use chacha20::rand_core::{Rng, SeedableRng};
use chacha20::ChaCha20Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::dice::HASH_SIZE;

/// The most bytes produced between two reseeds (64 KiB).
pub const RESEED_INTERVAL: usize = 64 * 1024;
/// The least entropy a reseed takes, in bytes.
pub const MIN_ENTROPY: usize = 32;
/// The domain label of the first seed.
pub const SEED_LABEL: &[u8] = b"Tessera DRBG seed v1";
/// The domain label of every later seed.
pub const RESEED_LABEL: &[u8] = b"Tessera DRBG reseed v1";

/// Why the generator refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrbgError {
    /// Never seeded, or [`RESEED_INTERVAL`] would be passed: reseed first.
    NeedsEntropy,
    /// A reseed with fewer than [`MIN_ENTROPY`] bytes.
    NotEnoughEntropy,
    /// One fill of more than [`RESEED_INTERVAL`] bytes.
    TooLong,
}

impl fmt::Display for DrbgError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            DrbgError::NeedsEntropy => "the random generator needs entropy",
            DrbgError::NotEnoughEntropy => "fewer than 32 bytes of entropy",
            DrbgError::TooLong => "more random bytes than one request may take",
        })
    }
}

/// The random generator (module docs). Its state is wiped when dropped
/// and never printed.
pub struct Drbg {
    /// `None` until the first reseed.
    generator: Option<ChaCha20Rng>,
    /// Bytes produced since the last reseed.
    produced: usize,
}

impl Drbg {
    /// An unseeded generator: every [`fill`](Self::fill) fails until
    /// [`reseed`](Self::reseed).
    pub const fn new() -> Drbg {
        Drbg { generator: None, produced: 0 }
    }

    /// Mixes `entropy` (at least [`MIN_ENTROPY`] bytes) into a new seed
    /// (module docs) and restarts the count of bytes produced.
    pub fn reseed(&mut self, entropy: &[u8]) -> Result<(), DrbgError> {
        if entropy.len() < MIN_ENTROPY {
            return Err(DrbgError::NotEnoughEntropy);
        }
        let mut hasher = Sha256::new();
        match self.generator.as_mut() {
            None => hasher.update(SEED_LABEL),
            Some(generator) => {
                let mut previous = Zeroizing::new([0u8; HASH_SIZE]);
                generator.fill_bytes(&mut previous[..]);
                hasher.update(RESEED_LABEL);
                hasher.update(&previous[..]);
            }
        }
        hasher.update(entropy);
        let seed = Zeroizing::new(<[u8; HASH_SIZE]>::from(hasher.finalize()));
        // The old generator is dropped here, and wipes itself.
        self.generator = Some(ChaCha20Rng::from_seed(*seed));
        self.produced = 0;
        Ok(())
    }

    /// Fills `out` with random bytes, then re-keys the generator from its
    /// own output. Refuses, writing nothing, when unseeded or when
    /// `out.len()` more bytes would pass [`RESEED_INTERVAL`] since the
    /// last reseed.
    pub fn fill(&mut self, out: &mut [u8]) -> Result<(), DrbgError> {
        if out.len() > RESEED_INTERVAL {
            return Err(DrbgError::TooLong);
        }
        let generator = self.generator.as_mut().ok_or(DrbgError::NeedsEntropy)?;
        if out.len() > RESEED_INTERVAL - self.produced {
            return Err(DrbgError::NeedsEntropy);
        }
        generator.fill_bytes(out);
        let mut next = Zeroizing::new([0u8; HASH_SIZE]);
        generator.fill_bytes(&mut next[..]);
        *generator = ChaCha20Rng::from_seed(*next);
        self.produced += out.len();
        Ok(())
    }

    /// How many more bytes [`fill`](Self::fill) gives before it needs a
    /// reseed; 0 when unseeded.
    pub fn remaining(&self) -> usize {
        match self.generator {
            Some(_) => RESEED_INTERVAL - self.produced,
            None => 0,
        }
    }

    /// Whether a reseed is due: never seeded, or [`RESEED_INTERVAL`]
    /// bytes produced since the last reseed. (A fill can still be refused
    /// before that, when it asks for more than [`remaining`](Self::remaining).)
    pub fn needs_reseed(&self) -> bool {
        self.remaining() == 0
    }
}

impl Default for Drbg {
    fn default() -> Self {
        Drbg::new()
    }
}

impl fmt::Debug for Drbg {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Drbg")
            .field("seeded", &self.generator.is_some())
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn seeded(entropy: &[u8]) -> Drbg {
        let mut drbg = Drbg::new();
        drbg.reseed(entropy).unwrap();
        drbg
    }

    fn output(drbg: &mut Drbg, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        drbg.fill(&mut out).unwrap();
        out
    }

    #[test]
    fn an_unseeded_generator_refuses() {
        let mut drbg = Drbg::new();
        assert!(drbg.needs_reseed());
        assert_eq!(drbg.remaining(), 0);
        let mut out = [0x33; 16];
        assert_eq!(drbg.fill(&mut out), Err(DrbgError::NeedsEntropy));
        assert_eq!(out, [0x33; 16], "nothing written");
        assert_eq!(drbg.fill(&mut []), Err(DrbgError::NeedsEntropy));
    }

    #[test]
    fn short_entropy_is_refused() {
        let mut drbg = Drbg::new();
        assert_eq!(drbg.reseed(&[7; MIN_ENTROPY - 1]), Err(DrbgError::NotEnoughEntropy));
        assert!(drbg.needs_reseed(), "a refused reseed does not seed");
        let mut drbg = seeded(&[7; MIN_ENTROPY]);
        let before = drbg.remaining();
        output(&mut drbg, 10);
        assert_eq!(drbg.reseed(&[]), Err(DrbgError::NotEnoughEntropy));
        assert_eq!(drbg.remaining(), before - 10, "a refused reseed changes nothing");
    }

    #[test]
    fn the_same_entropy_gives_the_same_output() {
        let (mut one, mut two) = (seeded(&[1; 32]), seeded(&[1; 32]));
        assert_eq!(output(&mut one, 100), output(&mut two, 100));
        one.reseed(&[9; 40]).unwrap();
        two.reseed(&[9; 40]).unwrap();
        assert_eq!(output(&mut one, 33), output(&mut two, 33));
    }

    #[test]
    fn other_entropy_gives_other_output() {
        let mut entropy = [1; 32];
        let first = output(&mut seeded(&entropy), 64);
        entropy[31] ^= 0x80;
        assert_ne!(first, output(&mut seeded(&entropy), 64));
        // Reseeding with the same entropy still moves on: the old state
        // goes into the new seed.
        let mut drbg = seeded(&[1; 32]);
        drbg.reseed(&[1; 32]).unwrap();
        assert_ne!(first, output(&mut drbg, 64));
    }

    #[test]
    fn fills_never_repeat() {
        let mut drbg = seeded(&[5; 32]);
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for _ in 0..64 {
            let block = output(&mut drbg, 32);
            assert!(!seen.contains(&block), "a 32-byte fill repeated");
            assert_ne!(block, [0; 32]);
            seen.push(block);
        }
        // Two fills are not one longer fill cut in two: the key changes in
        // between.
        let (mut split, mut whole) = (seeded(&[6; 32]), seeded(&[6; 32]));
        let mut joined = output(&mut split, 16);
        joined.extend(output(&mut split, 16));
        assert_ne!(joined, output(&mut whole, 32));
    }

    #[test]
    fn the_reseed_interval_is_enforced() {
        let mut drbg = seeded(&[2; 32]);
        let mut out = vec![0; 4096];
        for _ in 0..RESEED_INTERVAL / 4096 {
            drbg.fill(&mut out).unwrap();
        }
        assert!(drbg.needs_reseed());
        assert_eq!(drbg.fill(&mut out[..1]), Err(DrbgError::NeedsEntropy));
        drbg.reseed(&[3; 32]).unwrap();
        assert_eq!(drbg.remaining(), RESEED_INTERVAL);
        drbg.fill(&mut out[..1]).unwrap();
        // A fill that would pass the interval is refused whole.
        let mut big = vec![0x44; RESEED_INTERVAL];
        assert_eq!(drbg.fill(&mut big), Err(DrbgError::NeedsEntropy));
        assert!(big.iter().all(|&byte| byte == 0x44));
        assert!(!drbg.needs_reseed());
        drbg.fill(&mut big[..RESEED_INTERVAL - 1]).unwrap();
        assert!(drbg.needs_reseed());
        let mut too_long = vec![0; RESEED_INTERVAL + 1];
        assert_eq!(seeded(&[4; 32]).fill(&mut too_long), Err(DrbgError::TooLong));
    }

    /// The construction in the module docs, computed here from SHA-256 and
    /// ChaCha20Rng directly.
    #[test]
    fn the_output_is_the_documented_construction() {
        let entropy = [0xe7; 48];
        let seed: [u8; 32] = Sha256::new().chain_update(SEED_LABEL).chain_update(entropy).finalize().into();
        let mut reference = ChaCha20Rng::from_seed(seed);
        let mut first = [0; 40];
        reference.fill_bytes(&mut first);
        let mut next = [0; 32];
        reference.fill_bytes(&mut next);

        let mut drbg = seeded(&entropy);
        assert_eq!(output(&mut drbg, 40), first);

        let mut reference = ChaCha20Rng::from_seed(next);
        let mut second = [0; 8];
        reference.fill_bytes(&mut second);
        assert_eq!(output(&mut drbg, 8), second);
        reference.fill_bytes(&mut next);

        // A reseed: the current generator (keyed with `next`) gives 32
        // bytes into the new seed.
        let mut previous = [0; 32];
        ChaCha20Rng::from_seed(next).fill_bytes(&mut previous);
        let reseed_entropy = [0x1f; 32];
        let seed: [u8; 32] = Sha256::new()
            .chain_update(RESEED_LABEL)
            .chain_update(previous)
            .chain_update(reseed_entropy)
            .finalize()
            .into();
        let mut third = [0; 24];
        ChaCha20Rng::from_seed(seed).fill_bytes(&mut third);
        drbg.reseed(&reseed_entropy).unwrap();
        assert_eq!(output(&mut drbg, 24), third);
    }

    #[test]
    fn the_state_is_not_printed() {
        let drbg = seeded(&[8; 32]);
        assert_eq!(std::format!("{drbg:?}"), "Drbg { seeded: true, produced: 0, .. }");
    }
}
