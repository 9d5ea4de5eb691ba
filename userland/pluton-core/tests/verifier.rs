//! The evidence verifier against real evidence: a chain made here
//! (manufacturer CA, DeviceID from a fixed UDS, Alias from a measured boot
//! image), `eat::evidence` for it, and evidence broken one way at a time.
//! Hand-built COSE (with coset) reaches the checks that `eat::evidence`
//! cannot get wrong.

use std::time::Duration;
use tessera_testing::Rng;

use ciborium::value::Value;
use coset::{iana, CborSerializable, CoseSign1Builder, Header, HeaderBuilder, TaggedCborSerializable};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::Signature;
use tessera_abi::bootimage;
use tessera_pluton_core::certificate::subject_for;
use tessera_pluton_core::dice::p256_key_from_seed;
use tessera_pluton_core::eat::{self, AppClaim, Claims};
use tessera_pluton_core::fuzzing;
use tessera_pluton_core::measure::{self, measure_layer_zero, Measurement, MeasurementLog};
use tessera_pluton_core::verifier::{verify, App, Expected, ExpectedInputs, Verified, VerifyError};
use tessera_pluton_core::*;

/// 2026-06-01T12:00:00Z.
const CA_NOW: Duration = Duration::from_secs(1_780_315_200);
const NONCE: [u8; 32] = [0x6e; 32];
const VERSION: &str = "0.1.0";

/// One device: its chain and its measurement log.
struct Device {
    ca: Vec<u8>,
    uds: Uds,
    device_key: SigningKey,
    device: Vec<u8>,
    inputs: LayerInputs,
    /// Layer 0 (the kernel and the system programs); apps are appended.
    log: MeasurementLog,
    alias_key: SigningKey,
    alias: Vec<u8>,
}

fn ca_key(seed: u8) -> SigningKey {
    p256_key_from_seed(&[seed; 32])
}

fn boot_image() -> Vec<u8> {
    let programs: [(&str, &[u8]); 5] = [
        ("plutond", b"\x7fELF pluton server"),
        ("init", b"\x7fELF init"),
        ("trusted-keys", b"the app signing keys"),
        ("uartd", b"\x7fELF uart server"),
        ("readme", b"not a program"),
    ];
    let mut image = vec![0; bootimage::image_size(programs.iter().map(|(_, bytes)| bytes.len()))];
    bootimage::write(&programs, &mut image).unwrap();
    image
}

impl Device {
    fn new() -> Device {
        Device::with_uds(Uds::from_bytes(core::array::from_fn(|index| index as u8)))
    }

    fn with_uds(uds: Uds) -> Device {
        let ca_key = ca_key(0x5a);
        let ca = ca_certificate(&ca_key, CA_NOW).unwrap();
        let device_key = device_id_key(&uds);
        let device = device_id_certificate(device_key.verifying_key(), &ca_key, &ca).unwrap();
        let image = boot_image();
        let image = bootimage::BootImage::parse(&image).unwrap();
        let (log, inputs) = measure_layer_zero(b"the kernel's code", &image, "quiet attest.nonce=00").unwrap();
        let alias_key = alias_key(&uds.layer_zero(&inputs).attest);
        let alias = alias_certificate(
            alias_key.verifying_key(),
            &device_key,
            &subject_of(&device).unwrap(),
            &inputs,
            &listed(log.layer_zero()),
        )
        .unwrap();
        Device { ca, uds, device_key, device, inputs, log, alias_key, alias }
    }

    fn layer_zero(&self) -> Vec<(String, [u8; 32])> {
        self.log.layer_zero().iter().map(|entry| (entry.name().to_string(), entry.sha256)).collect()
    }

    fn claims<'a>(&self, nonce: &'a [u8], measurements: &'a [Measurement], apps: &'a [AppClaim<'a>]) -> Claims<'a> {
        Claims {
            nonce,
            ueid: eat::ueid(self.device_key.verifying_key()),
            version: VERSION,
            measurements,
            apps,
            requester: None,
        }
    }

    /// Evidence for `claims`, signed by `key` with `certificate` in x5chain.
    fn sign(&self, claims: &Claims<'_>, key: &SigningKey, certificate: &[u8]) -> Vec<u8> {
        let (mut scratch, mut out) = (vec![0; 8192], vec![0; 8192]);
        let len = eat::evidence(claims, key, certificate, &mut scratch, &mut out).unwrap();
        out.truncate(len);
        out
    }

    /// Good evidence for `nonce`: layer 0 and no apps.
    fn evidence(&self, nonce: &[u8]) -> Vec<u8> {
        self.sign(&self.claims(nonce, self.log.entries(), &[]), &self.alias_key, &self.alias)
    }

    fn expected<'a>(&'a self, nonce: &'a [u8], layer_zero: Option<&'a [(String, [u8; 32])]>) -> Expected<'a> {
        Expected {
            nonce,
            ca_certificate: &self.ca,
            device_id_certificate: &self.device,
            layer_zero,
            layer_zero_inputs: None,
        }
    }

    /// [`Device::expected`] with this device's layer-0 inputs too.
    fn expected_with_inputs<'a>(&'a self, nonce: &'a [u8], layer_zero: &'a [(String, [u8; 32])]) -> Expected<'a> {
        Expected {
            layer_zero_inputs: Some(ExpectedInputs::from(&self.inputs)),
            ..self.expected(nonce, Some(layer_zero))
        }
    }

    /// Evidence from this device as if it had booted with `inputs` instead
    /// (same measurements: only the Alias certificate's other inputs and
    /// the Alias key derived from them differ).
    fn evidence_with_inputs(&self, inputs: &LayerInputs, nonce: &[u8]) -> Vec<u8> {
        let alias_key = alias_key(&self.uds.layer_zero(inputs).attest);
        let alias = alias_certificate(
            alias_key.verifying_key(),
            &self.device_key,
            &subject_of(&self.device).unwrap(),
            inputs,
            &listed(self.log.layer_zero()),
        )
        .unwrap();
        self.sign(&self.claims(nonce, self.log.entries(), &[]), &alias_key, &alias)
    }
}

