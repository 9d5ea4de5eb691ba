//! The body of the fuzz target in `userland/pluton-core/fuzz/`, shared
//! with the tests so a crash replays as a test.
//!
//! [`evidence_decoding`] runs [`verify`] on any bytes against a fixed
//! [`Sample`]: a real chain (manufacturer CA, DeviceID from a fixed UDS,
//! Alias from a measured boot image) and evidence for it, with an app. It
//! panics only when an invariant breaks: [`verify`] itself must return
//! errors, never panic.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use std::sync::OnceLock;

use tessera_abi::bootimage;

use crate::certificate::{self, alias_certificate, ca_certificate, device_id_certificate, subject_of};
use crate::dice::{alias_key, device_id_key, p256_key_from_seed, Uds, HASH_SIZE};
use crate::eat::{self, AppClaim, Claims};
use crate::measure::{measure_layer_zero, Measurement};
use crate::verifier::{verify, Expected, Verified};

/// A fixed chain, the layer-0 measurements of its boot image and good
/// evidence for them.
#[derive(Debug)]
pub struct Sample {
    /// The manufacturer CA certificate (DER).
    pub ca_certificate: Vec<u8>,
    /// The DeviceID certificate (DER).
    pub device_id_certificate: Vec<u8>,
    /// The verifier's nonce.
    pub nonce: Vec<u8>,
    /// The layer-0 measurements (the kernel and three system programs).
    pub layer_zero: Vec<(String, [u8; HASH_SIZE])>,
    /// Evidence that verifies against [`Sample::expected`]: layer 0, then
    /// one app.
    pub evidence: Vec<u8>,
    /// What [`verify`] returns for [`Sample::evidence`].
    pub verified: Verified,
}

impl Sample {
    /// What the fuzz body expects: the sample's nonce, chain and layer 0.
    pub fn expected(&self) -> Expected<'_> {
        Expected {
            nonce: &self.nonce,
            ca_certificate: &self.ca_certificate,
            device_id_certificate: &self.device_id_certificate,
            layer_zero: Some(&self.layer_zero),
        }
    }
}

/// The sample, made once.
pub fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(make_sample)
}

fn make_sample() -> Sample {
    // 2026-06-01T12:00:00Z: a fixed time keeps the CA certificate, and so
    // the evidence, the same bytes at every run.
    const CA_NOW: Duration = Duration::from_secs(1_780_315_200);
    let ca_key = p256_key_from_seed(&[0xca; HASH_SIZE]);
    let ca = ca_certificate(&ca_key, CA_NOW).expect("the CA certificate builds");
    let uds = Uds::from_bytes([0x75; HASH_SIZE]);
    let device_key = device_id_key(&uds);
    let device = device_id_certificate(device_key.verifying_key(), &ca_key, &ca).expect("the DeviceID builds");

    let programs: [(&str, &[u8]); 4] = [
        ("plutond", b"\x7fELF plutond"),
        ("init", b"\x7fELF init"),
        ("trusted-keys", b"not a program: the authority"),
        ("uartd", b"\x7fELF uartd"),
    ];
    let mut image = vec![0; bootimage::image_size(programs.iter().map(|(_, bytes)| bytes.len()))];
    bootimage::write(&programs, &mut image).expect("the boot image packs");
    let image = bootimage::BootImage::parse(&image).expect("the boot image parses");
    let (mut log, inputs) = measure_layer_zero(b"kernel code", &image, "quiet").expect("layer 0 measures");
    let layer_zero: Vec<(String, [u8; HASH_SIZE])> =
        log.layer_zero().iter().map(|entry| (entry.name().to_string(), entry.sha256)).collect();
    let listed: Vec<(&str, [u8; HASH_SIZE])> = layer_zero.iter().map(|(name, hash)| (name.as_str(), *hash)).collect();

    let alias = alias_key(&uds.layer_zero(&inputs).attest);
    let device_subject = subject_of(&device).expect("the DeviceID certificate parses");
    let alias_der = alias_certificate(alias.verifying_key(), &device_key, &device_subject, &inputs, &listed)
        .expect("the Alias certificate builds");

    let app = AppClaim {
        name: "hello",
        component_id: [0x1d; 16],
        package: [0xa9; HASH_SIZE],
        grants: [0x67; HASH_SIZE],
        summary: "uart",
    };
    log.append(Measurement::new(app.name, app.package).expect("a short name")).expect("the log has room");
    let nonce = vec![0x4e; 32];
    let claims = Claims {
        nonce: &nonce,
        ueid: eat::ueid(device_key.verifying_key()),
        version: "0.1.0",
        measurements: log.entries(),
        apps: &[app],
    };
    let (mut scratch, mut out) = (vec![0; 8192], vec![0; 8192]);
    let len = eat::evidence(&claims, &alias, &alias_der, &mut scratch, &mut out).expect("the evidence encodes");
    out.truncate(len);

    let mut sample = Sample {
        ca_certificate: ca,
        device_id_certificate: device,
        nonce,
        layer_zero,
        evidence: out,
        verified: Verified {
            alias_certificate: Vec::new(),
            nonce: Vec::new(),
            ueid: Vec::new(),
            dbgstat: 0,
            profile: String::new(),
            software_name: String::new(),
            software_version: String::new(),
            measurements: Vec::new(),
            apps: Vec::new(),
        },
    };
    sample.verified = verify(&sample.evidence, &sample.expected()).expect("the sample evidence verifies");
    sample
}

/// Fuzz body `evidence_decoding`: [`verify`] any bytes against the
/// [`sample`]'s expectations. Any result is fine, but evidence that
/// verifies was signed by the sample's Alias key (nothing else can sign
/// it), so it must claim exactly what the sample claims and carry a
/// certificate for the same key.
pub fn evidence_decoding(data: &[u8]) {
    let sample = sample();
    let Ok(verified) = verify(data, &sample.expected()) else { return };
    let same_key = certificate::public_key_of(&verified.alias_certificate).ok()
        == certificate::public_key_of(&sample.verified.alias_certificate).ok();
    assert!(same_key, "verified evidence carries a certificate for another key");
    let without_certificate = |verified: &Verified| Verified { alias_certificate: Vec::new(), ..verified.clone() };
    assert_eq!(
        without_certificate(&verified),
        without_certificate(&sample.verified),
        "verified evidence claims something the signed sample does not"
    );
}
