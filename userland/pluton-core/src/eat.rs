//! Attestation evidence: an Entity Attestation Token (RFC 9711) as CBOR in
//! a COSE_Sign1 (RFC 9052) signed with ES256 by the Alias key, encoded
//! without a heap.
//!
//! ```text
//! 18([                                  / COSE_Sign1 tag /
//!   << {1: -7} >>,                      / protected: alg ES256 /
//!   {4: alias identifier (20 bytes),    / kid /
//!    33: alias certificate (DER)},      / x5chain (RFC 9360) /
//!   << claims >>,                       / payload /
//!   signature (64 bytes, r || s)
//! ])
//!
//! claims = {
//!   10: nonce (8 to 64 bytes),
//!   256: ueid: 0x01 || SHA-256(DeviceID public key, SEC1 uncompressed),
//!   263: dbgstat: 0 (enabled: QEMU's host can always read the guest),
//!   265: eat_profile: PROFILE,
//!   270: swname: "Tessera", 271: swversion: [version],
//!   273: measurements: [+ [MEASUREMENT_CONTENT_TYPE,
//!                          << {1: [name], 2: [-16, sha256]} >>]],
//!   -70001: requester (only when an app asked): its ComponentId (16 bytes),
//!   -70000: apps (only when the loader recorded any): [+ {
//!       1: name, 2: component id (16 bytes), 3: package SHA-256,
//!       4: grants SHA-256, 5: grants summary (text) }]
//! }
//! ```
//!
//! The ueid is type 0x01 ("RAND": 32 bytes a hash of a unique value), made
//! from the DeviceID key, so it stays across software updates as the
//! DeviceID does. Each measurement's content is shaped like the IETF
//! draft's measured component (an id naming it, a digest with COSE's
//! algorithm number for SHA-256, -16); it is tagged with a CoAP content
//! format from the experimental range until that one has a number. The
//! apps claim has a private-use key (below -65536).
//!
//! The signature covers the COSE `Sig_structure` `["Signature1",
//! protected, h'', payload]`; with RFC 6979 nonces the same claims give the
//! same evidence.

use minicbor::data::Tag;
use minicbor::encode::write::Cursor;
use minicbor::Encoder;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

use crate::dice::{identifier, HASH_SIZE};
use crate::measure::{sha256, Measurement};

/// The claim keys (RFC 9711).
pub mod claim {
    /// The verifier's nonce.
    pub const NONCE: i64 = 10;
    /// The universal entity id.
    pub const UEID: i64 = 256;
    /// The debug status.
    pub const DBGSTAT: i64 = 263;
    /// The EAT profile.
    pub const EAT_PROFILE: i64 = 265;
    /// The software's name.
    pub const SWNAME: i64 = 270;
    /// The software's version.
    pub const SWVERSION: i64 = 271;
    /// The measurements.
    pub const MEASUREMENTS: i64 = 273;
    /// Tessera's apps and their granted authority (private use).
    pub const APPS: i64 = -70000;
    /// The ComponentId of the app that asked for the evidence (private
    /// use; absent when `init` asked).
    pub const REQUESTER: i64 = -70001;
}

/// The EAT profile this evidence follows (the module docs).
pub const PROFILE: &str = "tag:tessera.invalid,2026:eat-v1";
/// The software name claim.
pub const SOFTWARE_NAME: &str = "Tessera";
/// The CoAP content format of a measurement (experimental range).
pub const MEASUREMENT_CONTENT_TYPE: u32 = 65000;
/// COSE's algorithm number for SHA-256.
pub const SHA_256: i32 = -16;
/// COSE's algorithm number for ES256 (ECDSA P-256 with SHA-256).
pub const ES256: i32 = -7;
/// The COSE_Sign1 tag.
pub const COSE_SIGN1_TAG: u64 = 18;
/// The protected header: `{1: -7}`.
pub const PROTECTED: [u8; 3] = [0xa1, 0x01, 0x26];
/// COSE's header label for the key id.
pub const KID: i64 = 4;
/// COSE's header label for the certificate chain (RFC 9360).
pub const X5CHAIN: i64 = 33;
/// The shortest nonce RFC 9711 allows.
pub const MIN_NONCE: usize = 8;
/// The longest nonce RFC 9711 allows.
pub const MAX_NONCE: usize = 64;
/// The size of a ueid.
pub const UEID_SIZE: usize = 1 + HASH_SIZE;
/// The ueid's type byte (RAND).
pub const UEID_RAND: u8 = 0x01;