fn listed(measurements: &[Measurement]) -> Vec<(&str, [u8; 32])> {
    measurements.iter().map(|entry| (entry.name(), entry.sha256)).collect()
}

fn as_pairs(measurements: &[Measurement]) -> Vec<(String, [u8; 32])> {
    measurements.iter().map(|entry| (entry.name().to_string(), entry.sha256)).collect()
}

#[test]
fn good_evidence_verifies_and_every_claim_reads_back() {
    let device = Device::new();
    let layer_zero = device.layer_zero();
    assert_eq!(
        layer_zero.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
        ["kernel", "plutond", "init", "uartd"]
    );
    let evidence = device.evidence(&NONCE);
    for expected in [device.expected_with_inputs(&NONCE, &layer_zero), device.expected(&NONCE, None)] {
        let verified = verify(&evidence, &expected).unwrap();
        assert_eq!(
            verified,
            Verified {
                alias_certificate: device.alias.clone(),
                nonce: NONCE.to_vec(),
                ueid: eat::ueid(device.device_key.verifying_key()).to_vec(),
                dbgstat: 0,
                profile: eat::PROFILE.to_string(),
                software_name: eat::SOFTWARE_NAME.to_string(),
                software_version: VERSION.to_string(),
                measurements: layer_zero.clone(),
                apps: Vec::new(),
                requester: None,
            }
        );
    }
}

#[test]
fn other_boot_arguments_are_refused() {
    let device = Device::new();
    let layer_zero = device.layer_zero();
    let inputs = LayerInputs { config: measure::config_hash("quiet kernel.preempt-test"), ..device.inputs.clone() };
    let evidence = device.evidence_with_inputs(&inputs, &NONCE);
    let error = verify(&evidence, &device.expected_with_inputs(&NONCE, &layer_zero)).unwrap_err();
    assert_eq!(
        error,
        VerifyError::ConfigurationHashDiffers { expected: device.inputs.config, certificate: inputs.config }
    );
    assert!(error.to_string().starts_with(
        "the Alias certificate's configuration hash differs: the device booted with other boot arguments"
    ));
    // Not compared when not given; the measurements are the same.
    assert!(verify(&evidence, &device.expected(&NONCE, Some(&layer_zero))).is_ok());
}

#[test]
fn another_authority_is_refused() {
    let device = Device::new();
    let layer_zero = device.layer_zero();
    let inputs = LayerInputs { authority: measure::sha256(b"other app signing keys"), ..device.inputs.clone() };
    let evidence = device.evidence_with_inputs(&inputs, &NONCE);
    let error = verify(&evidence, &device.expected_with_inputs(&NONCE, &layer_zero)).unwrap_err();
    assert_eq!(
        error,
        VerifyError::AuthorityHashDiffers { expected: device.inputs.authority, certificate: inputs.authority }
    );
    assert!(error.to_string().starts_with("the Alias certificate's authority hash differs"));
    assert!(verify(&evidence, &device.expected(&NONCE, Some(&layer_zero))).is_ok());
}

#[test]
fn another_mode_is_refused() {
    let device = Device::new();
    let layer_zero = device.layer_zero();
    assert_eq!(device.inputs.mode, Mode::Debug);
    for mode in [Mode::Normal, Mode::NotConfigured, Mode::Recovery] {
        let inputs = LayerInputs { mode, ..device.inputs.clone() };
        let evidence = device.evidence_with_inputs(&inputs, &NONCE);
        let error = verify(&evidence, &device.expected_with_inputs(&NONCE, &layer_zero)).unwrap_err();
        assert_eq!(error, VerifyError::ModeDiffers { expected: Mode::Debug, certificate: mode });
        assert!(error.to_string().starts_with("the Alias certificate's mode differs"), "{error}");
        assert!(verify(&evidence, &device.expected(&NONCE, Some(&layer_zero))).is_ok());
    }
    // A verifier that expects another mode refuses the device's own.
    let expected = Expected {
        layer_zero_inputs: Some(ExpectedInputs { mode: Mode::Normal, ..ExpectedInputs::from(&device.inputs) }),
        ..device.expected(&NONCE, None)
    };
    assert_eq!(
        verify(&device.evidence(&NONCE), &expected),
        Err(VerifyError::ModeDiffers { expected: Mode::Normal, certificate: Mode::Debug })
    );
}

#[test]
fn the_hidden_input_is_not_in_the_certificate() {
    // Another hidden input gives another Alias key, but the certificate
    // shows nothing of it: the inputs a verifier compares are the same.
    let device = Device::new();
    let layer_zero = device.layer_zero();
    let inputs = LayerInputs { hidden: [0x42; 32], ..device.inputs.clone() };
    let evidence = device.evidence_with_inputs(&inputs, &NONCE);
    let verified = verify(&evidence, &device.expected_with_inputs(&NONCE, &layer_zero)).unwrap();
    assert_ne!(verified.alias_certificate, device.alias);
}

#[test]
fn the_requester_reads_back() {
    let device = Device::new();
    let claims = Claims { requester: Some([0x1d; 16]), ..device.claims(&NONCE, device.log.entries(), &[]) };
    let evidence = device.sign(&claims, &device.alias_key, &device.alias);
    let verified = verify(&evidence, &device.expected(&NONCE, None)).unwrap();
    assert_eq!(verified.requester, Some([0x1d; 16]));
    assert_eq!(verify(&device.evidence(&NONCE), &device.expected(&NONCE, None)).unwrap().requester, None);
}

