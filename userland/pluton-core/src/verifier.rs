//! The host's check of attestation evidence: decodes the tagged COSE_Sign1
//! that [`crate::eat::evidence`] writes, checks its certificate chain, its
//! signature and its claims, and returns what it claims.
//!
//! It decodes with `coset` and `ciborium`, not with the device's
//! `minicbor` encoder, so the two sides are independent implementations of
//! the format in [`crate::eat`]'s module docs.
//!
//! # Checks, in order
//!
//! [`verify`] stops at the first check that fails and returns its own
//! [`VerifyError`] variant.
//!
//! 1. **COSE.** The evidence is one CBOR item, a COSE_Sign1 with its tag
//!    (18), and nothing after it ([`VerifyError::Untagged`] when only the
//!    tag is missing). The protected header's algorithm is ES256 and it
//!    marks nothing critical; the payload is present (not detached).
//! 2. **Headers.** The unprotected header carries x5chain (label 33,
//!    RFC 9360) as one byte string: the Alias certificate (DER), whose key
//!    is a P-256 key. Its kid (label 4) is [`crate::identifier`] of that
//!    key.
//! 3. **Certificate chain.** The expected DeviceID certificate is signed
//!    by the expected manufacturer CA's key and names the CA's subject as
//!    its issuer; the Alias certificate is signed by the DeviceID key and
//!    names the DeviceID certificate's subject as its issuer. Only the
//!    signatures and names are checked here (not validity, extensions or
//!    path lengths: `openssl verify` does that in xtask).
//! 4. **Signature.** The COSE signature (64 bytes, r || s) verifies with
//!    the Alias public key over the `Sig_structure` with no external data.
//! 5. **Claims.** The payload is one CBOR map, read per [`crate::eat`]:
//!    nonce (10, 8 to 64 bytes), ueid (256, bytes), dbgstat (263, unsigned
//!    integer), eat_profile (265, text), swname (270, text), swversion
//!    (271, `[text, ? scheme]`), measurements (273, each
//!    `[MEASUREMENT_CONTENT_TYPE, << {1: [name], 2: [-16, 32 bytes]} >>]`,
//!    the name 1 to 32 bytes) and, optionally, apps (-70000, each
//!    `{1: text, 2: 16 bytes, 3: 32 bytes, 4: 32 bytes, 5: text}`) and
//!    the requester (-70001, 16 bytes: the ComponentId of the app that
//!    asked; absent when `init` asked). Each
//!    of these claims appears at most once; claims with other keys are
//!    ignored (RFC 9711 and RFC 8392 let a receiver ignore claims it does
//!    not know), but inside a measurement or an app every key must be
//!    known.
//! 6. **Freshness and identity.** The nonce is the expected one, the ueid is
//!    [`crate::eat::ueid`] of the DeviceID key, and the profile is
//!    [`crate::eat::PROFILE`].
//! 7. **Layer 0 against the Alias certificate.** The certificate's DICE
//!    inputs extension ([`crate::certificate::OpenDiceInput`], exactly one,
//!    with profile name [`crate::certificate::PROFILE_NAME`]) lists `k`
//!    measurements; they are the evidence's first `k` measurements (the
//!    layer-0 ones: the kernel and the system programs; the loader's apps
//!    may follow), and the certificate's code hash is
//!    [`crate::measure::code_hash`] of them. The DeviceID key signed that
//!    certificate, and a device derives its Alias key from that code hash,
//!    so this ties the measurement log to the key that signed it.
//! 8. **Layer 0 against the build.** If [`Expected::layer_zero`] is given,
//!    the evidence's first `k` measurements are exactly those (same count,
//!    names, hashes and order); the first difference is reported.
//! 9. **Layer-0 inputs against the build.** If
//!    [`Expected::layer_zero_inputs`] is given, the Alias certificate's
//!    configuration hash, authority hash and mode are those. The
//!    measurements cannot show these three: another configuration hash
//!    means other boot arguments, another authority hash other trusted
//!    package signing keys, and another mode another boot mode, all with
//!    the same code. (The DICE hidden input is never in a certificate.)
//!
//! Malformed input of any kind is an error, never a panic
//! ([`crate::fuzzing::evidence_decoding`] is the fuzz body that checks it).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use ciborium::value::Value;
use coset::{iana, Algorithm, CborSerializable, CoseSign1, Header, Label, TaggedCborSerializable};
use der::Decode;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use x509_cert::Certificate;

use crate::certificate::{self, OpenDiceInput, DICE_INPUTS_OID, PROFILE_NAME};
use crate::dice::{identifier, LayerInputs, Mode, HASH_SIZE};
use crate::eat::{self, claim, MAX_NONCE, MEASUREMENT_CONTENT_TYPE, MIN_NONCE, SHA_256, X5CHAIN};
use crate::measure::{self, MAX_NAME};
use crate::Hex;