/// An app the loader started, as the evidence shows it.
#[derive(Clone, Copy, Debug)]
pub struct AppClaim<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its manifest's ComponentId.
    pub component_id: [u8; 16],
    /// The SHA-256 of its package.
    pub package: [u8; HASH_SIZE],
    /// The SHA-256 of its decoded grants.
    pub grants: [u8; HASH_SIZE],
    /// Its grants in words.
    pub summary: &'a str,
}

/// What the evidence claims.
#[derive(Clone, Copy, Debug)]
pub struct Claims<'a> {
    /// The verifier's nonce.
    pub nonce: &'a [u8],
    /// [`ueid`] of the DeviceID key.
    pub ueid: [u8; UEID_SIZE],
    /// The software's version.
    pub version: &'a str,
    /// The measurement log.
    pub measurements: &'a [Measurement],
    /// The apps running.
    pub apps: &'a [AppClaim<'a>],
    /// The ComponentId of the app that asked for this evidence; `None`
    /// when `init` asked. A verifier that talks to an app learns whether
    /// the evidence was made for that app or relayed.
    pub requester: Option<[u8; 16]>,
}

/// Why evidence could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EatError {
    /// The nonce is shorter than [`MIN_NONCE`] or longer than [`MAX_NONCE`].
    BadNonce,
    /// The output buffer is too small.
    TooSmall,
}

impl<E> From<minicbor::encode::Error<E>> for EatError {
    fn from(_: minicbor::encode::Error<E>) -> Self {
        EatError::TooSmall
    }
}

/// The ueid of a device: 0x01 || SHA-256(its DeviceID public key, SEC1
/// uncompressed).
pub fn ueid(device_id: &VerifyingKey) -> [u8; UEID_SIZE] {
    let mut out = [UEID_RAND; UEID_SIZE];
    out[1..].copy_from_slice(&sha256(device_id.to_sec1_point(false).as_bytes()));
    out
}

/// Encodes `claims` (the payload) into `out`; returns its length.
pub fn encode_claims(claims: &Claims<'_>, out: &mut [u8]) -> Result<usize, EatError> {
    if !(MIN_NONCE..=MAX_NONCE).contains(&claims.nonce.len()) {
        return Err(EatError::BadNonce);
    }
    let mut encoder = Encoder::new(Cursor::new(out));
    let entries = 7 + u64::from(!claims.apps.is_empty()) + u64::from(claims.requester.is_some());
    encoder.map(entries)?;
    encoder.i64(claim::NONCE)?.bytes(claims.nonce)?;
    encoder.i64(claim::UEID)?.bytes(&claims.ueid)?;
    encoder.i64(claim::DBGSTAT)?.u32(0)?;
    encoder.i64(claim::EAT_PROFILE)?.str(PROFILE)?;
    encoder.i64(claim::SWNAME)?.str(SOFTWARE_NAME)?;
    encoder.i64(claim::SWVERSION)?.array(1)?.str(claims.version)?;
    encoder.i64(claim::MEASUREMENTS)?.array(claims.measurements.len() as u64)?;
    for measurement in claims.measurements {
        let mut content = [0u8; 96];
        let mut inner = Encoder::new(Cursor::new(&mut content[..]));
        inner.map(2)?.u32(1)?.array(1)?.str(measurement.name())?;
        inner.u32(2)?.array(2)?.i32(SHA_256)?.bytes(&measurement.sha256)?;
        let len = inner.writer().position();
        encoder.array(2)?.u32(MEASUREMENT_CONTENT_TYPE)?.bytes(&content[..len])?;
    }
    if let Some(requester) = &claims.requester {
        encoder.i64(claim::REQUESTER)?.bytes(requester)?;
    }
    if !claims.apps.is_empty() {
        encoder.i64(claim::APPS)?.array(claims.apps.len() as u64)?;
        for app in claims.apps {
            encoder.map(5)?;
            encoder.u32(1)?.str(app.name)?;
            encoder.u32(2)?.bytes(&app.component_id)?;
            encoder.u32(3)?.bytes(&app.package)?;
            encoder.u32(4)?.bytes(&app.grants)?;
            encoder.u32(5)?.str(app.summary)?;
        }
    }
    Ok(encoder.writer().position())
}