#[test]
fn nonces_of_8_and_64_bytes_verify() {
    let device = Device::new();
    for len in [eat::MIN_NONCE, eat::MAX_NONCE] {
        let nonce: Vec<u8> = (0..len as u8).collect();
        let evidence = device.evidence(&nonce);
        let verified = verify(&evidence, &device.expected(&nonce, Some(&device.layer_zero()))).unwrap();
        assert_eq!(verified.nonce, nonce);
        // The same evidence for a nonce one byte shorter or longer.
        let shorter = &nonce[..len - 1];
        assert_eq!(verify(&evidence, &device.expected(shorter, None)), Err(VerifyError::NonceMismatch));
        let mut longer = nonce.clone();
        longer.push(0);
        assert_eq!(verify(&evidence, &device.expected(&longer, None)), Err(VerifyError::NonceMismatch));
    }
}

#[test]
fn a_wrong_nonce_is_refused() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let mut other = NONCE;
    other[31] ^= 1;
    let error = verify(&evidence, &device.expected(&other, None)).unwrap_err();
    assert_eq!(error, VerifyError::NonceMismatch);
    assert_eq!(error.to_string(), "the nonce does not match");
}

#[test]
fn a_flipped_signature_byte_is_refused() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let expected = device.expected(&NONCE, None);
    // The signature is the last 64 bytes (a 2-byte bstr header before it).
    assert_eq!(&evidence[evidence.len() - 66..evidence.len() - 64], &[0x58, 64]);
    for index in evidence.len() - 64..evidence.len() {
        for bit in [0x01, 0x80] {
            let mut flipped = evidence.clone();
            flipped[index] ^= bit;
            assert_eq!(verify(&flipped, &expected), Err(VerifyError::BadSignature), "byte {index} bit {bit:#x}");
        }
    }
}

/// Where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).position(|window| window == needle).expect("the bytes are there")
}

#[test]
fn a_flipped_payload_byte_is_refused() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let expected = device.expected(&NONCE, None);
    // Bytes inside the payload whose change keeps the CBOR well formed:
    // the nonce, the version, a measurement's hash.
    // (The payload follows the Alias certificate, which lists the same
    // hashes, so the search starts at the nonce.)
    let nonce = find(&evidence, &NONCE);
    let version = nonce + find(&evidence[nonce..], VERSION.as_bytes());
    let hash = nonce + find(&evidence[nonce..], &device.log.layer_zero()[2].sha256);
    assert!(nonce > find(&evidence, &device.alias));
    for index in [nonce, nonce + 31, version + 2, hash + 7] {
        let mut flipped = evidence.clone();
        flipped[index] ^= 0x04;
        assert_eq!(verify(&flipped, &expected), Err(VerifyError::BadSignature), "byte {index}");
    }
}

#[test]
fn an_alias_certificate_from_another_device_id_key_breaks_the_chain() {
    let device = Device::new();
    let other_device_key = device_id_key(&Uds::from_bytes([0x99; 32]));
    // Signed by the wrong key, but naming the right issuer.
    let alias = alias_certificate(
        device.alias_key.verifying_key(),
        &other_device_key,
        &subject_of(&device.device).unwrap(),
        &device.inputs,
        &listed(device.log.layer_zero()),
    )
    .unwrap();
    let evidence = device.sign(&device.claims(&NONCE, device.log.entries(), &[]), &device.alias_key, &alias);
    let error = verify(&evidence, &device.expected(&NONCE, None)).unwrap_err();
    assert_eq!(error, VerifyError::AliasNotSignedByDeviceId);
    assert!(error.to_string().contains("not signed by the DeviceID key"));
}

#[test]
fn an_alias_certificate_naming_another_issuer_is_refused() {
    let device = Device::new();
    let other_subject = subject_for(ca_key(0x77).verifying_key()).unwrap();
    let alias = alias_certificate(
        device.alias_key.verifying_key(),
        &device.device_key,
        &other_subject,
        &device.inputs,
        &listed(device.log.layer_zero()),
    )
    .unwrap();
    let evidence = device.sign(&device.claims(&NONCE, device.log.entries(), &[]), &device.alias_key, &alias);
    assert_eq!(verify(&evidence, &device.expected(&NONCE, None)), Err(VerifyError::AliasIssuerMismatch));
}

#[test]
fn a_device_id_certificate_from_another_ca_is_refused() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let other_ca_key = ca_key(0x33);
    let other_ca = ca_certificate(&other_ca_key, CA_NOW).unwrap();
    let other_device = device_id_certificate(device.device_key.verifying_key(), &other_ca_key, &other_ca).unwrap();
    // The DeviceID certificate another CA issued, checked against ours.
    let expected = Expected { device_id_certificate: &other_device, ..device.expected(&NONCE, None) };
    assert_eq!(verify(&evidence, &expected), Err(VerifyError::DeviceIdNotSignedByCa));
    // Our DeviceID certificate checked against another CA.
    let expected = Expected { ca_certificate: &other_ca, ..device.expected(&NONCE, None) };
    assert_eq!(verify(&evidence, &expected), Err(VerifyError::DeviceIdNotSignedByCa));
    // Both from the other CA: the chain holds (the CA is whatever the
    // verifier trusts).
    let expected = Expected { ca_certificate: &other_ca, device_id_certificate: &other_device, ..expected };
    assert!(verify(&evidence, &expected).is_ok());
}

#[test]
fn unusable_certificates_are_named() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let expected = Expected { ca_certificate: b"not DER", ..device.expected(&NONCE, None) };
    assert!(matches!(verify(&evidence, &expected), Err(VerifyError::BadCaCertificate(_))));
    let expected = Expected { device_id_certificate: &device.device[..10], ..device.expected(&NONCE, None) };
    assert!(matches!(verify(&evidence, &expected), Err(VerifyError::BadDeviceIdCertificate(_))));
    // The DeviceID certificate where the CA's should be: it is not
    // self-signed, so it did not sign itself.
    let expected = Expected { ca_certificate: &device.device, ..device.expected(&NONCE, None) };
    assert_eq!(verify(&evidence, &expected), Err(VerifyError::DeviceIdNotSignedByCa));
}