/// What the verifier expects.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The nonce the verifier sent.
    pub nonce: &'a [u8],
    /// The manufacturer CA certificate (DER) the chain must end in.
    pub ca_certificate: &'a [u8],
    /// The device's DeviceID certificate (DER), issued by the CA at
    /// provisioning.
    pub device_id_certificate: &'a [u8],
    /// The layer-0 measurements the verifier computed from what it built,
    /// in order (name, SHA-256); `None` = do not compare them.
    pub layer_zero: Option<&'a [(String, [u8; HASH_SIZE])]>,
    /// The layer-0 DICE inputs besides the code that the Alias
    /// certificate must carry; `None` = do not compare them.
    pub layer_zero_inputs: Option<ExpectedInputs>,
}

/// The layer-0 DICE inputs a verifier expects in the Alias certificate
/// besides the code hash (check 9): what it computed from the boot
/// arguments and the boot image it built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedInputs {
    /// The configuration hash ([`crate::measure::config_hash`] of the boot
    /// arguments).
    pub config: [u8; HASH_SIZE],
    /// The authority hash (SHA-256 of the boot image's `trusted-keys`).
    pub authority: [u8; HASH_SIZE],
    /// The boot mode.
    pub mode: Mode,
}

impl From<&LayerInputs> for ExpectedInputs {
    /// The inputs [`crate::measure::measure_layer_zero`] computed (the
    /// code hash is checked through the measurements, the hidden input is
    /// never in a certificate).
    fn from(inputs: &LayerInputs) -> ExpectedInputs {
        ExpectedInputs { config: inputs.config, authority: inputs.authority, mode: inputs.mode }
    }
}

/// An app the evidence says the loader started (claim -70000).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// Its name.
    pub name: String,
    /// Its manifest's ComponentId.
    pub component_id: [u8; 16],
    /// The SHA-256 of its package.
    pub package: [u8; HASH_SIZE],
    /// The SHA-256 of its decoded grants.
    pub grants: [u8; HASH_SIZE],
    /// Its grants in words.
    pub summary: String,
}

/// What verified evidence claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The Alias certificate (DER), from the x5chain header.
    pub alias_certificate: Vec<u8>,
    /// The nonce (equal to [`Expected::nonce`]).
    pub nonce: Vec<u8>,
    /// The ueid (equal to [`crate::eat::ueid`] of the DeviceID key).
    pub ueid: Vec<u8>,
    /// The debug status (RFC 9711: 0 = enabled).
    pub dbgstat: u64,
    /// The EAT profile (equal to [`crate::eat::PROFILE`]).
    pub profile: String,
    /// The software's name.
    pub software_name: String,
    /// The software's version.
    pub software_version: String,
    /// Every measurement in order (name, SHA-256): layer 0 first, then
    /// the apps.
    pub measurements: Vec<(String, [u8; HASH_SIZE])>,
    /// The apps running (empty when the claim is absent).
    pub apps: Vec<App>,
    /// The ComponentId of the app that asked for the evidence (claim
    /// -70001); `None` when `init` asked.
    pub requester: Option<[u8; 16]>,
}

