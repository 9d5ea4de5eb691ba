//! The X.509 certificates of the DICE chain: manufacturer CA -> DeviceID ->
//! Alias.
//!
//! Every certificate is X.509 v3 in DER, signed with ECDSA P-256 and
//! SHA-256 (`ecdsa-with-SHA256`), for a P-256 key. ECDSA signatures here
//! use RFC 6979 deterministic nonces (p256's `SigningKey`), and the
//! DeviceID and Alias certificates have a fixed validity, so the same
//! inputs give byte-identical certificates: a device re-derives its chain
//! at every boot and gets the certificates it had.
//!
//! # Profile
//!
//! | | manufacturer CA | DeviceID | Alias |
//! |---|---|---|---|
//! | subject CN | `Tessera development manufacturer CA` | hex of the DeviceID identifier | hex of the Alias identifier |
//! | issuer | itself | the CA's subject | the DeviceID's subject |
//! | serial number | identifier of its key | identifier | identifier |
//! | notBefore | when it was made | 2026-01-01T00:00:00Z | 2026-01-01T00:00:00Z |
//! | notAfter | 99991231235959Z | 99991231235959Z | 99991231235959Z |
//! | basicConstraints (critical) | CA, pathLen 1 | CA, pathLen 0 | not a CA |
//! | keyUsage (critical) | keyCertSign, cRLSign | keyCertSign, digitalSignature | digitalSignature |
//! | subjectKeyIdentifier | identifier | identifier | identifier |
//! | authorityKeyIdentifier | none (self-signed) | the CA's subjectKeyIdentifier | the DeviceID identifier |
//! | DICE inputs (1.3.6.1.4.1.11129.2.1.24, not critical) | | | [`OpenDiceInput`] |
//!
//! The identifier is [`crate::identifier`] of the certified key; as a
//! serial number its top bit is cleared, so the DER INTEGER is positive
//! and at most 20 bytes long, as RFC 5280 requires. 99991231235959Z is
//! RFC 5280's "no well-defined expiration date": a device identity does
//! not expire, and a device without a trusted clock could not check it
//! anyway.
//!
//! The path lengths: the DeviceID certificate is a CA (it issues the
//! Alias certificate), and its pathLen 0 says no further CA certificate may
//! follow it: the Alias certificate is the leaf, which is allowed. The
//! manufacturer CA's pathLen 1 allows exactly the one intermediate, the
//! DeviceID. OpenSSL checks both (`openssl verify -CAfile ca.pem
//! -untrusted device-id.pem alias.pem`, run by xtask's tests) and also
//! requires keyCertSign on every issuer, which both CA certificates have.
//! If a later layer needs its own CA certificate, the DeviceID's pathLen
//! and the CA's grow by one each.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::str::FromStr;
use core::time::Duration;

use der::asn1::{GeneralizedTime, OctetString};
use der::{DateTime, Decode, Encode, Sequence};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use spki::{DecodePublicKey, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use crate::dice::{identifier, LayerInputs, Mode, HASH_SIZE, IDENTIFIER_SIZE};
use crate::Hex;

/// ecdsa-with-SHA256 (RFC 5758).
const ECDSA_WITH_SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The manufacturer CA's subject CommonName.
pub const CA_COMMON_NAME: &str = "Tessera development manufacturer CA";
/// Open DICE's OID for the extension that carries a layer's inputs.
pub const DICE_INPUTS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.1.24");
/// The `profileName` in the DICE inputs extension: names this profile and
/// the format of the code descriptor.
pub const PROFILE_NAME: &str = "tessera-dice-p256-sha256-v1";
/// The notBefore of the DeviceID and Alias certificates, seconds since the
/// Unix epoch: 2026-01-01T00:00:00Z.
pub const FIXED_NOT_BEFORE: Duration = Duration::from_secs(1_767_225_600);

/// Why a certificate could not be made or read.
#[derive(Debug)]
pub enum Error {
    /// A DER encoding or decoding error (a value out of range, a malformed
    /// certificate).
    Der(der::Error),
    /// The X.509 builder refused (it reports encoding and signing errors).
    Builder(x509_cert::builder::Error),
    /// The issuer's certificate is not for the issuer's key.
    KeyMismatch,
    /// The certificate's key is not a P-256 public key.
    NotP256,
}

impl core::fmt::Display for Error {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Der(error) => write!(formatter, "DER error: {error}"),
            Error::Builder(error) => write!(formatter, "cannot build the certificate: {error}"),
            Error::KeyMismatch => formatter.write_str("the issuer's certificate does not hold the issuer's public key"),
            Error::NotP256 => formatter.write_str("the certificate's key is not a P-256 public key"),
        }
    }
}