#[test]
fn a_changed_measurement_is_reported_by_name() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let layer_zero = device.layer_zero();

    let mut changed = layer_zero.clone();
    changed[2].1[0] ^= 0xff;
    let error = verify(&evidence, &device.expected(&NONCE, Some(&changed))).unwrap_err();
    assert_eq!(
        error,
        VerifyError::MeasurementDiffers { name: "init".to_string(), expected: changed[2].1, evidence: layer_zero[2].1 }
    );
    assert!(error.to_string().starts_with(&format!("measurement 'init' differs: expected {}", Hex(&changed[2].1))));

    let mut renamed = layer_zero.clone();
    renamed[1].0 = "pluton".to_string();
    assert_eq!(
        verify(&evidence, &device.expected(&NONCE, Some(&renamed))),
        Err(VerifyError::LayerZeroName { index: 1, expected: "pluton".to_string(), evidence: "plutond".to_string() })
    );

    let mut longer = layer_zero.clone();
    longer.push(("netd".to_string(), [0; 32]));
    assert_eq!(
        verify(&evidence, &device.expected(&NONCE, Some(&longer))),
        Err(VerifyError::LayerZeroCount { expected: 5, evidence: 4 })
    );
    assert_eq!(
        verify(&evidence, &device.expected(&NONCE, Some(&layer_zero[..3]))),
        Err(VerifyError::LayerZeroCount { expected: 3, evidence: 4 })
    );

    let mut reordered = layer_zero.clone();
    reordered.swap(1, 2);
    assert!(matches!(
        verify(&evidence, &device.expected(&NONCE, Some(&reordered))),
        Err(VerifyError::LayerZeroName { index: 1, .. })
    ));
}

#[test]
fn the_measurements_must_be_those_the_alias_certificate_lists() {
    let device = Device::new();
    let expected = device.expected(&NONCE, None);

    // The device claims another hash for init than its certificate lists.
    let mut measurements = device.log.entries().to_vec();
    measurements[2] = Measurement::new("init", [0xee; 32]).unwrap();
    let evidence = device.sign(&device.claims(&NONCE, &measurements, &[]), &device.alias_key, &device.alias);
    assert_eq!(
        verify(&evidence, &expected),
        Err(VerifyError::CertificateMeasurementDiffers {
            index: 2,
            certificate: ("init".to_string(), device.log.layer_zero()[2].sha256),
            evidence: ("init".to_string(), [0xee; 32]),
        })
    );

    // It leaves the last system program out.
    let evidence = device.sign(&device.claims(&NONCE, &measurements[..3], &[]), &device.alias_key, &device.alias);
    assert_eq!(verify(&evidence, &expected), Err(VerifyError::TooFewMeasurements { certificate: 4, evidence: 3 }));

    // A certificate whose code hash is not that of its measurement list
    // (the Alias key derived from that code hash, as a device would).
    let inputs = LayerInputs { code: [0x11; 32], ..device.inputs.clone() };
    let alias_key = alias_key(&device.uds.layer_zero(&inputs).attest);
    let alias = alias_certificate(
        alias_key.verifying_key(),
        &device.device_key,
        &subject_of(&device.device).unwrap(),
        &inputs,
        &listed(device.log.layer_zero()),
    )
    .unwrap();
    let evidence = device.sign(&device.claims(&NONCE, device.log.entries(), &[]), &alias_key, &alias);
    assert_eq!(verify(&evidence, &expected), Err(VerifyError::CodeHashMismatch));
}

#[test]
fn the_ueid_must_be_the_device_id_keys() {
    let device = Device::new();
    let other = Device::with_uds(Uds::from_bytes([0x42; 32]));
    let claims = Claims {
        ueid: eat::ueid(other.device_key.verifying_key()),
        ..device.claims(&NONCE, device.log.entries(), &[])
    };
    let evidence = device.sign(&claims, &device.alias_key, &device.alias);
    assert_eq!(verify(&evidence, &device.expected(&NONCE, None)), Err(VerifyError::UeidMismatch));
    // Another device's good evidence against this device's certificates.
    let evidence = other.evidence(&NONCE);
    assert_eq!(verify(&evidence, &device.expected(&NONCE, None)), Err(VerifyError::AliasNotSignedByDeviceId));
}

#[test]
fn apps_round_trip() {
    let device = Device::new();
    let apps = [
        AppClaim { name: "hello", component_id: [1; 16], package: [2; 32], grants: [3; 32], summary: "uart, 1 GPIO" },
        AppClaim { name: "blinky", component_id: [4; 16], package: [5; 32], grants: [6; 32], summary: "" },
    ];
    let mut log = device.log.clone();
    for app in &apps {
        let measurement = measure::sha256(&[app.package, app.grants].concat());
        log.append(Measurement::new(app.name, measurement).unwrap()).unwrap();
    }
    let evidence = device.sign(&device.claims(&NONCE, log.entries(), &apps), &device.alias_key, &device.alias);
    let layer_zero = device.layer_zero();
    let verified = verify(&evidence, &device.expected(&NONCE, Some(&layer_zero))).unwrap();
    assert_eq!(verified.measurements, as_pairs(log.entries()));
    assert_eq!(verified.measurements.len(), layer_zero.len() + 2);
    let expected_apps: Vec<App> = apps
        .iter()
        .map(|app| App {
            name: app.name.to_string(),
            component_id: app.component_id,
            package: app.package,
            grants: app.grants,
            summary: app.summary.to_string(),
        })
        .collect();
    assert_eq!(verified.apps, expected_apps);
}

