//! The DICE derivations and certificates on the host: fixed vectors,
//! which inputs each secret depends on, and certificates that parse back
//! and verify.

use std::time::Duration;

use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::DerSignature;
use sha2::{Digest, Sha256, Sha512};
use tessera_pluton_core::certificate::{
    serial_number_for, subject_for, OpenDiceInput, CA_COMMON_NAME, DICE_INPUTS_OID, FIXED_NOT_BEFORE, PROFILE_NAME,
};
use tessera_pluton_core::dice::{
    key_pair_seed, p256_key_from_seed, ASYM_SALT, ASYM_SALT_LABEL, ID_SALT, ID_SALT_LABEL,
};
use tessera_pluton_core::*;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::Certificate;

fn hex(bytes: &[u8]) -> String {
    Hex(bytes).to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn uds() -> Uds {
    Uds::from_bytes(core::array::from_fn(|index| index as u8))
}

fn inputs() -> LayerInputs {
    LayerInputs { code: [0x11; 32], config: [0x22; 32], authority: [0x33; 32], mode: Mode::Normal, hidden: [0x44; 32] }
}

const MEASUREMENTS: &[(&str, [u8; 32])] = &[("init", [0xaa; 32]), ("pluton", [0xbb; 32])];

/// The CA key of the fixed vectors (a CA key is random in real use).
fn ca_key() -> SigningKey {
    p256_key_from_seed(&[0x5a; 32])
}

/// 2026-06-01T12:00:00Z.
const CA_NOW: Duration = Duration::from_secs(1_780_315_200);

/// The whole chain for the fixed UDS and inputs: (CA, DeviceID, Alias).
fn chain(uds: &Uds, inputs: &LayerInputs) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let ca = ca_certificate(&ca_key(), CA_NOW).unwrap();
    let device_key = device_id_key(uds);
    let device = device_id_certificate(device_key.verifying_key(), &ca_key(), &ca).unwrap();
    let alias_key = alias_key(&uds.layer_zero(inputs).attest);
    let alias =
        alias_certificate(alias_key.verifying_key(), &device_key, &subject_of(&device).unwrap(), inputs, MEASUREMENTS)
            .unwrap();
    (ca, device, alias)
}

fn public_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().to_sec1_point(true).as_bytes())
}

#[test]
fn salts_are_sha512_of_their_labels() {
    assert_eq!(Sha512::digest(ASYM_SALT_LABEL.as_bytes())[..], ASYM_SALT[..]);
    assert_eq!(Sha512::digest(ID_SALT_LABEL.as_bytes())[..], ID_SALT[..]);
}