/// COSE's `Sig_structure` for a COSE_Sign1 with [`PROTECTED`] and no
/// external data, into `out`; returns its length.
pub fn sig_structure(payload: &[u8], out: &mut [u8]) -> Result<usize, EatError> {
    let mut encoder = Encoder::new(Cursor::new(out));
    encoder.array(4)?.str("Signature1")?.bytes(&PROTECTED)?.bytes(&[])?.bytes(payload)?;
    Ok(encoder.writer().position())
}

/// The evidence for `claims`: a tagged COSE_Sign1 signed by `alias_key`,
/// carrying `alias_certificate` (DER), written to `out`; `scratch` holds
/// the payload and the signed structure on the way. Returns the length.
pub fn evidence(
    claims: &Claims<'_>,
    alias_key: &SigningKey,
    alias_certificate: &[u8],
    scratch: &mut [u8],
    out: &mut [u8],
) -> Result<usize, EatError> {
    let payload_len = encode_claims(claims, scratch)?;
    let (payload, rest) = scratch.split_at_mut(payload_len);
    let signed_len = sig_structure(payload, rest)?;
    let signature: Signature = alias_key.sign(&rest[..signed_len]);
    let mut encoder = Encoder::new(Cursor::new(out));
    encoder.tag(Tag::new(COSE_SIGN1_TAG))?.array(4)?.bytes(&PROTECTED)?;
    encoder.map(2)?.i64(KID)?.bytes(&identifier(alias_key.verifying_key()))?;
    encoder.i64(X5CHAIN)?.bytes(alias_certificate)?;
    encoder.bytes(payload)?.bytes(&signature.to_bytes())?;
    Ok(encoder.writer().position())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    fn key(byte: u8) -> SigningKey {
        crate::dice::p256_key_from_seed(&[byte; 32])
    }

    fn claims<'a>(nonce: &'a [u8], measurements: &'a [Measurement]) -> Claims<'a> {
        Claims { nonce, ueid: ueid(key(1).verifying_key()), version: "0.1.0", measurements, apps: &[], requester: None }
    }

    #[test]
    fn nonces_are_checked() {
        let mut out = [0; 512];
        assert_eq!(encode_claims(&claims(&[0; 7], &[]), &mut out), Err(EatError::BadNonce));
        assert_eq!(encode_claims(&claims(&[0; 65], &[]), &mut out), Err(EatError::BadNonce));
        assert!(encode_claims(&claims(&[0; 8], &[]), &mut out).is_ok());
        assert!(encode_claims(&claims(&[0; 64], &[]), &mut out).is_ok());
    }

    #[test]
    fn a_small_buffer_is_an_error() {
        let measurements = [Measurement::new("kernel", [7; 32]).unwrap()];
        let (mut scratch, mut out) = ([0; 1024], [0; 100]);
        let result = evidence(&claims(&[1; 32], &measurements), &key(2), &[0x30, 0], &mut scratch, &mut out);
        assert_eq!(result, Err(EatError::TooSmall));
    }

    #[test]
    fn the_signature_covers_the_sig_structure() {
        let measurements = [Measurement::new("kernel", [7; 32]).unwrap()];
        let (mut scratch, mut out) = ([0; 1024], [0; 1024]);
        let claims = claims(&[1; 32], &measurements);
        let len = evidence(&claims, &key(2), &[0x30, 0], &mut scratch, &mut out).unwrap();
        let signature = Signature::from_slice(&out[len - 64..len]).unwrap();
        let mut payload = [0; 512];
        let payload_len = encode_claims(&claims, &mut payload).unwrap();
        let mut signed = [0; 600];
        let signed_len = sig_structure(&payload[..payload_len], &mut signed).unwrap();
        assert!(key(2).verifying_key().verify(&signed[..signed_len], &signature).is_ok());
        // The tag (0xd2 = tag 18) and a four-element array start it.
        assert_eq!(&out[..2], &[0xd2, 0x84]);
    }
}