#[test]
fn untagged_cose_is_refused() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    assert_eq!(evidence[0], 0xd2, "tag 18");
    assert_eq!(verify(&evidence[1..], &device.expected(&NONCE, None)), Err(VerifyError::Untagged));
    // Another tag (19, COSE_Sign1's neighbour) is no COSE_Sign1.
    let mut retagged = evidence.clone();
    retagged[0] = 0xd3;
    assert!(matches!(verify(&retagged, &device.expected(&NONCE, None)), Err(VerifyError::NotCoseSign1(_))));
}

#[test]
fn truncated_or_extended_evidence_is_refused() {
    let device = Device::new();
    let evidence = device.evidence(&NONCE);
    let expected = device.expected(&NONCE, None);
    for len in 0..evidence.len() {
        assert!(verify(&evidence[..len], &expected).is_err(), "{len} of {} bytes", evidence.len());
    }
    let mut extended = evidence.clone();
    extended.push(0);
    assert!(matches!(verify(&extended, &expected), Err(VerifyError::NotCoseSign1(_))));
}

/// Random mutations of the fuzz body's sample evidence: 1 to 4 bytes
/// changed (a random value, one bit flipped, or a CBOR-ish small value),
/// sometimes a byte inserted or removed. `verify` never panics, and a
/// mutation that still verifies claims what the sample does (the fuzz
/// body asserts that too).
#[test]
fn random_mutations_never_panic_and_never_change_the_claims() {
    let sample = fuzzing::sample();
    let expected = sample.expected();
    assert_eq!(verify(&sample.evidence, &expected).as_ref(), Ok(&sample.verified));
    let mut random = Rng::new(0x9e37_79b9_7f4a_7c15);
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..3000 {
        let mut mutant = sample.evidence.clone();
        for _ in 0..1 + random.below(4) {
            let index = random.below(mutant.len());
            match random.below(8) {
                0..=2 => mutant[index] = random.next_u64() as u8,
                3..=5 => mutant[index] ^= 1 << random.below(8),
                6 => mutant.insert(index, [0x00, 0x18, 0x40, 0x80, 0xa0, 0xff][random.below(6)]),
                _ => {
                    mutant.remove(index);
                }
            }
        }
        if mutant == sample.evidence {
            // A byte replaced by itself, or inserted and removed again.
            continue;
        }
        match verify(&mutant, &expected) {
            Ok(verified) => {
                accepted += 1;
                assert_eq!(verified.measurements, sample.verified.measurements);
                assert_eq!(verified.nonce, sample.verified.nonce);
                assert_eq!(verified.apps, sample.verified.apps);
            }
            Err(error) => {
                refused += 1;
                assert!(!error.to_string().contains('\n'), "one line: {error}");
            }
        }
        fuzzing::evidence_decoding(&mutant);
    }
    // Almost every change breaks something (a change that keeps the
    // evidence valid would have to be in what no check covers).
    assert!(refused > 2900 && refused + accepted > 2950, "{refused} refused, {accepted} accepted");
}

/// Random mutations of the good claims, signed again by the Alias key, so
/// they reach the claims decoder (a mutation of signed evidence stops at
/// the signature): `verify` never panics, and whatever it accepts still
/// has the nonce and the layer 0 it checks.
#[test]
fn random_mutations_of_signed_claims_never_panic() {
    let device = Device::new();
    let layer_zero = device.layer_zero();
    let expected = device.expected(&NONCE, Some(&layer_zero));
    let apps = [AppClaim { name: "hello", component_id: [1; 16], package: [2; 32], grants: [3; 32], summary: "uart" }];
    let mut log = device.log.clone();
    log.append(Measurement::new("hello", measure::sha256(&[[2; 32], [3; 32]].concat())).unwrap()).unwrap();
    let mut payload = vec![0; 4096];
    let len = eat::encode_claims(&device.claims(&NONCE, log.entries(), &apps), &mut payload).unwrap();
    payload.truncate(len);
    assert!(verify(&cose(&device, es256(), unprotected(&device), Some(payload.clone())), &expected).is_ok());
    let mut random = Rng::new(0x2545_f491_4f6c_dd1d);
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..800 {
        let mut mutant = payload.clone();
        for _ in 0..1 + random.below(3) {
            let index = random.below(mutant.len());
            match random.below(6) {
                0 | 1 => mutant[index] = random.next_u64() as u8,
                2 | 3 => mutant[index] ^= 1 << random.below(8),
                4 => mutant.insert(index, random.next_u64() as u8),
                _ => {
                    mutant.remove(index);
                }
            }
        }
        match verify(&cose(&device, es256(), unprotected(&device), Some(mutant)), &expected) {
            Ok(verified) => {
                accepted += 1;
                assert_eq!(verified.nonce, NONCE);
                assert_eq!(verified.measurements[..layer_zero.len()], layer_zero[..]);
            }
            Err(error) => {
                refused += 1;
                assert!(!matches!(error, VerifyError::BadSignature | VerifyError::NotCoseSign1(_)), "{error}");
            }
        }
    }
    // Changes to the version, an app or a name's letters can still verify.
    assert!(refused > 650 && accepted > 0, "{refused} refused, {accepted} accepted");
}

#[test]
fn the_fuzz_body_takes_the_sample_and_junk() {
    let sample = fuzzing::sample();
    assert_eq!(sample.verified.apps.len(), 1);
    assert_eq!(sample.verified.requester, Some(sample.verified.apps[0].component_id));
    assert_eq!(sample.verified.measurements.len(), sample.layer_zero.len() + 1);
    fuzzing::evidence_decoding(&sample.evidence);
    for junk in [&[][..], &[0xd2], &[0xd2, 0x84], &[0xff; 100], &[0x9f; 1000], &[0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26]] {
        fuzzing::evidence_decoding(junk);
    }
}

/// The fuzzer starts from the sample evidence; regenerate the seed with
/// `cargo test -p tessera-pluton-core --features verifier --test verifier
/// -- --ignored write_the_fuzz_seed`.
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/evidence_decoding/sample.cose");

