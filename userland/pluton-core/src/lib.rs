//! The Pluton security server's cryptography and request checks without
//! syscalls: the DICE key derivations, the X.509 certificates of the
//! device's identity, evidence, sealing, the random generator, app
//! records and the request decoder, host-tested and built for the device
//! as well.
//!
//! - [`dice`]: Open Profile for DICE with SHA-256: the UDS, the CDIs of
//!   each layer, the DeviceID and Alias key pairs (ECDSA P-256), public-key
//!   identifiers and per-app CDIs. Its module docs give every derivation
//!   and constant.
//! - [`measure`]: the measurement log and the layer-0 DICE inputs.
//! - [`eat`]: attestation evidence (an EAT in a COSE_Sign1), encoded
//!   without a heap.
//! - `certificate` (feature `certificates`, needs `alloc`): the
//!   certificate chain manufacturer CA -> DeviceID -> Alias (X.509 v3,
//!   DER, ECDSA with SHA-256), reproducible byte for byte, with the
//!   layer's inputs in Open DICE's extension. Its module docs give the
//!   profile.
//! - [`seal`]: sealing an app's data with ChaCha20-Poly1305 under a key
//!   from CDI_Seal and the app's ComponentId; the format and its limits.
//! - [`drbg`]: the random generator: entropy conditioned with SHA-256
//!   into ChaCha20, reseeded at least every 64 KiB, with fast key erasure.
//! - [`app`]: an app's record (verified package, grants, summary,
//!   measurement) and its device authentication and seal keys.
//! - [`protocol`]: the request decoder `plutond` calls before it acts, and
//!   its table of clients.
//! - `verifier` (feature `verifier`, host): the check of evidence.
//! - `fuzzing` (feature `fuzzing`): the fuzz bodies of `fuzz/`.
//!
//! On the host, `cargo xtask provision` makes a checkout's development UDS,
//! manufacturer CA and DeviceID certificate with this crate.
//!
//! Everything is RustCrypto (`sha2`, `hkdf`, `p256`, `ecdsa`,
//! `chacha20poly1305`, `chacha20`, `x509-cert`, `der`, `spki`, `zeroize`)
//! and `tessera-abi`'s Ed25519 package check (`ed25519-dalek`); this crate
//! holds no cryptographic code of its own, only the choice of inputs.
//! Secrets ([`Uds`], [`Cdi`], seeds, [`seal::SealKey`], the
//! [`drbg::Drbg`] state) are wiped when dropped and never printed.
//! Without the default feature `certificates` nothing here needs a heap.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "certificates")]
extern crate alloc;
#[cfg(feature = "verifier")]
extern crate std;

pub mod app;
#[cfg(feature = "certificates")]
pub mod certificate;
pub mod dice;
pub mod drbg;
pub mod eat;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod measure;
pub mod protocol;
pub mod seal;
pub mod share;
#[cfg(feature = "verifier")]
pub mod verifier;

#[cfg(feature = "certificates")]
pub use certificate::{
    alias_certificate, ca_certificate, device_id_certificate, is_signed_by, public_key_of, subject_of, Error,
};
pub use dice::{
    alias_key, app_cdi, cdi_attest, cdi_seal, device_id_key, identifier, kdf, Cdi, LayerCdis, LayerInputs, Mode, Uds,
};
pub use p256;
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