impl core::error::Error for Error {}

impl From<der::Error> for Error {
    fn from(error: der::Error) -> Error {
        Error::Der(error)
    }
}

impl From<x509_cert::builder::Error> for Error {
    fn from(error: x509_cert::builder::Error) -> Error {
        Error::Builder(error)
    }
}

impl From<spki::Error> for Error {
    fn from(error: spki::Error) -> Error {
        Error::Builder(x509_cert::builder::Error::PublicKey(error))
    }
}

/// The contents of the DICE inputs extension (OID
/// 1.3.6.1.4.1.11129.2.1.24), with Open DICE's field tags:
///
/// ```text
/// OpenDiceInput ::= SEQUENCE {
///     codeHash                [0] EXPLICIT OCTET STRING OPTIONAL,
///     codeDescriptor          [1] EXPLICIT OCTET STRING OPTIONAL,
///     configurationHash       [2] EXPLICIT OCTET STRING OPTIONAL,
///     configurationDescriptor [3] EXPLICIT OCTET STRING OPTIONAL,
///     authorityHash           [4] EXPLICIT OCTET STRING OPTIONAL,
///     authorityDescriptor     [5] EXPLICIT OCTET STRING OPTIONAL,
///     mode                    [6] EXPLICIT ENUMERATED OPTIONAL,
///     profileName             [7] EXPLICIT UTF8String OPTIONAL
/// }
/// ```
///
/// Tessera writes `codeHash`, `configurationHash` and `authorityHash` (32
/// bytes each), `mode` (0 not configured, 1 normal, 2 debug, 3 recovery),
/// `profileName` = [`PROFILE_NAME`] and, as `codeDescriptor`, the DER
/// encoding of the measurements the code hash stands for:
///
/// ```text
/// Measurements ::= SEQUENCE OF Measurement
/// Measurement  ::= SEQUENCE { name UTF8String, sha256 OCTET STRING (SIZE (32)) }
/// ```
///
/// Open DICE lets the profile define what a descriptor holds, so a
/// verifier that knows only Open DICE still reads the hashes and the mode.
/// The hidden input is never in a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct OpenDiceInput {
    /// The code hash.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub code_hash: Option<OctetString>,
    /// The DER encoding of the [`Measurement`]s.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub code_descriptor: Option<OctetString>,
    /// The configuration hash.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub configuration_hash: Option<OctetString>,
    /// Not used by Tessera.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub configuration_descriptor: Option<OctetString>,
    /// The authority hash.
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", optional = "true")]
    pub authority_hash: Option<OctetString>,
    /// Not used by Tessera.
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub authority_descriptor: Option<OctetString>,
    /// The boot mode.
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", optional = "true")]
    pub mode: Option<Mode>,
    /// [`PROFILE_NAME`].
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", optional = "true")]
    pub profile_name: Option<String>,
}

/// One named measurement in the code descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Measurement {
    /// What was measured (a program's name, say).
    pub name: String,
    /// Its SHA-256 hash.
    pub sha256: OctetString,
}