#[test]
fn the_fuzz_seed_is_the_sample_evidence() {
    let seed = std::fs::read(SEED).expect("the seed exists");
    assert!(seed == fuzzing::sample().evidence, "{SEED} is stale: run the ignored test write_the_fuzz_seed");
}

#[test]
#[ignore = "writes fuzz/seeds/evidence_decoding/sample.cose"]
fn write_the_fuzz_seed() {
    std::fs::write(SEED, &fuzzing::sample().evidence).unwrap();
}

// Hand-built evidence: COSE and claims that `eat::evidence` never writes.

/// The good claims map, as `eat::encode_claims` writes it.
fn claim_map(device: &Device) -> Vec<(Value, Value)> {
    let measurements = device
        .log
        .entries()
        .iter()
        .map(|entry| {
            let content = Value::Map(vec![
                (1.into(), Value::Array(vec![entry.name().into()])),
                (2.into(), Value::Array(vec![(-16).into(), Value::Bytes(entry.sha256.to_vec())])),
            ]);
            Value::Array(vec![65000.into(), Value::Bytes(content.to_vec().unwrap())])
        })
        .collect();
    vec![
        (10.into(), Value::Bytes(NONCE.to_vec())),
        (256.into(), Value::Bytes(eat::ueid(device.device_key.verifying_key()).to_vec())),
        (263.into(), 0.into()),
        (265.into(), eat::PROFILE.into()),
        (270.into(), eat::SOFTWARE_NAME.into()),
        (271.into(), Value::Array(vec![VERSION.into()])),
        (273.into(), Value::Array(measurements)),
    ]
}

fn es256() -> Header {
    HeaderBuilder::new().algorithm(iana::Algorithm::ES256).build()
}

fn unprotected(device: &Device) -> Header {
    HeaderBuilder::new()
        .key_id(identifier(device.alias_key.verifying_key()).to_vec())
        .value(33, Value::Bytes(device.alias.clone()))
        .build()
}

/// A tagged COSE_Sign1 with these headers and payload, signed by the
/// Alias key.
fn cose(device: &Device, protected: Header, unprotected: Header, payload: Option<Vec<u8>>) -> Vec<u8> {
    let sign = |tbs: &[u8]| {
        let signature: Signature = device.alias_key.sign(tbs);
        signature.to_bytes().to_vec()
    };
    let builder = CoseSign1Builder::new().protected(protected).unprotected(unprotected);
    let sign1 = match payload {
        Some(payload) => builder.payload(payload).create_signature(&[], sign),
        None => builder.create_detached_signature(&[], &[], sign),
    };
    sign1.build().to_tagged_vec().unwrap()
}

/// Evidence with the claims map `map`.
fn with_claims(device: &Device, map: Vec<(Value, Value)>) -> Vec<u8> {
    cose(device, es256(), unprotected(device), Some(Value::Map(map).to_vec().unwrap()))
}

fn is_key(value: &Value, key: i64) -> bool {
    value.as_integer().is_some_and(|integer| i128::from(integer) == i128::from(key))
}

/// `map` with the claim `key` replaced by `value` (or removed).
fn replaced(mut map: Vec<(Value, Value)>, key: i64, value: Option<Value>) -> Vec<(Value, Value)> {
    let index = map.iter().position(|(entry, _)| is_key(entry, key)).unwrap();
    match value {
        Some(value) => map[index].1 = value,
        None => {
            map.remove(index);
        }
    }
    map
}

#[test]
fn hand_built_evidence_matches_eat_and_ignores_unknown_claims() {
    let device = Device::new();
    let expected = device.expected(&NONCE, None);
    let built = with_claims(&device, claim_map(&device));
    // coset and minicbor write the same bytes for the same claims.
    assert_eq!(built, device.evidence(&NONCE));
    let mut map = claim_map(&device);
    map.push((Value::Integer(1000.into()), "an unknown claim".into()));
    map.push(("text-claim".into(), Value::Bool(true)));
    let verified = verify(&with_claims(&device, map), &expected).unwrap();
    assert_eq!(verified, verify(&built, &expected).unwrap());
    // A version with a scheme (RFC 9711).
    let map = replaced(claim_map(&device), 271, Some(Value::Array(vec!["1.2.3".into(), 1.into()])));
    assert_eq!(verify(&with_claims(&device, map), &expected).unwrap().software_version, "1.2.3");
}

