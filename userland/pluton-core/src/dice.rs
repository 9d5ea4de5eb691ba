//! The DICE key derivations: Open Profile for DICE with SHA-256 and P-256.
//!
//! Every input is a 32-byte SHA-256 value (Open DICE's default profile uses
//! 64-byte SHA-512 values; its specification allows SHA-256). `||` is
//! concatenation, `KDF(n, ikm, salt, info)` is HKDF-SHA256 ([`kdf`],
//! RFC 5869) producing `n` bytes.
//!
//! | Value | Derivation |
//! |---|---|
//! | CDI_Attest of layer 0 | `KDF(32, UDS, SHA-256(code \|\| config \|\| authority \|\| mode \|\| hidden), "CDI_Attest")` |
//! | CDI_Seal of layer 0 | `KDF(32, UDS, SHA-256(authority \|\| mode \|\| hidden), "CDI_Seal")` |
//! | CDIs of layer n + 1 | the same, with layer n's CDI_Attest (CDI_Seal) in place of the UDS |
//! | key-pair seed | `KDF(32, secret, ASYM_SALT, "Key Pair")`, the secret being a CDI_Attest, or the UDS for the DeviceID |
//! | P-256 private key | the first `KDF(32, seed, no salt, "P-256 key" \|\| counter)`, counter = 0, 1, 2, ..., that is a nonzero scalar below the group order |
//! | DeviceID key pair | from the UDS's seed: the same across software updates |
//! | Alias key pair | from layer 0's CDI_Attest's seed: changes with any layer input |
//! | identifier of a public key | `KDF(20, SEC1 uncompressed point (65 bytes), ID_SALT, "ID")` |
//! | app CDI | `KDF(32, CDI, SHA-256(app measurement \|\| component id), "App CDI")` |
//!
//! `mode` is one byte ([`Mode`]). The `hidden` input goes into both CDIs
//! and never into a certificate. CDI_Seal leaves out `code` and `config`,
//! so sealed data survives a software update signed by the same authority;
//! CDI_Attest covers everything, so an attestation names exactly what ran.
//!
//! The two salts are fixed 64-byte values, as Open DICE's are. Ours are
//! SHA-512 of an ASCII label, so anyone can check that nothing is hidden
//! in them (a test does): [`ASYM_SALT`] = SHA-512(`"Tessera DICE
//! asymmetric key salt v1"`), [`ID_SALT`] = SHA-512(`"Tessera DICE
//! identifier salt v1"`). They differ from Open DICE's own constants, so
//! Tessera's keys and identifiers are not interchangeable with another
//! Open DICE implementation's for the same secrets.
//!
//! A P-256 private key is a scalar in `[1, n)`. A 32-byte KDF output is
//! outside that range with probability below 2^-32, so the retry loop
//! (counter byte appended to the info) almost always stops at counter 0;
//! it keeps the mapping deterministic without the bias of reducing mod n.

use core::fmt;

use hkdf::Hkdf;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::FieldBytes;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The size of every DICE input and secret (a SHA-256 output).
pub const HASH_SIZE: usize = 32;
/// The size of a public key's identifier.
pub const IDENTIFIER_SIZE: usize = 20;

/// The salt of the key-pair seed derivation: SHA-512 of
/// `"Tessera DICE asymmetric key salt v1"`.
pub const ASYM_SALT: [u8; 64] = [
    0xd2, 0xe0, 0x2f, 0x6a, 0xeb, 0xd0, 0xb6, 0x3f, 0xe5, 0xc7, 0xf3, 0xe7, 0xad, 0xbf, 0xb7, 0x14, 0x64, 0xb0, 0xc4,
    0x37, 0xb3, 0xe0, 0xe6, 0xed, 0xd4, 0x93, 0xfa, 0x84, 0x86, 0xf7, 0x19, 0x29, 0x1d, 0xd8, 0xda, 0xb6, 0x27, 0x72,
    0x4b, 0x34, 0x08, 0x3e, 0x3d, 0x8d, 0xb5, 0x88, 0x7d, 0x33, 0x00, 0xc4, 0x6f, 0xa6, 0x9d, 0x62, 0xea, 0xc1, 0x9e,
    0xae, 0xc9, 0xcc, 0xef, 0xc0, 0x2a, 0x80,
];