impl OpenDiceInput {
    /// The extension's contents for a layer's inputs and measurements.
    pub fn new(inputs: &LayerInputs, measurements: &[(&str, [u8; HASH_SIZE])]) -> Result<OpenDiceInput, Error> {
        let list = measurements
            .iter()
            .map(|(name, hash)| Ok(Measurement { name: String::from(*name), sha256: OctetString::new(*hash)? }))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(OpenDiceInput {
            code_hash: Some(OctetString::new(inputs.code)?),
            code_descriptor: Some(OctetString::new(list.to_der()?)?),
            configuration_hash: Some(OctetString::new(inputs.config)?),
            configuration_descriptor: None,
            authority_hash: Some(OctetString::new(inputs.authority)?),
            authority_descriptor: None,
            mode: Some(inputs.mode),
            profile_name: Some(String::from(PROFILE_NAME)),
        })
    }

    /// The measurements in the code descriptor.
    pub fn measurements(&self) -> Result<Vec<Measurement>, Error> {
        match &self.code_descriptor {
            None => Ok(Vec::new()),
            Some(descriptor) => Ok(Vec::<Measurement>::from_der(descriptor.as_bytes())?),
        }
    }
}

/// The subject of the certificate for `public_key`: CN = the hex of its
/// identifier.
pub fn subject_for(public_key: &VerifyingKey) -> Result<Name, Error> {
    let mut text = String::from("CN=");
    let _ = write!(text, "{}", Hex(&identifier(public_key)));
    Ok(Name::from_str(&text)?)
}

/// The subject of a DER certificate.
pub fn subject_of(certificate: &[u8]) -> Result<Name, Error> {
    Ok(Certificate::from_der(certificate)?.tbs_certificate().subject().clone())
}

/// The P-256 public key a DER certificate certifies.
pub fn public_key_of(certificate: &[u8]) -> Result<VerifyingKey, Error> {
    let certificate = Certificate::from_der(certificate)?;
    let info = certificate.tbs_certificate().subject_public_key_info().to_der()?;
    // Checks the algorithm (id-ecPublicKey), the curve (P-256) and the point.
    VerifyingKey::from_public_key_der(&info).map_err(|_| Error::NotP256)
}

/// Whether `issuer` signed the DER certificate `certificate`
/// (ecdsa-with-SHA256). Only the signature is checked: not the names,
/// the validity or the extensions.
pub fn is_signed_by(certificate: &[u8], issuer: &VerifyingKey) -> Result<bool, Error> {
    let certificate = Certificate::from_der(certificate)?;
    if certificate.signature_algorithm().oid != ECDSA_WITH_SHA_256 {
        return Ok(false);
    }
    let Some(signature) = certificate.signature().as_bytes() else { return Ok(false) };
    let Ok(signature) = DerSignature::from_bytes(signature) else { return Ok(false) };
    let signed = certificate.tbs_certificate().to_der()?;
    Ok(issuer.verify(&signed, &signature).is_ok())
}

/// The self-signed manufacturer CA certificate for `ca_key`, valid from
/// `now` (time since the Unix epoch, rounded down to the second).
pub fn ca_certificate(ca_key: &SigningKey, now: Duration) -> Result<Vec<u8>, Error> {
    let public_key = ca_key.verifying_key();
    let subject = Name::from_str(&["CN=", CA_COMMON_NAME].concat())?;
    let id = identifier(public_key);
    let mut builder = builder(&subject, &subject, public_key, DateTime::from_unix_duration(now)?)?;
    builder.add_extension((true, &BasicConstraints { ca: true, path_len_constraint: Some(1) }))?;
    builder.add_extension((true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)))?;
    builder.add_extension((false, &SubjectKeyIdentifier(OctetString::new(id)?)))?;
    sign(builder, ca_key)
}