#[test]
fn kdf_is_hkdf_sha256() {
    // RFC 5869, appendix A.1 (test case 1).
    let okm: [u8; 42] = kdf(
        &[0x0b; 22],
        &core::array::from_fn::<u8, 13, _>(|i| i as u8),
        &[0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9],
    );
    assert_eq!(hex(&okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

/// The expected values were produced by this code when it was written and
/// pinned here, so a change to any derivation shows up. The CDIs, the
/// seed and the app CDI were also recomputed once from the formulas in the
/// module docs with Python's `hmac` and `hashlib`, and agreed; the keys and
/// certificates are checked only for stability.
#[test]
fn fixed_vectors() {
    let uds = uds();
    let cdis = uds.layer_zero(&inputs());
    assert_eq!(hex(cdis.attest.expose()), "dc9122643edd40a619f56083c447243a40c231e2f36917085fb1dc9c7ba23673");
    assert_eq!(hex(cdis.seal.expose()), "dd7d4aae36a1cbfb29d19ce0554b2737a4fb037561125fae59a363e06a1dfb70");
    let next = cdis.next_layer(&inputs());
    assert_eq!(hex(next.attest.expose()), "a103a6c1945f2973ab48a8dd604fbf5037a866400dbd90a8848f88d64302eac6");
    assert_eq!(hex(next.seal.expose()), "dabb5e3f85c2bef3fee429c38b66e897ea956af70780e5a1a516bb39a533e709");
    assert_eq!(hex(&*key_pair_seed(uds.expose())), "f41c8744c35d32a1b0cf762f326fc2f2667572b4c760a0d668223c074e5c88f2");
    let device_key = device_id_key(&uds);
    assert_eq!(public_hex(&device_key), "0392467b66c5b1d13f7eddbf6994b4b6664284c9c895dc499549dff6a57e52e60f");
    assert_eq!(hex(&identifier(device_key.verifying_key())), "825833e1558083c1ed7ccfc665839c3787a5c445");
    let alias = alias_key(&cdis.attest);
    assert_eq!(public_hex(&alias), "037b887ce72458fe080103337b831be93b93a90f5a1d22fce15b0b64b08b0a711d");
    let app = app_cdi(&cdis.seal, &[0x66; 32], &[0x77; 16]);
    assert_eq!(hex(app.expose()), "b67850bc48219d9b89a862a0a9d5c172b3bc54bdf7f40952ba1b8372eef2dfa4");

    let (ca, device, alias) = chain(&uds, &inputs());
    assert_eq!(sha256_hex(&ca), "6e095a93002fc903e65753e0449a084bece5079ded1d78aec30ebfa254f31641");
    assert_eq!(sha256_hex(&device), "7cbd1ff406531f0ac30c5c05c8c2ed02bf9748e6cd476c03daf5d4a74c38ec0a");
    assert_eq!(sha256_hex(&alias), "c656c3a69c2d260b7e79d8372d50e9cacb2d66e6e4d8a92ca88ca54a193b7d1f");
}

#[test]
fn the_same_inputs_give_byte_identical_certificates() {
    // ECDSA with RFC 6979 nonces and a fixed validity: nothing random.
    assert_eq!(chain(&uds(), &inputs()), chain(&uds(), &inputs()));
    assert_eq!(ca_certificate(&ca_key(), CA_NOW).unwrap(), ca_certificate(&ca_key(), CA_NOW).unwrap());
}

/// Changes one field of the inputs.
type Change = fn(&mut LayerInputs);

#[test]
fn each_input_changes_the_cdis_it_covers() {
    let uds = uds();
    let base = uds.layer_zero(&inputs());
    let changes: [(&str, Change, bool); 5] = [
        ("code", |inputs| inputs.code[31] ^= 1, false),
        ("config", |inputs| inputs.config[0] ^= 1, false),
        ("authority", |inputs| inputs.authority[7] ^= 1, true),
        ("mode", |inputs| inputs.mode = Mode::Debug, true),
        ("hidden", |inputs| inputs.hidden[15] ^= 1, true),
    ];
    for (field, change, seal_covers_it) in changes {
        let mut changed = inputs();
        change(&mut changed);
        let cdis = uds.layer_zero(&changed);
        assert_ne!(cdis.attest.expose(), base.attest.expose(), "CDI_Attest ignores {field}");
        assert_eq!(cdis.seal.expose() != base.seal.expose(), seal_covers_it, "CDI_Seal and {field}");
        // The same holds one layer up.
        let up = base.next_layer(&changed);
        let base_up = base.next_layer(&inputs());
        assert_ne!(up.attest.expose(), base_up.attest.expose(), "layer 1 CDI_Attest ignores {field}");
        assert_eq!(up.seal.expose() != base_up.seal.expose(), seal_covers_it, "layer 1 CDI_Seal and {field}");
    }
    for mode in [Mode::NotConfigured, Mode::Recovery] {
        let cdis = uds.layer_zero(&LayerInputs { mode, ..inputs() });
        assert_ne!(cdis.attest.expose(), base.attest.expose());
        assert_ne!(cdis.seal.expose(), base.seal.expose());
    }
    let mut other_uds = *uds.expose();
    other_uds[0] ^= 0x80;
    let other = Uds::from_bytes(other_uds).layer_zero(&inputs());
    assert_ne!(other.attest.expose(), base.attest.expose());
    assert_ne!(other.seal.expose(), base.seal.expose());
    // Attest and seal differ from each other and from the next layer's.
    assert_ne!(base.attest.expose(), base.seal.expose());
    assert_ne!(base.next_layer(&inputs()).attest.expose(), base.attest.expose());
}

#[test]
fn device_id_follows_the_uds_alias_follows_the_inputs() {
    let uds = uds();
    let device = public_hex(&device_id_key(&uds));
    let alias = public_hex(&alias_key(&uds.layer_zero(&inputs()).attest));
    let updated = LayerInputs { code: [0x99; 32], mode: Mode::Debug, ..inputs() };
    assert_eq!(public_hex(&device_id_key(&uds)), device);
    assert_ne!(public_hex(&alias_key(&uds.layer_zero(&updated).attest)), alias);
    let mut other_uds = *uds.expose();
    other_uds[31] ^= 1;
    assert_ne!(public_hex(&device_id_key(&Uds::from_bytes(other_uds))), device);
    // The DeviceID and Alias keys differ, and an app CDI differs per app.
    assert_ne!(device, alias);
    let cdis = uds.layer_zero(&inputs());
    let app = |measurement: u8, component: u8| *app_cdi(&cdis.seal, &[measurement; 32], &[component; 16]).expose();
    assert_ne!(app(1, 1), app(2, 1));
    assert_ne!(app(1, 1), app(1, 2));
    assert_eq!(app(1, 1), app(1, 1));
}

#[test]
fn key_from_seed_is_deterministic() {
    let a = p256_key_from_seed(&[7; 32]);
    assert_eq!(public_hex(&a), public_hex(&p256_key_from_seed(&[7; 32])));
    assert_ne!(public_hex(&a), public_hex(&p256_key_from_seed(&[8; 32])));
}

#[test]
fn secrets_are_not_printed() {
    let uds = Uds::from_bytes([0xab; 32]);
    assert_eq!(format!("{uds:?}"), "Uds(<secret>)");
    let cdis = uds.layer_zero(&LayerInputs { hidden: [0xcd; 32], ..inputs() });
    assert!(!format!("{cdis:?}").contains("ab"));
    let shown = format!("{:?}", LayerInputs { hidden: [0xcd; 32], ..inputs() });
    assert!(shown.contains("1111") && !shown.contains("cdcd"), "{shown}");
}

/// Checks `certificate`'s signature with `issuer`'s public key.
fn verify(certificate: &Certificate, issuer: &VerifyingKey) -> bool {
    let tbs = certificate.tbs_certificate().to_der().unwrap();
    let signature = DerSignature::from_bytes(certificate.signature().raw_bytes()).unwrap();
    issuer.verify(&tbs, &signature).is_ok()
}

fn key_id(certificate: &Certificate) -> Vec<u8> {
    let (_, id) = certificate.tbs_certificate().get_extension::<SubjectKeyIdentifier>().unwrap().unwrap();
    id.0.as_bytes().to_vec()
}

fn authority_key_id(certificate: &Certificate) -> Vec<u8> {
    let (_, id) = certificate.tbs_certificate().get_extension::<AuthorityKeyIdentifier>().unwrap().unwrap();
    id.key_identifier.unwrap().as_bytes().to_vec()
}

#[test]
fn certificates_parse_back_and_verify() {
    let uds = uds();
    let (ca_der, device_der, alias_der) = chain(&uds, &inputs());
    let ca = Certificate::from_der(&ca_der).unwrap();
    let device = Certificate::from_der(&device_der).unwrap();
    let alias = Certificate::from_der(&alias_der).unwrap();
    let ca_public = *ca_key().verifying_key();
    let device_public = *device_id_key(&uds).verifying_key();
    let alias_public = *alias_key(&uds.layer_zero(&inputs()).attest).verifying_key();

    // Signatures: each by its issuer, and not by anyone else.
    assert!(verify(&ca, &ca_public));
    assert!(verify(&device, &ca_public));
    assert!(verify(&alias, &device_public));
    assert!(!verify(&alias, &ca_public));
    assert!(!verify(&device, &device_public));

    // Names and identifiers.
    assert_eq!(ca.tbs_certificate().subject().to_string(), format!("CN={CA_COMMON_NAME}"));
    assert_eq!(ca.tbs_certificate().issuer(), ca.tbs_certificate().subject());
    assert_eq!(device.tbs_certificate().issuer(), ca.tbs_certificate().subject());
    assert_eq!(alias.tbs_certificate().issuer(), device.tbs_certificate().subject());
    let device_id = identifier(&device_public);
    assert_eq!(device.tbs_certificate().subject().to_string(), format!("CN={}", hex(&device_id)));
    assert_eq!(device.tbs_certificate().subject(), &subject_for(&device_public).unwrap());
    assert_eq!(alias.tbs_certificate().subject().to_string(), format!("CN={}", hex(&identifier(&alias_public))));
    assert_eq!(device.tbs_certificate().serial_number(), &serial_number_for(&device_public).unwrap());
    let mut serial = device_id;
    serial[0] &= 0x7f;
    let expected = serial.iter().skip_while(|&&byte| byte == 0).copied().collect::<Vec<_>>();
    assert_eq!(device.tbs_certificate().serial_number().as_bytes(), &expected[..]);
    assert_eq!(key_id(&device), device_id);
    assert_eq!(authority_key_id(&device), key_id(&ca));
    assert_eq!(authority_key_id(&alias), device_id);
    assert_eq!(key_id(&alias), identifier(&alias_public));
    assert_eq!(
        device.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes(),
        device_public.to_sec1_point(false).as_bytes()
    );

    // Validity.
    let validity = alias.tbs_certificate().validity();
    assert_eq!(validity.not_before.to_unix_duration(), FIXED_NOT_BEFORE);
    assert_eq!(validity.not_after.to_date_time().year(), 9999);
    assert_eq!(ca.tbs_certificate().validity().not_before.to_unix_duration(), CA_NOW);

    // Constraints and key usage.
    let constraints = |certificate: &Certificate| {
        let (critical, value) = certificate.tbs_certificate().get_extension::<BasicConstraints>().unwrap().unwrap();
        (critical, value.ca, value.path_len_constraint)
    };
    assert_eq!(constraints(&ca), (true, true, Some(1)));
    assert_eq!(constraints(&device), (true, true, Some(0)));
    assert_eq!(constraints(&alias), (true, false, None));
    let usage = |certificate: &Certificate| {
        let (critical, value) = certificate.tbs_certificate().get_extension::<KeyUsage>().unwrap().unwrap();
        assert!(critical);
        value.0
    };
    assert_eq!(usage(&ca), KeyUsages::KeyCertSign | KeyUsages::CRLSign);
    assert_eq!(usage(&device), KeyUsages::KeyCertSign | KeyUsages::DigitalSignature);
    assert_eq!(usage(&alias), der::flagset::FlagSet::from(KeyUsages::DigitalSignature));

    // The DICE inputs extension: the layer's inputs but not the hidden one.
    let extension = alias
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|extension| extension.extn_id == DICE_INPUTS_OID)
        .unwrap();
    assert!(!extension.critical);
    let dice = OpenDiceInput::from_der(extension.extn_value.as_bytes()).unwrap();
    assert_eq!(dice.code_hash.as_ref().unwrap().as_bytes(), &[0x11; 32]);
    assert_eq!(dice.configuration_hash.as_ref().unwrap().as_bytes(), &[0x22; 32]);
    assert_eq!(dice.authority_hash.as_ref().unwrap().as_bytes(), &[0x33; 32]);
    assert_eq!(dice.mode, Some(Mode::Normal));
    assert_eq!(dice.profile_name.as_deref(), Some(PROFILE_NAME));
    let measurements = dice.measurements().unwrap();
    let listed: Vec<_> = measurements.iter().map(|m| (m.name.as_str(), m.sha256.as_bytes().to_vec())).collect();
    assert_eq!(listed, [("init", vec![0xaa; 32]), ("pluton", vec![0xbb; 32])]);
    assert!(!alias_der.windows(32).any(|window| window == [0x44; 32]), "the hidden input leaked");
    assert!(device.tbs_certificate().extensions().unwrap().iter().all(|e| e.extn_id != DICE_INPUTS_OID));
}

#[test]
fn a_ca_certificate_for_another_key_is_refused() {
    let ca = ca_certificate(&ca_key(), CA_NOW).unwrap();
    let stranger = p256_key_from_seed(&[0x77; 32]);
    let device_key = device_id_key(&uds());
    assert!(matches!(device_id_certificate(device_key.verifying_key(), &stranger, &ca), Err(Error::KeyMismatch)));
    assert!(matches!(device_id_certificate(device_key.verifying_key(), &ca_key(), b"junk"), Err(Error::Der(_))));
}

#[test]
fn public_keys_and_signatures_read_back() {
    let uds = uds();
    let (ca, device, alias) = chain(&uds, &inputs());
    let device_public = *device_id_key(&uds).verifying_key();
    assert_eq!(public_key_of(&device).unwrap(), device_public);
    assert_eq!(public_key_of(&ca).unwrap(), *ca_key().verifying_key());
    assert!(is_signed_by(&ca, ca_key().verifying_key()).unwrap());
    assert!(is_signed_by(&device, ca_key().verifying_key()).unwrap());
    assert!(is_signed_by(&alias, &device_public).unwrap());
    assert!(!is_signed_by(&alias, ca_key().verifying_key()).unwrap());
    // A flipped bit in the signed part breaks the signature, not the parse.
    let serial_at = device.windows(4).position(|window| window == [0xa0, 0x03, 0x02, 0x01]).unwrap() + 10;
    let mut tampered = device.clone();
    tampered[serial_at] ^= 0x01;
    assert!(!is_signed_by(&tampered, ca_key().verifying_key()).unwrap());
    assert!(matches!(public_key_of(b"junk"), Err(Error::Der(_))));
}