/// The salt of the identifier derivation: SHA-512 of
/// `"Tessera DICE identifier salt v1"`.
pub const ID_SALT: [u8; 64] = [
    0xc0, 0xd0, 0x24, 0x67, 0xb7, 0x66, 0xef, 0xf2, 0x0e, 0x92, 0xb3, 0x31, 0x15, 0x01, 0x21, 0xfe, 0x69, 0xdc, 0x48,
    0x07, 0x4a, 0x45, 0x28, 0x59, 0x97, 0x8a, 0xfa, 0x71, 0x3d, 0xbc, 0x9c, 0x8b, 0xb3, 0xde, 0x5a, 0xf5, 0x86, 0x1b,
    0xd2, 0x24, 0x5e, 0xf2, 0x74, 0x5d, 0xd3, 0xca, 0x05, 0x3b, 0xd3, 0xd7, 0x08, 0x8f, 0x85, 0xbc, 0x7c, 0x39, 0xf1,
    0xb9, 0xa9, 0x93, 0x78, 0x38, 0xb9, 0x7e,
];

/// The ASCII label [`ASYM_SALT`] is the SHA-512 of.
pub const ASYM_SALT_LABEL: &str = "Tessera DICE asymmetric key salt v1";
/// The ASCII label [`ID_SALT`] is the SHA-512 of.
pub const ID_SALT_LABEL: &str = "Tessera DICE identifier salt v1";

/// HKDF-SHA256 (RFC 5869): `N` bytes from `ikm`, `salt` and `info`. An
/// empty `salt` is HKDF's default salt (32 zero bytes).
pub fn kdf<const N: usize>(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; N] {
    kdf_parts(ikm, salt, &[info])
}

/// [`kdf`] with the info given in parts, concatenated.
fn kdf_parts<const N: usize>(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> [u8; N] {
    const { assert!(N <= 255 * HASH_SIZE, "HKDF-SHA256 gives at most 8160 bytes") };
    let salt = if salt.is_empty() { None } else { Some(salt) };
    let mut out = [0; N];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand_multi_info(info, &mut out)
        .expect("N is at most 255 * 32, checked at compile time");
    out
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; HASH_SIZE] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A 32-byte secret that is wiped from memory when dropped and never
/// printed.
macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name([u8; HASH_SIZE]);

        impl $name {
            /// Wraps 32 secret bytes.
            pub fn from_bytes(bytes: [u8; HASH_SIZE]) -> $name {
                $name(bytes)
            }

            /// The secret bytes: only to store or derive from them.
            pub fn expose(&self) -> &[u8; HASH_SIZE] {
                &self.0
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl ZeroizeOnDrop for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(concat!(stringify!($name), "(<secret>)"))
            }
        }
    };
}

secret!(
    /// The Unique Device Secret: the root of every derivation. On a device
    /// only the first layer may read it; in development it is
    /// `.tessera/uds.bin` (`cargo xtask provision`).
    Uds
);

secret!(
    /// A Compound Device Identifier (CDI_Attest, CDI_Seal or an app's CDI).
    Cdi
);

/// The boot mode, as Open DICE encodes it in one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "certificates", derive(der::Enumerated))]
#[repr(u8)]
pub enum Mode {
    /// Not configured: the mode is not known.
    NotConfigured = 0,
    /// Normal operation, security features on.
    Normal = 1,
    /// Debugging on: secrets may leak.
    Debug = 2,
    /// Recovery or maintenance.
    Recovery = 3,
}

/// What one layer measures about the next (every value a SHA-256 hash,
/// or zeros when it has no value).
#[derive(Clone, PartialEq, Eq)]
pub struct LayerInputs {
    /// The hash of the next layer's code.
    pub code: [u8; HASH_SIZE],
    /// The hash of its configuration.
    pub config: [u8; HASH_SIZE],
    /// The hash of the authority that signed it (zeros without verified
    /// boot).
    pub authority: [u8; HASH_SIZE],
    /// The boot mode.
    pub mode: Mode,
    /// A value that enters both CDIs but no certificate.
    pub hidden: [u8; HASH_SIZE],
}

impl fmt::Debug for LayerInputs {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LayerInputs")
            .field("code", &crate::Hex(&self.code))
            .field("config", &crate::Hex(&self.config))
            .field("authority", &crate::Hex(&self.authority))
            .field("mode", &self.mode)
            .field("hidden", &"<not shown>")
            .finish()
    }
}

/// The salt of CDI_Attest: SHA-256(code || config || authority || mode || hidden).
fn attest_salt(inputs: &LayerInputs) -> [u8; HASH_SIZE] {
    sha256(&[&inputs.code, &inputs.config, &inputs.authority, &[inputs.mode as u8], &inputs.hidden])
}

