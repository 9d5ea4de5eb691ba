//! Sealing: an app's data encrypted and authenticated so that only the
//! same app, on the same device under the same software authority, can
//! read it back (`SEAL` and `UNSEAL` in `tessera_abi::app::pluton`).
//! "The same app" is any package with the same ComponentId signed by a
//! key the boot image trusts, as on Azure Sphere.
//!
//! # Key
//!
//! ```text
//! seal key = KDF(32, CDI_Seal, salt = component id (16 bytes), info = "Tessera seal key v1")
//! ```
//!
//! `KDF` is HKDF-SHA256 ([`crate::dice::kdf`]). CDI_Seal covers the UDS,
//! the software authority (the boot image's trusted keys), the boot mode
//! and the hidden input, but not the code ([`crate::dice`]): the key stays
//! the same across reboots and across updates of the kernel, the system
//! programs and the app itself (the ComponentId, not the app's
//! measurement, goes in), and changes with the device, the authority, the
//! mode or the ComponentId. [`crate::app::app_seal_key`] derives it for a
//! recorded app.
//!
//! # Format (version 1)
//!
//! ```text
//! offset 0    version = VERSION (1)
//!        1    nonce: 12 bytes
//!        13   ciphertext: as many bytes as the plaintext
//!        ..   tag: 16 bytes (Poly1305)
//! ```
//!
//! The cipher is ChaCha20-Poly1305 (RFC 8439) with the version byte as
//! associated data, so a changed version byte fails the tag as well as the
//! version check. Sealing adds [`SEAL_OVERHEAD`] (29) bytes; the plaintext
//! is at most [`MAX_SEAL_INPUT`] (4067) bytes, so the sealed bytes fit in
//! one request buffer ([`BUFFER_BYTES`], 4096).
//!
//! The caller chooses the nonce: `plutond` draws 12 bytes from its random
//! generator ([`crate::drbg`]) for every [`seal`]. A nonce must never
//! repeat under one key; with random 96-bit nonces the chance of any
//! repeat stays below 2^-32 for the first 2^32 seals of one app.
//!
//! [`unseal`] refuses a wrong version, sealed bytes shorter than
//! [`SEAL_OVERHEAD`] or longer than [`BUFFER_BYTES`], and any change to
//! the bytes (tag mismatch); after a refusal the output holds no plaintext
//! (the bytes it could have written are zeroed).

use core::fmt;

use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit, Nonce, Tag};
use tessera_abi::app::pluton::{BUFFER_BYTES, MAX_SEAL_INPUT, SEAL_OVERHEAD};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::dice::{kdf, Cdi, HASH_SIZE};

/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Bytes of a nonce.
pub const NONCE_SIZE: usize = 12;
/// Bytes of a tag.
pub const TAG_SIZE: usize = 16;
/// The HKDF info of the seal key.
pub const SEAL_KEY_INFO: &[u8] = b"Tessera seal key v1";

/// Where the ciphertext starts: after the version and the nonce.
const CIPHERTEXT_AT: usize = 1 + NONCE_SIZE;

const _: () = assert!(SEAL_OVERHEAD == 1 + NONCE_SIZE + TAG_SIZE);
const _: () = assert!(MAX_SEAL_INPUT + SEAL_OVERHEAD == BUFFER_BYTES);

/// An app's seal key: 32 bytes, wiped from memory when dropped and never
/// printed. Only [`seal_key`] makes one.
pub struct SealKey([u8; HASH_SIZE]);

impl Drop for SealKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SealKey {}

impl fmt::Debug for SealKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SealKey(<secret>)")
    }
}

impl SealKey {
    /// The AEAD instance for this key (it wipes its copy of the key when
    /// dropped).
    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new((&self.0).into())
    }
}

/// The seal key of the app with `component_id`: KDF(32, CDI_Seal,
/// component_id, "Tessera seal key v1").
pub fn seal_key(cdi_seal: &Cdi, component_id: &[u8; 16]) -> SealKey {
    SealKey(kdf(cdi_seal.expose(), component_id, SEAL_KEY_INFO))
}

/// Why sealing or unsealing failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealError {
    /// The plaintext is longer than [`MAX_SEAL_INPUT`], or the sealed
    /// bytes longer than [`BUFFER_BYTES`].
    TooLong,
    /// The output buffer is smaller than the result.
    OutputTooSmall,
    /// The sealed bytes are shorter than [`SEAL_OVERHEAD`].
    TooShort,
    /// The sealed bytes start with a version other than [`VERSION`].
    BadVersion,
    /// The tag does not match: the bytes were changed, or sealed with
    /// another key (another app, device or software authority).
    Damaged,
}

impl SealError {
    /// The error `plutond` answers with: `BadImage` for sealed bytes that
    /// are damaged or not the caller's, `TooLong` for input over its
    /// limit, `InvalidArgument` for a small output buffer.
    pub fn to_error(self) -> tessera_abi::Error {
        match self {
            SealError::TooLong => tessera_abi::Error::TooLong,
            SealError::OutputTooSmall => tessera_abi::Error::InvalidArgument,
            SealError::TooShort | SealError::BadVersion | SealError::Damaged => tessera_abi::Error::BadImage,
        }
    }
}