/// The DeviceID certificate for `device_public_key`, issued by the
/// manufacturer CA (`ca_key`, whose certificate is `ca_certificate`).
pub fn device_id_certificate(
    device_public_key: &VerifyingKey,
    ca_key: &SigningKey,
    ca_certificate: &[u8],
) -> Result<Vec<u8>, Error> {
    let ca = Certificate::from_der(ca_certificate)?;
    if *ca.tbs_certificate().subject_public_key_info() != SubjectPublicKeyInfoOwned::from_key(ca_key.verifying_key())? {
        return Err(Error::KeyMismatch);
    }
    let authority_key_id = match ca.tbs_certificate().get_extension::<SubjectKeyIdentifier>()? {
        Some((_, key_id)) => key_id.0,
        None => OctetString::new(identifier(ca_key.verifying_key()))?,
    };
    let subject = subject_for(device_public_key)?;
    let issuer = ca.tbs_certificate().subject().clone();
    let mut builder = builder(&subject, &issuer, device_public_key, fixed_not_before()?)?;
    builder.add_extension((true, &BasicConstraints { ca: true, path_len_constraint: Some(0) }))?;
    builder.add_extension((true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::DigitalSignature)))?;
    builder.add_extension((false, &SubjectKeyIdentifier(OctetString::new(identifier(device_public_key))?)))?;
    builder.add_extension((false, &authority_key_identifier(authority_key_id)))?;
    sign(builder, ca_key)
}

/// The Alias certificate for `alias_public_key`, issued by the DeviceID
/// key (whose certificate's subject is `device_id_subject`), carrying the
/// layer's inputs (all but `hidden`) and `measurements` in the DICE inputs
/// extension.
pub fn alias_certificate(
    alias_public_key: &VerifyingKey,
    device_id_key: &SigningKey,
    device_id_subject: &Name,
    inputs: &LayerInputs,
    measurements: &[(&str, [u8; HASH_SIZE])],
) -> Result<Vec<u8>, Error> {
    let subject = subject_for(alias_public_key)?;
    let mut builder = builder(&subject, device_id_subject, alias_public_key, fixed_not_before()?)?;
    builder.add_extension((true, &BasicConstraints { ca: false, path_len_constraint: None }))?;
    builder.add_extension((true, &KeyUsage(KeyUsages::DigitalSignature.into())))?;
    builder.add_extension((false, &SubjectKeyIdentifier(OctetString::new(identifier(alias_public_key))?)))?;
    let authority_key_id = OctetString::new(identifier(device_id_key.verifying_key()))?;
    builder.add_extension((false, &authority_key_identifier(authority_key_id)))?;
    builder.add_extension((DICE_INPUTS_OID, false, &OpenDiceInput::new(inputs, measurements)?))?;
    sign(builder, device_id_key)
}

fn authority_key_identifier(key_identifier: OctetString) -> AuthorityKeyIdentifier {
    AuthorityKeyIdentifier {
        key_identifier: Some(key_identifier),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    }
}

fn fixed_not_before() -> Result<DateTime, Error> {
    Ok(DateTime::from_unix_duration(FIXED_NOT_BEFORE)?)
}

/// The serial number for a key: its identifier with the top bit cleared.
pub fn serial_number_for(public_key: &VerifyingKey) -> Result<SerialNumber, Error> {
    let mut id: [u8; IDENTIFIER_SIZE] = identifier(public_key);
    id[0] &= 0x7f;
    Ok(SerialNumber::new(&id)?)
}

/// A certificate builder with everything but the extensions.
fn builder(
    subject: &Name,
    issuer: &Name,
    public_key: &VerifyingKey,
    not_before: DateTime,
) -> Result<CertificateBuilder<Profile>, Error> {
    // The builder writes a time up to 2049 as UTCTime, as RFC 5280 requires.
    let validity = Validity::new(
        Time::GeneralTime(GeneralizedTime::from_date_time(not_before)),
        Time::GeneralTime(GeneralizedTime::from_date_time(DateTime::new(9999, 12, 31, 23, 59, 59)?)),
    );
    let profile = Profile { subject: subject.clone(), issuer: issuer.clone() };
    Ok(CertificateBuilder::new(
        profile,
        serial_number_for(public_key)?,
        validity,
        SubjectPublicKeyInfoOwned::from_key(public_key)?,
    )?)
}

fn sign(builder: CertificateBuilder<Profile>, key: &SigningKey) -> Result<Vec<u8>, Error> {
    Ok(builder.build::<_, DerSignature>(key)?.to_der()?)
}

/// The builder's profile: a fixed subject and issuer; the extensions are
/// added one by one, in the order the tables above list them.
struct Profile {
    subject: Name,
    issuer: Name,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _subject_public_key: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_public_key: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}