/// The salt of CDI_Seal: SHA-256(authority || mode || hidden).
fn seal_salt(inputs: &LayerInputs) -> [u8; HASH_SIZE] {
    sha256(&[&inputs.authority, &[inputs.mode as u8], &inputs.hidden])
}

/// CDI_Attest of the layer `inputs` describes, from the UDS (layer 0) or
/// the previous layer's CDI_Attest.
pub fn cdi_attest(parent: &[u8; HASH_SIZE], inputs: &LayerInputs) -> Cdi {
    Cdi(kdf(parent, &attest_salt(inputs), b"CDI_Attest"))
}

/// CDI_Seal of the layer `inputs` describes, from the UDS (layer 0) or the
/// previous layer's CDI_Seal. `code` and `config` do not enter it.
pub fn cdi_seal(parent: &[u8; HASH_SIZE], inputs: &LayerInputs) -> Cdi {
    Cdi(kdf(parent, &seal_salt(inputs), b"CDI_Seal"))
}

/// A layer's two CDIs.
#[derive(Debug)]
pub struct LayerCdis {
    /// Identifies the software: the layer's Alias key comes from it.
    pub attest: Cdi,
    /// Seals data to the authority, mode and hidden input.
    pub seal: Cdi,
}

impl LayerCdis {
    /// The CDIs of the layer above this one, which `inputs` describes.
    pub fn next_layer(&self, inputs: &LayerInputs) -> LayerCdis {
        LayerCdis { attest: cdi_attest(self.attest.expose(), inputs), seal: cdi_seal(self.seal.expose(), inputs) }
    }
}

impl Uds {
    /// The CDIs of layer 0, which `inputs` describes.
    pub fn layer_zero(&self, inputs: &LayerInputs) -> LayerCdis {
        LayerCdis { attest: cdi_attest(&self.0, inputs), seal: cdi_seal(&self.0, inputs) }
    }
}

/// The key-pair seed of a secret (a CDI_Attest, or the UDS for the
/// DeviceID): KDF(32, secret, ASYM_SALT, "Key Pair").
pub fn key_pair_seed(secret: &[u8; HASH_SIZE]) -> Zeroizing<[u8; HASH_SIZE]> {
    Zeroizing::new(kdf(secret, &ASYM_SALT, b"Key Pair"))
}

/// The P-256 private key a seed stands for: the first
/// KDF(32, seed, no salt, "P-256 key" || counter), counter = 0, 1, ..., 255,
/// that is a valid nonzero scalar below the group order.
///
/// # Panics
///
/// If 256 candidates in a row are out of range, which happens with
/// probability below 2^-8000.
pub fn p256_key_from_seed(seed: &[u8; HASH_SIZE]) -> SigningKey {
    for counter in 0..=u8::MAX {
        let candidate: Zeroizing<[u8; HASH_SIZE]> = Zeroizing::new(kdf_parts(seed, &[], &[b"P-256 key", &[counter]]));
        if let Ok(key) = SigningKey::from_bytes(&FieldBytes::from(*candidate)) {
            return key;
        }
    }
    panic!("256 HKDF outputs in a row were not P-256 scalars")
}

/// The DeviceID key pair: from the UDS alone, so it stays the same across
/// software updates.
pub fn device_id_key(uds: &Uds) -> SigningKey {
    p256_key_from_seed(&key_pair_seed(&uds.0))
}

/// The Alias key pair of a layer: from layer 0's CDI_Attest, so it changes
/// whenever any of the layer's inputs does.
pub fn alias_key(cdi_attest: &Cdi) -> SigningKey {
    p256_key_from_seed(&key_pair_seed(&cdi_attest.0))
}

/// The identifier of a public key: KDF(20, its SEC1 uncompressed encoding
/// (65 bytes), ID_SALT, "ID"). Certificates use it as the serial number
/// (top bit cleared), key identifier and, in hex, the subject's CommonName.
pub fn identifier(public_key: &VerifyingKey) -> [u8; IDENTIFIER_SIZE] {
    kdf(public_key.to_sec1_point(false).as_bytes(), &ID_SALT, b"ID")
}

/// An app's CDI: KDF(32, cdi, SHA-256(app_measurement || component_id),
/// "App CDI"). The Pluton server derives one per app (its seal and app
/// keys come from it) instead of ever lending an app its own CDI.
pub fn app_cdi(cdi: &Cdi, app_measurement: &[u8; HASH_SIZE], component_id: &[u8; 16]) -> Cdi {
    Cdi(kdf(&cdi.0, &sha256(&[app_measurement, component_id]), b"App CDI"))
}
