//! The Pluton security server's cryptography without syscalls: the DICE
//! key derivations and the X.509 certificates of the device's identity,
//! host-tested and built for the device as well.
//!
//! - [`dice`]: Open Profile for DICE with SHA-256: the UDS, the CDIs of
//!   each layer, the DeviceID and Alias key pairs (ECDSA P-256), public-key
//!   identifiers and per-app CDIs. Its module docs give every derivation
//!   and constant.
//! - [`certificate`]: the certificate chain manufacturer CA -> DeviceID ->
//!   Alias (X.509 v3, DER, ECDSA with SHA-256), reproducible byte for byte,
//!   with the layer's inputs in Open DICE's extension. Its module docs give
//!   the profile.
//!
//! On the host, `cargo xtask provision` makes a checkout's development UDS,
//! manufacturer CA and DeviceID certificate with this crate.
//!
//! Everything is RustCrypto (`sha2`, `hkdf`, `p256`, `ecdsa`, `x509-cert`,
//! `der`, `spki`, `zeroize`); this crate holds no cryptographic code of
//! its own, only the choice of inputs. Secrets ([`Uds`], [`Cdi`], seeds)
//! are wiped when dropped and never printed.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "certificates")]
extern crate alloc;
#[cfg(feature = "verifier")]
extern crate std;

#[cfg(feature = "certificates")]
pub mod certificate;
pub mod dice;
pub mod eat;
#[cfg(feature = "verifier")]
pub mod fuzzing;
pub mod measure;
#[cfg(feature = "verifier")]
pub mod verifier;

#[cfg(feature = "certificates")]
pub use certificate::{
    alias_certificate, ca_certificate, device_id_certificate, is_signed_by, public_key_of, subject_of, Error,
};
pub use dice::{
    alias_key, app_cdi, cdi_attest, cdi_seal, device_id_key, identifier, kdf, Cdi, LayerCdis, LayerInputs, Mode, Uds,
};
pub use p256::ecdsa::{SigningKey, VerifyingKey};
#[cfg(feature = "certificates")]
pub use x509_cert::name::Name;

/// Bytes shown as lower-case hex.
pub struct Hex<'a>(pub &'a [u8]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(formatter, "{byte:02x}"))
    }
}

impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, formatter)
    }
}