impl fmt::Display for SealError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            SealError::TooLong => "too long to seal",
            SealError::OutputTooSmall => "output buffer too small",
            SealError::TooShort => "sealed bytes too short",
            SealError::BadVersion => "unknown sealed-data version",
            SealError::Damaged => "sealed bytes damaged or sealed for another app",
        })
    }
}

/// Seals `plaintext` (at most [`MAX_SEAL_INPUT`] bytes) under `key` with
/// `nonce` into `out` as `VERSION || nonce || ciphertext || tag`; returns
/// the sealed length, `plaintext.len() + SEAL_OVERHEAD`. Writes nothing on
/// error.
pub fn seal(key: &SealKey, nonce: &[u8; NONCE_SIZE], plaintext: &[u8], out: &mut [u8]) -> Result<usize, SealError> {
    if plaintext.len() > MAX_SEAL_INPUT {
        return Err(SealError::TooLong);
    }
    let sealed_len = plaintext.len() + SEAL_OVERHEAD;
    let out = out.get_mut(..sealed_len).ok_or(SealError::OutputTooSmall)?;
    let (header, rest) = out.split_at_mut(CIPHERTEXT_AT);
    let (ciphertext, tag_out) = rest.split_at_mut(plaintext.len());
    let buffer = InOutBuf::new(plaintext, ciphertext).map_err(|_| SealError::OutputTooSmall)?;
    // ChaCha20-Poly1305 only refuses messages of 256 GiB or more.
    let tag = key
        .cipher()
        .encrypt_inout_detached(&Nonce::from(*nonce), &[VERSION], buffer)
        .map_err(|_| SealError::TooLong)?;
    header[0] = VERSION;
    header[1..].copy_from_slice(nonce);
    tag_out.copy_from_slice(&tag);
    Ok(sealed_len)
}