#[test]
fn malformed_headers_are_refused() {
    let device = Device::new();
    let expected = device.expected(&NONCE, None);
    let payload = Some(Value::Map(claim_map(&device)).to_vec().unwrap());
    let es384 = HeaderBuilder::new().algorithm(iana::Algorithm::ES384).build();
    assert_eq!(
        verify(&cose(&device, es384, unprotected(&device), payload.clone()), &expected),
        Err(VerifyError::NotEs256)
    );
    assert_eq!(
        verify(&cose(&device, Header::default(), unprotected(&device), payload.clone()), &expected),
        Err(VerifyError::NotEs256)
    );
    let critical = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .add_critical(iana::HeaderParameter::ContentType)
        .content_format(iana::CoapContentFormat::Cbor)
        .build();
    assert_eq!(
        verify(&cose(&device, critical, unprotected(&device), payload.clone()), &expected),
        Err(VerifyError::CriticalHeaders)
    );
    assert_eq!(verify(&cose(&device, es256(), unprotected(&device), None), &expected), Err(VerifyError::NoPayload));

    let no_chain = HeaderBuilder::new().key_id(identifier(device.alias_key.verifying_key()).to_vec()).build();
    assert_eq!(verify(&cose(&device, es256(), no_chain, payload.clone()), &expected), Err(VerifyError::NoCertificate));
    let array_chain = HeaderBuilder::new()
        .key_id(identifier(device.alias_key.verifying_key()).to_vec())
        .value(33, Value::Array(vec![Value::Bytes(device.alias.clone())]))
        .build();
    assert_eq!(
        verify(&cose(&device, es256(), array_chain, payload.clone()), &expected),
        Err(VerifyError::MalformedCertificateHeader)
    );
    let junk_chain = HeaderBuilder::new()
        .key_id(identifier(device.alias_key.verifying_key()).to_vec())
        .value(33, Value::Bytes(b"not a certificate".to_vec()))
        .build();
    assert!(matches!(
        verify(&cose(&device, es256(), junk_chain, payload.clone()), &expected),
        Err(VerifyError::BadAliasCertificate(_))
    ));
    let no_kid = HeaderBuilder::new().value(33, Value::Bytes(device.alias.clone())).build();
    assert_eq!(verify(&cose(&device, es256(), no_kid, payload.clone()), &expected), Err(VerifyError::WrongKid));
    let wrong_kid = HeaderBuilder::new()
        .key_id(identifier(device.device_key.verifying_key()).to_vec())
        .value(33, Value::Bytes(device.alias.clone()))
        .build();
    assert_eq!(verify(&cose(&device, es256(), wrong_kid, payload.clone()), &expected), Err(VerifyError::WrongKid));

    // A signature that is not 64 bytes.
    let mut sign1 = coset::CoseSign1::from_tagged_slice(&device.evidence(&NONCE)).unwrap();
    sign1.signature.pop();
    let short = sign1.to_tagged_vec().unwrap();
    assert_eq!(verify(&short, &expected), Err(VerifyError::SignatureLength(63)));
}

#[test]
fn malformed_claims_are_refused() {
    let device = Device::new();
    let expected = device.expected(&NONCE, None);
    let good = claim_map(&device);
    let check = |map: Vec<(Value, Value)>, wanted: VerifyError| {
        assert_eq!(verify(&with_claims(&device, map), &expected), Err(wanted));
    };
    let malformed = |claim, reason| VerifyError::MalformedClaim { claim, reason };

    for (key, name) in [
        (10, "nonce (10)"),
        (256, "ueid (256)"),
        (263, "dbgstat (263)"),
        (265, "eat_profile (265)"),
        (270, "swname (270)"),
        (271, "swversion (271)"),
        (273, "measurements (273)"),
    ] {
        check(replaced(good.clone(), key, None), VerifyError::MissingClaim(name));
        let mut twice = good.clone();
        twice.push(good.iter().find(|(entry, _)| is_key(entry, key)).unwrap().clone());
        check(twice, VerifyError::DuplicateClaim(name));
    }
    check(replaced(good.clone(), 10, Some("a text nonce".into())), malformed("nonce (10)", "not a byte string"));
    check(replaced(good.clone(), 10, Some(Value::Bytes(vec![1; 7]))), malformed("nonce (10)", "not 8 to 64 bytes"));
    check(replaced(good.clone(), 10, Some(Value::Bytes(vec![1; 65]))), malformed("nonce (10)", "not 8 to 64 bytes"));
    check(replaced(good.clone(), 256, Some(Value::Bytes(vec![1; 33]))), VerifyError::UeidMismatch);
    check(replaced(good.clone(), 263, Some((-1).into())), malformed("dbgstat (263)", "negative"));
    check(replaced(good.clone(), 263, Some("0".into())), malformed("dbgstat (263)", "not an unsigned integer"));
    check(
        replaced(good.clone(), 265, Some("tag:example.invalid,2026:other".into())),
        VerifyError::ProfileMismatch("tag:example.invalid,2026:other".to_string()),
    );
    check(replaced(good.clone(), 270, Some(Value::Bytes(vec![]))), malformed("swname (270)", "not a text string"));
    check(replaced(good.clone(), 271, Some(VERSION.into())), malformed("swversion (271)", "not an array"));
    check(
        replaced(good.clone(), 271, Some(Value::Array(vec![]))),
        malformed("swversion (271)", "not [text, ? scheme]"),
    );
    check(replaced(good.clone(), 273, Some(Value::Map(vec![]))), malformed("measurements (273)", "not an array"));
    let mut apps = good.clone();
    apps.push((Value::Integer((-70000).into()), 1.into()));
    check(apps, malformed("apps (-70000)", "not an array"));
    let with_requester = |value: Value| {
        let mut map = good.clone();
        map.push((Value::Integer((-70001).into()), value));
        map
    };
    check(with_requester(Value::Bytes(vec![1; 15])), malformed("requester (-70001)", "not 16 bytes"));
    check(with_requester(Value::Bytes(vec![1; 17])), malformed("requester (-70001)", "not 16 bytes"));
    check(with_requester("app".into()), malformed("requester (-70001)", "not a byte string"));
    let mut twice = with_requester(Value::Bytes(vec![1; 16]));
    twice.push((Value::Integer((-70001).into()), Value::Bytes(vec![1; 16])));
    check(twice, VerifyError::DuplicateClaim("requester (-70001)"));
    assert_eq!(
        verify(&with_claims(&device, with_requester(Value::Bytes(vec![7; 16]))), &expected).unwrap().requester,
        Some([7; 16])
    );

    // Not a map, or a map and more.
    let payload = Value::Array(vec![]).to_vec().unwrap();
    assert_eq!(
        verify(&cose(&device, es256(), unprotected(&device), Some(payload)), &expected),
        Err(VerifyError::PayloadNotMap)
    );
    let mut payload = Value::Map(good.clone()).to_vec().unwrap();
    payload.push(0);
    assert_eq!(
        verify(&cose(&device, es256(), unprotected(&device), Some(payload)), &expected),
        Err(VerifyError::PayloadNotMap)
    );
}