/// Why evidence did not verify: one variant per check (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// 1: not a well-formed tagged COSE_Sign1 (the CBOR or the COSE
    /// structure is wrong, or bytes follow it).
    NotCoseSign1(String),
    /// 1: a COSE_Sign1 without its tag (18).
    Untagged,
    /// 1: the protected header's algorithm is not ES256.
    NotEs256,
    /// 1: the protected header marks parameters critical.
    CriticalHeaders,
    /// 1: the payload is detached.
    NoPayload,
    /// 2: no x5chain (label 33) in the unprotected header.
    NoCertificate,
    /// 2: x5chain is not one byte string.
    MalformedCertificateHeader,
    /// 2: the kid is missing or is not the Alias key's identifier.
    WrongKid,
    /// 2: the Alias certificate does not parse or its key is not P-256.
    BadAliasCertificate(String),
    /// 3: the expected CA certificate does not parse or its key is not
    /// P-256.
    BadCaCertificate(String),
    /// 3: the expected DeviceID certificate does not parse or its key is
    /// not P-256.
    BadDeviceIdCertificate(String),
    /// 3: the DeviceID certificate is not signed by the CA's key.
    DeviceIdNotSignedByCa,
    /// 3: the DeviceID certificate's issuer is not the CA's subject.
    DeviceIdIssuerMismatch,
    /// 3: the Alias certificate is not signed by the DeviceID key.
    AliasNotSignedByDeviceId,
    /// 3: the Alias certificate's issuer is not the DeviceID certificate's
    /// subject.
    AliasIssuerMismatch,
    /// 4: the signature is not 64 bytes (r || s); holds its length.
    SignatureLength(usize),
    /// 4: the signature does not verify with the Alias key.
    BadSignature,
    /// 5: the payload is not one CBOR map.
    PayloadNotMap,
    /// 5: a claim appears twice.
    DuplicateClaim(&'static str),
    /// 5: a required claim is missing.
    MissingClaim(&'static str),
    /// 5: a claim has the wrong type or size.
    MalformedClaim {
        /// The claim.
        claim: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// 5: a measurement is malformed.
    MalformedMeasurement {
        /// Its position in the measurements claim.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// 5: an app is malformed.
    MalformedApp {
        /// Its position in the apps claim.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// 6: the nonce is not the expected one.
    NonceMismatch,
    /// 6: the ueid is not the DeviceID key's.
    UeidMismatch,
    /// 6: the EAT profile is not [`crate::eat::PROFILE`]; holds it.
    ProfileMismatch(String),
    /// 7: the Alias certificate has no DICE inputs extension.
    NoDiceInputs,
    /// 7: the DICE inputs extension is malformed.
    MalformedDiceInputs(String),
    /// 7: the evidence has fewer measurements than the Alias certificate
    /// lists.
    TooFewMeasurements {
        /// How many the certificate lists.
        certificate: usize,
        /// How many the evidence has.
        evidence: usize,
    },
    /// 7: a layer-0 measurement of the evidence differs from the Alias
    /// certificate's.
    CertificateMeasurementDiffers {
        /// Its position.
        index: usize,
        /// The certificate's (name, SHA-256).
        certificate: (String, [u8; HASH_SIZE]),
        /// The evidence's (name, SHA-256).
        evidence: (String, [u8; HASH_SIZE]),
    },
    /// 7: the certificate's code hash is not the code hash of the layer-0
    /// measurements.
    CodeHashMismatch,
    /// 8: a layer-0 measurement has another name than expected.
    LayerZeroName {
        /// Its position.
        index: usize,
        /// The expected name.
        expected: String,
        /// The evidence's name.
        evidence: String,
    },
    /// 8: a layer-0 measurement has another hash than expected.
    MeasurementDiffers {
        /// Its name.
        name: String,
        /// The expected SHA-256.
        expected: [u8; HASH_SIZE],
        /// The evidence's SHA-256.
        evidence: [u8; HASH_SIZE],
    },
    /// 8: the evidence has another number of layer-0 measurements than
    /// expected (the ones both have are equal).
    LayerZeroCount {
        /// How many were expected.
        expected: usize,
        /// How many the evidence has.
        evidence: usize,
    },
    /// 9: the Alias certificate's configuration hash is not the expected
    /// one: the device booted with other boot arguments.
    ConfigurationHashDiffers {
        /// The expected hash.
        expected: [u8; HASH_SIZE],
        /// The certificate's.
        certificate: [u8; HASH_SIZE],
    },
    /// 9: the Alias certificate's authority hash is not the expected one:
    /// the boot image trusts other package signing keys.
    AuthorityHashDiffers {
        /// The expected hash.
        expected: [u8; HASH_SIZE],
        /// The certificate's.
        certificate: [u8; HASH_SIZE],
    },
    /// 9: the Alias certificate's mode is not the expected one.
    ModeDiffers {
        /// The expected mode.
        expected: Mode,
        /// The certificate's.
        certificate: Mode,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VerifyError::*;
        match self {
            NotCoseSign1(reason) => write!(formatter, "the evidence is not a tagged COSE_Sign1: {reason}"),
            Untagged => formatter.write_str("the evidence is a COSE_Sign1 without its tag (18)"),
            NotEs256 => formatter.write_str("the protected header's algorithm is not ES256"),
            CriticalHeaders => formatter.write_str("the protected header marks parameters critical"),
            NoPayload => formatter.write_str("the evidence has no payload (detached)"),
            NoCertificate => formatter.write_str("the unprotected header has no x5chain (33): no Alias certificate"),
            MalformedCertificateHeader => formatter.write_str("the x5chain header (33) is not one byte string"),
            WrongKid => formatter.write_str("the kid (4) is not the Alias key's identifier"),
            BadAliasCertificate(reason) => write!(formatter, "the Alias certificate is unusable: {reason}"),
            BadCaCertificate(reason) => write!(formatter, "the expected CA certificate is unusable: {reason}"),
            BadDeviceIdCertificate(reason) => {
                write!(formatter, "the expected DeviceID certificate is unusable: {reason}")
            }
            DeviceIdNotSignedByCa => formatter.write_str("the DeviceID certificate is not signed by the CA's key"),
            DeviceIdIssuerMismatch => formatter.write_str("the DeviceID certificate's issuer is not the CA's subject"),
            AliasNotSignedByDeviceId => {
                formatter.write_str("the Alias certificate is not signed by the DeviceID key (broken chain)")
            }
            AliasIssuerMismatch => {
                formatter.write_str("the Alias certificate's issuer is not the DeviceID certificate's subject")
            }
            SignatureLength(len) => write!(formatter, "the signature is {len} bytes, not 64 (r || s)"),
            BadSignature => formatter.write_str("the signature does not verify with the Alias key"),
            PayloadNotMap => formatter.write_str("the payload is not one CBOR map"),
            DuplicateClaim(claim) => write!(formatter, "the claim {claim} appears more than once"),
            MissingClaim(claim) => write!(formatter, "the claim {claim} is missing"),
            MalformedClaim { claim, reason } => write!(formatter, "the claim {claim} is malformed: {reason}"),
            MalformedMeasurement { index, reason } => write!(formatter, "measurement {index} is malformed: {reason}"),
            MalformedApp { index, reason } => write!(formatter, "app {index} is malformed: {reason}"),
            NonceMismatch => formatter.write_str("the nonce does not match"),
            UeidMismatch => formatter.write_str("the ueid is not the DeviceID key's"),
            ProfileMismatch(profile) => {
                write!(formatter, "the EAT profile is {profile:?}, expected {:?}", eat::PROFILE)
            }
            NoDiceInputs => formatter.write_str("the Alias certificate has no DICE inputs extension"),
            MalformedDiceInputs(reason) => write!(formatter, "the Alias certificate's DICE inputs: {reason}"),
            TooFewMeasurements { certificate, evidence } => write!(
                formatter,
                "the Alias certificate lists {certificate} layer-0 measurements, the evidence has only {evidence}"
            ),
            CertificateMeasurementDiffers { index, certificate, evidence } => write!(
                formatter,
                "measurement {index} is '{}' {} in the evidence but '{}' {} in the Alias certificate",
                evidence.0,
                Hex(&evidence.1),
                certificate.0,
                Hex(&certificate.1)
            ),
            CodeHashMismatch => formatter
                .write_str("the Alias certificate's code hash is not the code hash of the layer-0 measurements"),
            LayerZeroName { index, expected, evidence } => {
                write!(formatter, "layer-0 measurement {index} is '{evidence}', expected '{expected}'")
            }
            MeasurementDiffers { name, expected, evidence } => write!(
                formatter,
                "measurement '{name}' differs: expected {}, evidence {}",
                Hex(expected),
                Hex(evidence)
            ),
            LayerZeroCount { expected, evidence } => {
                write!(formatter, "expected {expected} layer-0 measurements, the evidence has {evidence}")
            }
            ConfigurationHashDiffers { expected, certificate } => write!(
                formatter,
                "the Alias certificate's configuration hash differs: the device booted with other boot arguments \
                 (expected {}, certificate {})",
                Hex(expected),
                Hex(certificate)
            ),
            AuthorityHashDiffers { expected, certificate } => write!(
                formatter,
                "the Alias certificate's authority hash differs: the device's boot image trusts other package \
                 signing keys (expected {}, certificate {})",
                Hex(expected),
                Hex(certificate)
            ),
            ModeDiffers { expected, certificate } => write!(
                formatter,
                "the Alias certificate's mode differs: the device booted in {certificate:?} mode, expected \
                 {expected:?}"
            ),
        }
    }
}

impl core::error::Error for VerifyError {}

/// Checks `evidence` against `expected` (the module docs list the checks
/// in order) and returns what it claims.
pub fn verify(evidence: &[u8], expected: &Expected<'_>) -> Result<Verified, VerifyError> {
    // 1. COSE.
    let sign1 = decode_sign1(evidence)?;
    if sign1.protected.header.alg != Some(Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(VerifyError::NotEs256);
    }
    if !sign1.protected.header.crit.is_empty() {
        return Err(VerifyError::CriticalHeaders);
    }
    let payload = sign1.payload.as_deref().ok_or(VerifyError::NoPayload)?;

    // 2. Headers.
    let alias_der = x5chain(&sign1.unprotected)?;
    let alias_key =
        certificate::public_key_of(alias_der).map_err(|error| bad(VerifyError::BadAliasCertificate, error))?;
    let alias =
        Certificate::from_der(alias_der).map_err(|error| VerifyError::BadAliasCertificate(error.to_string()))?;
    if sign1.unprotected.key_id[..] != identifier(&alias_key)[..] {
        return Err(VerifyError::WrongKid);
    }

    // 3. Certificate chain.
    let device_id_key = check_chain(alias_der, &alias, expected)?;

    // 4. Signature.
    if sign1.signature.len() != 64 {
        return Err(VerifyError::SignatureLength(sign1.signature.len()));
    }
    // r or s zero or not below the group order: no key verifies it.
    let signature = Signature::from_slice(&sign1.signature).map_err(|_| VerifyError::BadSignature)?;
    alias_key.verify(&sign1.tbs_data(&[]), &signature).map_err(|_| VerifyError::BadSignature)?;

    // 5. Claims.
    let claims = decode_claims(payload)?;

    // 6. Freshness and identity.
    if claims.nonce != expected.nonce {
        return Err(VerifyError::NonceMismatch);
    }
    if claims.ueid[..] != eat::ueid(&device_id_key)[..] {
        return Err(VerifyError::UeidMismatch);
    }
    if claims.profile != eat::PROFILE {
        return Err(VerifyError::ProfileMismatch(claims.profile));
    }

    // 7. Layer 0 against the Alias certificate.
    let inputs = dice_inputs(&alias)?;
    let layer_zero = check_dice_inputs(&inputs, &claims.measurements)?;

    // 8. Layer 0 against the build.
    if let Some(wanted) = expected.layer_zero {
        compare_layer_zero(wanted, &claims.measurements[..layer_zero])?;
    }

    // 9. Layer-0 inputs against the build.
    if let Some(wanted) = &expected.layer_zero_inputs {
        compare_inputs(wanted, &inputs)?;
    }

    Ok(Verified {
        alias_certificate: alias_der.to_vec(),
        nonce: claims.nonce,
        ueid: claims.ueid,
        dbgstat: claims.dbgstat,
        profile: claims.profile,
        software_name: claims.software_name,
        software_version: claims.software_version,
        measurements: claims.measurements,
        apps: claims.apps,
        requester: claims.requester,
    })
}

/// A certificate error as the `variant`'s text.
fn bad(variant: fn(String) -> VerifyError, error: certificate::Error) -> VerifyError {
    variant(error.to_string())
}

/// Check 1's decoding: a tagged COSE_Sign1 and nothing after it.
fn decode_sign1(evidence: &[u8]) -> Result<CoseSign1, VerifyError> {
    match CoseSign1::from_tagged_slice(evidence) {
        Ok(sign1) => Ok(sign1),
        Err(_) if CoseSign1::from_slice(evidence).is_ok() => Err(VerifyError::Untagged),
        Err(error) => Err(VerifyError::NotCoseSign1(error.to_string())),
    }
}

/// Check 2's x5chain: the one byte string under label 33.
fn x5chain(header: &Header) -> Result<&[u8], VerifyError> {
    let mut found = header.rest.iter().filter(|(label, _)| *label == Label::Int(X5CHAIN));
    let (_, value) = found.next().ok_or(VerifyError::NoCertificate)?;
    // coset refuses duplicate labels already; this is a second guard.
    if found.next().is_some() {
        return Err(VerifyError::MalformedCertificateHeader);
    }
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        _ => Err(VerifyError::MalformedCertificateHeader),
    }
}

/// Check 3: CA -> DeviceID -> Alias; returns the DeviceID key.
fn check_chain(alias_der: &[u8], alias: &Certificate, expected: &Expected<'_>) -> Result<VerifyingKey, VerifyError> {
    let ca_key = certificate::public_key_of(expected.ca_certificate)
        .map_err(|error| bad(VerifyError::BadCaCertificate, error))?;
    let ca_subject =
        certificate::subject_of(expected.ca_certificate).map_err(|error| bad(VerifyError::BadCaCertificate, error))?;
    let device_id_der = expected.device_id_certificate;
    let device_id_key =
        certificate::public_key_of(device_id_der).map_err(|error| bad(VerifyError::BadDeviceIdCertificate, error))?;
    let device_id =
        Certificate::from_der(device_id_der).map_err(|error| VerifyError::BadDeviceIdCertificate(error.to_string()))?;
    let device_id_signed = certificate::is_signed_by(device_id_der, &ca_key)
        .map_err(|error| bad(VerifyError::BadDeviceIdCertificate, error))?;
    if !device_id_signed {
        return Err(VerifyError::DeviceIdNotSignedByCa);
    }
    if *device_id.tbs_certificate().issuer() != ca_subject {
        return Err(VerifyError::DeviceIdIssuerMismatch);
    }
    let alias_signed = certificate::is_signed_by(alias_der, &device_id_key)
        .map_err(|error| bad(VerifyError::BadAliasCertificate, error))?;
    if !alias_signed {
        return Err(VerifyError::AliasNotSignedByDeviceId);
    }
    if alias.tbs_certificate().issuer() != device_id.tbs_certificate().subject() {
        return Err(VerifyError::AliasIssuerMismatch);
    }
    Ok(device_id_key)
}

/// The claims check 5 reads.
struct Claims {
    nonce: Vec<u8>,
    ueid: Vec<u8>,
    dbgstat: u64,
    profile: String,
    software_name: String,
    software_version: String,
    measurements: Vec<(String, [u8; HASH_SIZE])>,
    apps: Vec<App>,
    requester: Option<[u8; 16]>,
}

/// One whole CBOR item from `bytes`, with nothing after it.
fn decode_cbor(bytes: &[u8]) -> Option<Value> {
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader(&mut reader).ok()?;
    reader.is_empty().then_some(value)
}

/// Whether `value` is the integer `key`.
fn is_key(value: &Value, key: i64) -> bool {
    matches!(value, Value::Integer(integer) if i128::from(*integer) == i128::from(key))
}

/// The value under `key` in `map`: `Ok(None)` when absent, `Err(())` when
/// the key is there more than once.
fn lookup(map: &[(Value, Value)], key: i64) -> Result<Option<&Value>, ()> {
    let mut found = None;
    for (entry_key, value) in map {
        if is_key(entry_key, key) {
            if found.is_some() {
                return Err(());
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// A top-level claim's name and key.
type ClaimKey = (&'static str, i64);

const NONCE: ClaimKey = ("nonce (10)", claim::NONCE);
const UEID: ClaimKey = ("ueid (256)", claim::UEID);
const DBGSTAT: ClaimKey = ("dbgstat (263)", claim::DBGSTAT);
const EAT_PROFILE: ClaimKey = ("eat_profile (265)", claim::EAT_PROFILE);
const SWNAME: ClaimKey = ("swname (270)", claim::SWNAME);
const SWVERSION: ClaimKey = ("swversion (271)", claim::SWVERSION);
const MEASUREMENTS: ClaimKey = ("measurements (273)", claim::MEASUREMENTS);
const APPS: ClaimKey = ("apps (-70000)", claim::APPS);
const REQUESTER: ClaimKey = ("requester (-70001)", claim::REQUESTER);

/// The claim `key` of `map`, if present.
fn optional_claim(map: &[(Value, Value)], (name, key): ClaimKey) -> Result<Option<&Value>, VerifyError> {
    lookup(map, key).map_err(|()| VerifyError::DuplicateClaim(name))
}

/// The claim `key` of `map`.
fn required_claim(map: &[(Value, Value)], claim: ClaimKey) -> Result<&Value, VerifyError> {
    optional_claim(map, claim)?.ok_or(VerifyError::MissingClaim(claim.0))
}

fn malformed(claim: ClaimKey, reason: &'static str) -> VerifyError {
    VerifyError::MalformedClaim { claim: claim.0, reason }
}

/// The text of claim `claim`.
fn text_claim(map: &[(Value, Value)], claim: ClaimKey) -> Result<String, VerifyError> {
    match required_claim(map, claim)? {
        Value::Text(text) => Ok(text.clone()),
        _ => Err(malformed(claim, "not a text string")),
    }
}

/// The byte string of claim `claim`.
fn bytes_claim(map: &[(Value, Value)], claim: ClaimKey) -> Result<Vec<u8>, VerifyError> {
    match required_claim(map, claim)? {
        Value::Bytes(bytes) => Ok(bytes.clone()),
        _ => Err(malformed(claim, "not a byte string")),
    }
}

/// Check 5: the claims of `payload`.
fn decode_claims(payload: &[u8]) -> Result<Claims, VerifyError> {
    let Some(Value::Map(map)) = decode_cbor(payload) else { return Err(VerifyError::PayloadNotMap) };

    let nonce = bytes_claim(&map, NONCE)?;
    if !(MIN_NONCE..=MAX_NONCE).contains(&nonce.len()) {
        return Err(malformed(NONCE, "not 8 to 64 bytes"));
    }
    let ueid = bytes_claim(&map, UEID)?;
    let dbgstat = match required_claim(&map, DBGSTAT)? {
        Value::Integer(integer) => u64::try_from(*integer).map_err(|_| malformed(DBGSTAT, "negative"))?,
        _ => return Err(malformed(DBGSTAT, "not an unsigned integer")),
    };
    let profile = text_claim(&map, EAT_PROFILE)?;
    let software_name = text_claim(&map, SWNAME)?;
    let software_version = match required_claim(&map, SWVERSION)? {
        // RFC 9711: [version, ? version-scheme].
        Value::Array(items) => match &items[..] {
            [Value::Text(version)] | [Value::Text(version), Value::Integer(_)] => version.clone(),
            _ => return Err(malformed(SWVERSION, "not [text, ? scheme]")),
        },
        _ => return Err(malformed(SWVERSION, "not an array")),
    };
    let measurements = match required_claim(&map, MEASUREMENTS)? {
        Value::Array(items) => {
            items.iter().enumerate().map(|(index, item)| decode_measurement(index, item)).collect::<Result<_, _>>()?
        }
        _ => return Err(malformed(MEASUREMENTS, "not an array")),
    };
    let apps = match optional_claim(&map, APPS)? {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            items.iter().enumerate().map(|(index, item)| decode_app(index, item)).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(malformed(APPS, "not an array")),
    };
    let requester = match optional_claim(&map, REQUESTER)? {
        None => None,
        Some(Value::Bytes(bytes)) => {
            Some(<[u8; 16]>::try_from(&bytes[..]).map_err(|_| malformed(REQUESTER, "not 16 bytes"))?)
        }
        Some(_) => return Err(malformed(REQUESTER, "not a byte string")),
    };
    Ok(Claims { nonce, ueid, dbgstat, profile, software_name, software_version, measurements, apps, requester })
}

/// A measurement: `[MEASUREMENT_CONTENT_TYPE, << {1: [name], 2: [-16,
/// sha256]} >>]`.
fn decode_measurement(index: usize, item: &Value) -> Result<(String, [u8; HASH_SIZE]), VerifyError> {
    let error = |reason| VerifyError::MalformedMeasurement { index, reason };
    let Value::Array(pair) = item else { return Err(error("not an array")) };
    let [content_type, Value::Bytes(content)] = &pair[..] else {
        return Err(error("not [content type, byte string]"));
    };
    if !is_key(content_type, i64::from(MEASUREMENT_CONTENT_TYPE)) {
        return Err(error("the content type is not 65000"));
    }
    let Some(Value::Map(map)) = decode_cbor(content) else { return Err(error("the content is not one CBOR map")) };
    if map.len() != 2 {
        return Err(error("the content does not have exactly the keys 1 and 2"));
    }
    let id = lookup(&map, 1).map_err(|()| error("key 1 twice"))?.ok_or(error("no id (1)"))?;
    let digest = lookup(&map, 2).map_err(|()| error("key 2 twice"))?.ok_or(error("no digest (2)"))?;
    let name = match id {
        Value::Array(items) => match &items[..] {
            [Value::Text(name)] => name,
            _ => return Err(error("the id is not [name]")),
        },
        _ => return Err(error("the id is not an array")),
    };
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(error("the name is not 1 to 32 bytes"));
    }
    let Value::Array(digest) = digest else { return Err(error("the digest is not an array")) };
    let [algorithm, Value::Bytes(hash)] = &digest[..] else {
        return Err(error("the digest is not [algorithm, byte string]"));
    };
    if !is_key(algorithm, i64::from(SHA_256)) {
        return Err(error("the digest's algorithm is not SHA-256 (-16)"));
    }
    let hash = <[u8; HASH_SIZE]>::try_from(&hash[..]).map_err(|_| error("the digest is not 32 bytes"))?;
    Ok((name.clone(), hash))
}

/// An app: `{1: name, 2: component id, 3: package SHA-256, 4: grants
/// SHA-256, 5: summary}`.
fn decode_app(index: usize, item: &Value) -> Result<App, VerifyError> {
    let error = |reason| VerifyError::MalformedApp { index, reason };
    let Value::Map(map) = item else { return Err(error("not a map")) };
    if map.len() != 5 {
        return Err(error("it does not have exactly the keys 1 to 5"));
    }
    let field = |key| match lookup(map, key) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(error("it does not have exactly the keys 1 to 5")),
        Err(()) => Err(error("a key appears twice")),
    };
    let text = |key, reason| match field(key)? {
        Value::Text(text) => Ok(text.clone()),
        _ => Err(error(reason)),
    };
    fn array<const N: usize>(value: &Value) -> Option<[u8; N]> {
        match value {
            Value::Bytes(bytes) => <[u8; N]>::try_from(&bytes[..]).ok(),
            _ => None,
        }
    }
    Ok(App {
        name: text(1, "the name (1) is not text")?,
        component_id: array(field(2)?).ok_or(error("the component id (2) is not 16 bytes"))?,
        package: array(field(3)?).ok_or(error("the package hash (3) is not 32 bytes"))?,
        grants: array(field(4)?).ok_or(error("the grants hash (4) is not 32 bytes"))?,
        summary: text(5, "the summary (5) is not text")?,
    })
}

/// The DICE inputs extension of the Alias certificate.
fn dice_inputs(alias: &Certificate) -> Result<OpenDiceInput, VerifyError> {
    let extensions = alias.tbs_certificate().extensions().map(|extensions| &extensions[..]).unwrap_or(&[]);
    let mut found = extensions.iter().filter(|extension| extension.extn_id == DICE_INPUTS_OID);
    let extension = found.next().ok_or(VerifyError::NoDiceInputs)?;
    if found.next().is_some() {
        return Err(VerifyError::MalformedDiceInputs("the extension appears twice".to_string()));
    }
    OpenDiceInput::from_der(extension.extn_value.as_bytes())
        .map_err(|error| VerifyError::MalformedDiceInputs(error.to_string()))
}

/// Check 7 on the Alias certificate's DICE `inputs`; returns how many of
/// `measurements` are layer 0.
fn check_dice_inputs(inputs: &OpenDiceInput, measurements: &[(String, [u8; HASH_SIZE])]) -> Result<usize, VerifyError> {
    let malformed = |reason: &str| VerifyError::MalformedDiceInputs(reason.to_string());
    if inputs.profile_name.as_deref() != Some(PROFILE_NAME) {
        return Err(malformed("the profile name is not tessera-dice-p256-sha256-v1"));
    }
    let listed = inputs.measurements().map_err(|error| VerifyError::MalformedDiceInputs(error.to_string()))?;
    if measurements.len() < listed.len() {
        return Err(VerifyError::TooFewMeasurements { certificate: listed.len(), evidence: measurements.len() });
    }
    for (index, (listed, evidence)) in listed.iter().zip(measurements).enumerate() {
        let hash = <[u8; HASH_SIZE]>::try_from(listed.sha256.as_bytes())
            .map_err(|_| malformed("a measurement's hash is not 32 bytes"))?;
        if listed.name != evidence.0 || hash != evidence.1 {
            return Err(VerifyError::CertificateMeasurementDiffers {
                index,
                certificate: (listed.name.clone(), hash),
                evidence: evidence.clone(),
            });
        }
    }
    let layer_zero = &measurements[..listed.len()];
    // Every name was checked to fit a `measure::Measurement` when decoded.
    let log = layer_zero
        .iter()
        .map(|(name, hash)| measure::Measurement::new(name, *hash))
        .collect::<Option<Vec<_>>>()
        .ok_or(VerifyError::CodeHashMismatch)?;
    let code_hash = inputs.code_hash.as_ref().ok_or(malformed("no code hash"))?;
    if code_hash.as_bytes() != measure::code_hash(&log) {
        return Err(VerifyError::CodeHashMismatch);
    }
    Ok(listed.len())
}

/// Check 8: `layer_zero` (the evidence's) is exactly `expected`.
fn compare_layer_zero(
    expected: &[(String, [u8; HASH_SIZE])],
    layer_zero: &[(String, [u8; HASH_SIZE])],
) -> Result<(), VerifyError> {
    for (index, (wanted, got)) in expected.iter().zip(layer_zero).enumerate() {
        if wanted.0 != got.0 {
            return Err(VerifyError::LayerZeroName { index, expected: wanted.0.clone(), evidence: got.0.clone() });
        }
        if wanted.1 != got.1 {
            return Err(VerifyError::MeasurementDiffers { name: got.0.clone(), expected: wanted.1, evidence: got.1 });
        }
    }
    if expected.len() != layer_zero.len() {
        return Err(VerifyError::LayerZeroCount { expected: expected.len(), evidence: layer_zero.len() });
    }
    Ok(())
}

/// Check 9: the certificate's DICE `inputs` carry `expected`'s
/// configuration hash, authority hash and mode.
fn compare_inputs(expected: &ExpectedInputs, inputs: &OpenDiceInput) -> Result<(), VerifyError> {
    let hash = |field: &Option<der::asn1::OctetString>, name: &str| {
        let missing = || VerifyError::MalformedDiceInputs(format!("no 32-byte {name} hash"));
        let bytes = field.as_ref().ok_or_else(missing)?;
        <[u8; HASH_SIZE]>::try_from(bytes.as_bytes()).map_err(|_| missing())
    };
    let config = hash(&inputs.configuration_hash, "configuration")?;
    if config != expected.config {
        return Err(VerifyError::ConfigurationHashDiffers { expected: expected.config, certificate: config });
    }
    let authority = hash(&inputs.authority_hash, "authority")?;
    if authority != expected.authority {
        return Err(VerifyError::AuthorityHashDiffers { expected: expected.authority, certificate: authority });
    }
    let mode = inputs.mode.ok_or_else(|| VerifyError::MalformedDiceInputs("no mode".to_string()))?;
    if mode != expected.mode {
        return Err(VerifyError::ModeDiffers { expected: expected.mode, certificate: mode });
    }
    Ok(())
}