/// Unseals `sealed` (as [`seal`] wrote it) under `key` into `out`;
/// returns the plaintext length, `sealed.len() - SEAL_OVERHEAD`. On any
/// error `out` holds no plaintext: the bytes it could have received are
/// zeroed.
pub fn unseal(key: &SealKey, sealed: &[u8], out: &mut [u8]) -> Result<usize, SealError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(SealError::TooShort);
    }
    if sealed.len() > BUFFER_BYTES {
        return Err(SealError::TooLong);
    }
    if sealed[0] != VERSION {
        return Err(SealError::BadVersion);
    }
    let plaintext_len = sealed.len() - SEAL_OVERHEAD;
    let out = out.get_mut(..plaintext_len).ok_or(SealError::OutputTooSmall)?;
    let (header, rest) = sealed.split_at(CIPHERTEXT_AT);
    let (ciphertext, tag) = rest.split_at(plaintext_len);
    let nonce = Nonce::try_from(&header[1..]).map_err(|_| SealError::TooShort)?;
    let tag = Tag::try_from(tag).map_err(|_| SealError::TooShort)?;
    let opened = InOutBuf::new(ciphertext, &mut *out).map_err(|_| SealError::OutputTooSmall).and_then(|buffer| {
        key.cipher().decrypt_inout_detached(&nonce, &[VERSION], buffer, &tag).map_err(|_| SealError::Damaged)
    });
    if opened.is_err() {
        // The cipher checks the tag before it decrypts, so nothing should
        // have been written; wipe anyway rather than rely on that.
        out.zeroize();
    }
    opened.map(|()| plaintext_len)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::Hex;
    use std::string::ToString;
    use std::vec;

    fn cdi(byte: u8) -> Cdi {
        Cdi::from_bytes([byte; HASH_SIZE])
    }

    const ID: [u8; 16] = [0x1d; 16];
    const NONCE: [u8; NONCE_SIZE] = [0x4e; NONCE_SIZE];

    fn sealed(key: &SealKey, plaintext: &[u8]) -> std::vec::Vec<u8> {
        let mut out = vec![0; plaintext.len() + SEAL_OVERHEAD];
        assert_eq!(seal(key, &NONCE, plaintext, &mut out), Ok(out.len()));
        out
    }

    #[test]
    fn sealed_data_round_trips() {
        let key = seal_key(&cdi(1), &ID);
        for plaintext in [&b""[..], b"x", b"the app's secret", &[0xa5; MAX_SEAL_INPUT]] {
            let sealed = sealed(&key, plaintext);
            assert_eq!(sealed[0], VERSION);
            assert_eq!(&sealed[1..CIPHERTEXT_AT], &NONCE);
            if !plaintext.is_empty() {
                assert_ne!(&sealed[CIPHERTEXT_AT..CIPHERTEXT_AT + plaintext.len()], plaintext);
            }
            let mut out = vec![0; plaintext.len()];
            assert_eq!(unseal(&key, &sealed, &mut out), Ok(plaintext.len()));
            assert_eq!(out, plaintext);
        }
    }

    #[test]
    fn the_same_cdi_gives_the_same_key_after_a_reboot() {
        let sealed = sealed(&seal_key(&cdi(1), &ID), b"kept across reboots");
        // A "reboot": the key is derived again from an equal CDI.
        let again = seal_key(&cdi(1), &ID);
        let mut out = [0; 19];
        assert_eq!(unseal(&again, &sealed, &mut out), Ok(19));
        assert_eq!(&out, b"kept across reboots");
    }

    #[test]
    fn another_app_or_device_cannot_unseal() {
        let sealed = sealed(&seal_key(&cdi(1), &ID), b"mine");
        let mut other_id = ID;
        other_id[15] ^= 1;
        for key in [seal_key(&cdi(1), &other_id), seal_key(&cdi(2), &ID)] {
            let mut out = [0x77; 4];
            assert_eq!(unseal(&key, &sealed, &mut out), Err(SealError::Damaged));
            assert_eq!(out, [0; 4], "a refused unseal leaves no bytes behind");
        }
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let key = seal_key(&cdi(1), &ID);
        let plaintext = b"sixteen bytes!!!";
        let sealed = sealed(&key, plaintext);
        for index in 0..sealed.len() {
            for bit in 0..8 {
                let mut changed = sealed.clone();
                changed[index] ^= 1 << bit;
                let mut out = [0x55; 16];
                // A refused version is caught before decryption and writes
                // nothing; a refused tag leaves zeros, never plaintext.
                let (error, left) = if index == 0 { (SealError::BadVersion, 0x55) } else { (SealError::Damaged, 0) };
                assert_eq!(unseal(&key, &changed, &mut out), Err(error), "byte {index} bit {bit}");
                assert_eq!(out, [left; 16], "byte {index} bit {bit}");
            }
        }
    }

    #[test]
    fn truncated_or_extended_bytes_are_refused() {
        let key = seal_key(&cdi(1), &ID);
        let sealed = sealed(&key, b"twelve bytes");
        let mut out = [0; BUFFER_BYTES];
        for len in 0..sealed.len() {
            let expected = if len < SEAL_OVERHEAD { SealError::TooShort } else { SealError::Damaged };
            assert_eq!(unseal(&key, &sealed[..len], &mut out), Err(expected), "length {len}");
            assert!(out.iter().all(|&byte| byte == 0));
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(unseal(&key, &longer, &mut out), Err(SealError::Damaged));
        assert_eq!(unseal(&key, &[VERSION; BUFFER_BYTES + 1], &mut out), Err(SealError::TooLong));
    }

    #[test]
    fn limits_and_buffers_are_checked() {
        let key = seal_key(&cdi(1), &ID);
        let mut out = [0; BUFFER_BYTES + 1];
        assert_eq!(seal(&key, &NONCE, &[0; MAX_SEAL_INPUT + 1], &mut out), Err(SealError::TooLong));
        assert_eq!(seal(&key, &NONCE, b"abc", &mut [0; 3 + SEAL_OVERHEAD - 1]), Err(SealError::OutputTooSmall));
        let sealed = sealed(&key, b"abc");
        assert_eq!(unseal(&key, &sealed, &mut [0; 2]), Err(SealError::OutputTooSmall));
        assert_eq!(SealError::Damaged.to_error(), tessera_abi::Error::BadImage);
    }

    #[test]
    fn another_nonce_gives_other_bytes() {
        let key = seal_key(&cdi(1), &ID);
        let (mut one, mut two) = ([0; 4 + SEAL_OVERHEAD], [0; 4 + SEAL_OVERHEAD]);
        seal(&key, &[1; NONCE_SIZE], b"same", &mut one).unwrap();
        seal(&key, &[2; NONCE_SIZE], b"same", &mut two).unwrap();
        assert_ne!(one[CIPHERTEXT_AT..], two[CIPHERTEXT_AT..]);
    }

    /// Pinned bytes: a change to the key derivation or the format shows
    /// here (and would make data sealed by an earlier build unreadable).
    /// Both values were also computed with another implementation
    /// (OpenSSL's HKDF and ChaCha20-Poly1305, through Python's
    /// `cryptography`) from the documented derivation and format.
    #[test]
    fn fixed_vector() {
        let key = seal_key(&cdi(0x5e), &ID);
        assert_eq!(Hex(&key.0).to_string(), "0e8572abc8067e4bfe21fe28715a90e1a446f2cbd91ddec9eefa88cf3a3febf6");
        let sealed = sealed(&key, b"Tessera");
        assert_eq!(
            Hex(&sealed).to_string(),
            "014e4e4e4e4e4e4e4e4e4e4e4e579222dd6efc2fab15514147548efd160f2d9364de4c61"
        );
    }

    #[test]
    fn keys_are_not_printed() {
        let key = seal_key(&cdi(1), &ID);
        assert_eq!(std::format!("{key:?}"), "SealKey(<secret>)");
    }
}