/// The measurement content `{1: [name], 2: [algorithm, hash]}`.
fn content(name: Value, algorithm: i64, hash: Vec<u8>) -> Value {
    Value::Map(vec![
        (1.into(), Value::Array(vec![name])),
        (2.into(), Value::Array(vec![algorithm.into(), Value::Bytes(hash)])),
    ])
}

fn measurement(content_type: i64, content: &Value) -> Value {
    Value::Array(vec![content_type.into(), Value::Bytes(content.clone().to_vec().unwrap())])
}

#[test]
fn malformed_measurements_are_refused() {
    let device = Device::new();
    let expected = device.expected(&NONCE, None);
    let good = content("kernel".into(), -16, vec![7; 32]);
    let cases: Vec<(Value, &str)> = vec![
        (Value::Bytes(vec![]), "not an array"),
        (Value::Array(vec![65000.into()]), "not [content type, byte string]"),
        (measurement(60, &good), "the content type is not 65000"),
        (Value::Array(vec![65000.into(), Value::Bytes(vec![0xa0, 0x00])]), "the content is not one CBOR map"),
        (measurement(65000, &Value::Array(vec![])), "the content is not one CBOR map"),
        (
            measurement(65000, &Value::Map(vec![(1.into(), Value::Array(vec!["kernel".into()]))])),
            "the content does not have exactly the keys 1 and 2",
        ),
        (
            measurement(
                65000,
                &Value::Map(vec![
                    (1.into(), Value::Array(vec!["a".into()])),
                    (1.into(), Value::Array(vec!["b".into()])),
                ]),
            ),
            "key 1 twice",
        ),
        (measurement(65000, &content(Value::Bytes(vec![b'k']), -16, vec![7; 32])), "the id is not [name]"),
        (measurement(65000, &content("".into(), -16, vec![7; 32])), "the name is not 1 to 32 bytes"),
        (measurement(65000, &content("n".repeat(33).into(), -16, vec![7; 32])), "the name is not 1 to 32 bytes"),
        (
            measurement(65000, &content("kernel".into(), -44, vec![7; 32])),
            "the digest's algorithm is not SHA-256 (-16)",
        ),
        (measurement(65000, &content("kernel".into(), -16, vec![7; 31])), "the digest is not 32 bytes"),
    ];
    for (bad, reason) in cases {
        let mut list = vec![measurement(65000, &good)];
        list.push(bad);
        let map = replaced(claim_map(&device), 273, Some(Value::Array(list)));
        assert_eq!(
            verify(&with_claims(&device, map), &expected),
            Err(VerifyError::MalformedMeasurement { index: 1, reason }),
            "{reason}"
        );
    }
}

#[test]
fn malformed_apps_are_refused() {
    let device = Device::new();
    let expected = device.expected(&NONCE, None);
    let app =
        |fields: Vec<(i64, Value)>| Value::Map(fields.into_iter().map(|(key, value)| (key.into(), value)).collect());
    let good = || {
        vec![
            (1, "hello".into()),
            (2, Value::Bytes(vec![1; 16])),
            (3, Value::Bytes(vec![2; 32])),
            (4, Value::Bytes(vec![3; 32])),
            (5, "uart".into()),
        ]
    };
    let with_apps = |apps: Vec<Value>| {
        let mut map = claim_map(&device);
        map.push((Value::Integer((-70000).into()), Value::Array(apps)));
        with_claims(&device, map)
    };
    // Good apps, and an empty list, verify.
    let verified = verify(&with_apps(vec![app(good()), app(good())]), &expected).unwrap();
    assert_eq!(verified.apps.len(), 2);
    assert_eq!(verified.apps[0].summary, "uart");
    assert!(verify(&with_apps(vec![]), &expected).unwrap().apps.is_empty());

    let change = |key: i64, value: Value| {
        let mut fields = good();
        fields[key as usize - 1].1 = value;
        app(fields)
    };
    let mut six = good();
    six.push((6, 0.into()));
    let mut twice = good();
    twice[4].0 = 4;
    let cases = [
        (Value::Array(vec![]), "not a map"),
        (app(good()[..4].to_vec()), "it does not have exactly the keys 1 to 5"),
        (app(six), "it does not have exactly the keys 1 to 5"),
        (app(twice), "a key appears twice"),
        (change(1, 1.into()), "the name (1) is not text"),
        (change(2, Value::Bytes(vec![1; 15])), "the component id (2) is not 16 bytes"),
        (change(3, "hash".into()), "the package hash (3) is not 32 bytes"),
        (change(4, Value::Bytes(vec![3; 33])), "the grants hash (4) is not 32 bytes"),
        (change(5, Value::Null), "the summary (5) is not text"),
    ];
    for (bad, reason) in cases {
        assert_eq!(
            verify(&with_apps(vec![app(good()), bad]), &expected),
            Err(VerifyError::MalformedApp { index: 1, reason }),
            "{reason}"
        );
    }
}

#[test]
fn every_error_is_one_line() {
    let errors = [
        VerifyError::NotCoseSign1("x".to_string()),
        VerifyError::Untagged,
        VerifyError::NoCertificate,
        VerifyError::SignatureLength(3),
        VerifyError::MalformedClaim { claim: "nonce (10)", reason: "not a byte string" },
        VerifyError::TooFewMeasurements { certificate: 4, evidence: 3 },
        VerifyError::CertificateMeasurementDiffers {
            index: 1,
            certificate: ("init".to_string(), [1; 32]),
            evidence: ("init".to_string(), [2; 32]),
        },
        VerifyError::LayerZeroCount { expected: 4, evidence: 5 },
        VerifyError::ConfigurationHashDiffers { expected: [1; 32], certificate: [2; 32] },
        VerifyError::AuthorityHashDiffers { expected: [1; 32], certificate: [2; 32] },
        VerifyError::ModeDiffers { expected: Mode::Debug, certificate: Mode::Normal },
    ];
    for error in errors {
        let text = error.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
    }
}
