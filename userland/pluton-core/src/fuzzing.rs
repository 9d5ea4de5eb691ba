//! The bodies of the fuzz targets in `userland/pluton-core/fuzz/`, shared
//! with the tests so a crash replays as a test.
//!
//! - [`request_decoding`] (feature `fuzzing`): runs [`protocol::decode`]
//!   on any bytes read as a request (the layout is in its docs). It
//!   panics only when an invariant breaks: a request that decodes obeys
//!   every limit of `tessera_abi::app::pluton`.
//! - `evidence_decoding` (feature `verifier`): runs `verify` on any bytes
//!   against a fixed `Sample`: a real chain (manufacturer CA, DeviceID
//!   from a fixed UDS, Alias from a measured boot image) and evidence for
//!   it, with an app that asked for it. It panics only when an invariant
//!   breaks: `verify` itself must return errors, never panic.
//! - [`sealed_decoding`] (feature `fuzzing`): runs [`seal::unseal`] on any
//!   bytes under a fixed seal key. It panics only when an invariant
//!   breaks: only bytes [`seal::seal`] wrote under that key unseal, and a
//!   refusal leaves no plaintext behind.

#[cfg(feature = "verifier")]
pub use evidence::*;

use tessera_abi::app::pluton::{
    ATTEST, BUFFER_BYTES, DEVICE_ID, ENTROPY_SOURCE, MAX_CHALLENGE, MAX_CLIENTS, MAX_SEAL_INPUT, RANDOM, RECORD_APP,
    SEAL, SEAL_OVERHEAD, SIGN_CHALLENGE, UNSEAL, VERIFY_PACKAGE,
};

use crate::dice::{Cdi, HASH_SIZE};
use crate::eat::{MAX_NONCE, MIN_NONCE};
use crate::protocol::{self, Caller, Request};
use crate::seal::{self, SealError, SealKey, NONCE_SIZE, VERSION};

/// How a request fuzz input is spelled (`tessera_abi::ipc`'s
/// received-request bytes), for seeds and tests.
pub use tessera_abi::ipc::{received_to_bytes as request_input, RECEIVED_BYTES as REQUEST_INPUT_BYTES};

/// Fuzz body `request_decoding`: `data` as `label, word 0..3, caps,
/// badge` (little-endian `u32`s; missing bytes are zero, extra bytes
/// ignored), through [`protocol::decode`]. Any result is fine, but one
/// that decodes must name the badge's caller, match the label, carry the
/// label's number of capabilities, come from a caller allowed to make
/// it, and have every length within its limit.
pub fn request_decoding(data: &[u8]) {
    let (label, words, caps, badge) = tessera_abi::ipc::received_from_bytes(data);
    let [word0, word1, ..] = words;
    let result = protocol::decode(label, words, caps, badge);
    assert_eq!(result, protocol::decode(label, words, caps, badge), "decoding is not deterministic");
    let Ok((caller, request)) = result else { return };

    match caller {
        Caller::Loader => assert_eq!(badge, protocol::LOADER_BADGE),
        Caller::App(client) => {
            assert_eq!(client, badge);
            assert!((1..=MAX_CLIENTS).contains(&client), "app badge {badge} accepted");
        }
    }
    let len_is = |len: usize| len == word0 as usize;
    let buffer = protocol::buffer_capabilities(caller);
    let (expected_label, expected_caps) = match request {
        Request::DeviceId { part } => {
            assert!(part <= 1 && part == word0, "part {part}");
            (DEVICE_ID, 0)
        }
        Request::Attest { nonce_len } => {
            assert!((MIN_NONCE..=MAX_NONCE).contains(&nonce_len) && len_is(nonce_len), "nonce {nonce_len}");
            (ATTEST, buffer)
        }
        Request::Random { len } => {
            assert!((1..=BUFFER_BYTES).contains(&len) && len_is(len), "random {len}");
            (RANDOM, buffer)
        }
        Request::Seal { len } => {
            assert!(len <= MAX_SEAL_INPUT && len_is(len), "seal {len}");
            assert!(matches!(caller, Caller::App(_)), "the loader sealed");
            (SEAL, buffer)
        }
        Request::Unseal { len } => {
            assert!((SEAL_OVERHEAD..=BUFFER_BYTES).contains(&len) && len_is(len), "unseal {len}");
            assert!(matches!(caller, Caller::App(_)), "the loader unsealed");
            (UNSEAL, buffer)
        }
        Request::SignChallenge { len } => {
            assert!((1..=MAX_CHALLENGE).contains(&len) && len_is(len), "challenge {len}");
            assert!(matches!(caller, Caller::App(_)), "the loader signed");
            (SIGN_CHALLENGE, buffer)
        }
        Request::VerifyPackage { entry } => {
            assert_eq!(entry, word0);
            assert_eq!(caller, Caller::Loader, "an app verified a package");
            (VERIFY_PACKAGE, 0)
        }
        Request::RecordApp { entry, client } => {
            assert_eq!((entry, client), (word0, word1));
            assert!((1..=MAX_CLIENTS).contains(&client), "client {client}");
            assert_eq!(caller, Caller::Loader, "an app recorded an app");
            (RECORD_APP, 1)
        }
        Request::EntropySource => {
            assert_eq!(caller, Caller::Loader, "an app gave an entropy source");
            (ENTROPY_SOURCE, 2)
        }
    };
    assert_eq!(label, expected_label, "label {label} decoded as {request:?}");
    assert_eq!(caps, expected_caps, "{request:?} with {caps} capabilities");
}

/// The CDI_Seal [`sealed_decoding_key`] derives from.
pub const SEALED_CDI: [u8; HASH_SIZE] = [0x5e; HASH_SIZE];
/// The ComponentId [`sealed_decoding_key`] derives from.
pub const SEALED_COMPONENT_ID: [u8; 16] = [0x1d; 16];

/// The seal key [`sealed_decoding`] unseals with: [`seal::seal_key`] of
/// [`SEALED_CDI`] and [`SEALED_COMPONENT_ID`].
pub fn sealed_decoding_key() -> SealKey {
    seal::seal_key(&Cdi::from_bytes(SEALED_CDI), &SEALED_COMPONENT_ID)
}

/// Fuzz body `sealed_decoding`: [`seal::unseal`] under
/// [`sealed_decoding_key`], twice:
///
/// 1. `data` is the sealed bytes, the output buffer [`BUFFER_BYTES`] long
///    (as `plutond` gives it a request buffer);
/// 2. length-prefixed: the first two bytes (little-endian, modulo
///    `BUFFER_BYTES + 1`) are the output buffer's length and the rest the
///    sealed bytes, so that small buffers are tried too.
///
/// Any result is fine, but the error must be the one the format's limits
/// name (too short, too long, another version, a small buffer, else
/// damaged); on an error the output buffer (zeros before) holds only
/// zeros; and bytes that unseal are exactly what [`seal::seal`] writes for
/// that plaintext under the key with the nonce they carry (nothing else
/// can make a valid tag).
pub fn sealed_decoding(data: &[u8]) {
    let key = sealed_decoding_key();
    let mut out = [0; BUFFER_BYTES];
    check_unseal(&key, data, &mut out);
    if let [low, high, sealed @ ..] = data {
        let capacity = usize::from(u16::from_le_bytes([*low, *high])) % (BUFFER_BYTES + 1);
        let mut out = [0; BUFFER_BYTES];
        check_unseal(&key, sealed, &mut out[..capacity]);
    }
}

/// [`sealed_decoding`]'s checks for one `sealed` and a zeroed `out`.
fn check_unseal(key: &SealKey, sealed: &[u8], out: &mut [u8]) {
    let result = seal::unseal(key, sealed, out);
    assert_eq!(result, seal::unseal(key, sealed, out), "unsealing is not deterministic");
    let expected_error = if sealed.len() < SEAL_OVERHEAD {
        Some(SealError::TooShort)
    } else if sealed.len() > BUFFER_BYTES {
        Some(SealError::TooLong)
    } else if sealed[0] != VERSION {
        Some(SealError::BadVersion)
    } else if out.len() < sealed.len() - SEAL_OVERHEAD {
        Some(SealError::OutputTooSmall)
    } else {
        None
    };
    let plaintext_len = match result {
        Err(error) => {
            // Anything the limits pass that does not open is damaged.
            assert_eq!(error, expected_error.unwrap_or(SealError::Damaged), "{} sealed bytes", sealed.len());
            assert!(out.iter().all(|&byte| byte == 0), "a refused unseal left bytes in the output");
            return;
        }
        Ok(len) => len,
    };
    assert_eq!(expected_error, None, "unsealed bytes outside the format's limits");
    assert_eq!(plaintext_len, sealed.len() - SEAL_OVERHEAD);
    let mut nonce = [0; NONCE_SIZE];
    nonce.copy_from_slice(&sealed[1..1 + NONCE_SIZE]);
    let mut again = [0; BUFFER_BYTES];
    let len = seal::seal(key, &nonce, &out[..plaintext_len], &mut again).expect("an unsealed plaintext seals again");
    assert_eq!(&again[..len], sealed, "bytes unsealed that seal does not write for their plaintext");
}

/// The body of `evidence_decoding` and its sample.
#[cfg(feature = "verifier")]
mod evidence {
    use alloc::string::{String, ToString};
    use alloc::vec;
    use alloc::vec::Vec;
    use core::time::Duration;
    use std::sync::OnceLock;

    use tessera_abi::bootimage;

    use crate::certificate::{self, alias_certificate, ca_certificate, device_id_certificate, subject_of};
    use crate::dice::{alias_key, device_id_key, p256_key_from_seed, Uds, HASH_SIZE};
    use crate::eat::{self, AppClaim, Claims};
    use crate::measure::{measure_layer_zero, sha256, Measurement};
    use crate::verifier::{verify, Expected, ExpectedInputs, Verified};

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
        /// The layer-0 inputs besides the code.
        pub layer_zero_inputs: ExpectedInputs,
        /// Evidence that verifies against [`Sample::expected`]: layer 0, then
        /// one app, which asked for it.
        pub evidence: Vec<u8>,
        /// What [`verify`] returns for [`Sample::evidence`].
        pub verified: Verified,
    }

    impl Sample {
        /// What the fuzz body expects: the sample's nonce, chain, layer 0
        /// and layer-0 inputs.
        pub fn expected(&self) -> Expected<'_> {
            Expected {
                nonce: &self.nonce,
                ca_certificate: &self.ca_certificate,
                device_id_certificate: &self.device_id_certificate,
                layer_zero: Some(&self.layer_zero),
                layer_zero_inputs: Some(self.layer_zero_inputs),
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
        let listed: Vec<(&str, [u8; HASH_SIZE])> =
            layer_zero.iter().map(|(name, hash)| (name.as_str(), *hash)).collect();

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
        // The app's measurement, as `AppRecord::measurement`.
        let measurement = sha256(&[&app.package[..], &app.grants[..]].concat());
        log.append(Measurement::new(app.name, measurement).expect("a short name")).expect("the log has room");
        let nonce = vec![0x4e; 32];
        let claims = Claims {
            nonce: &nonce,
            ueid: eat::ueid(device_key.verifying_key()),
            version: "0.1.0",
            measurements: log.entries(),
            apps: &[app],
            requester: Some(app.component_id),
        };
        let (mut scratch, mut out) = (vec![0; 8192], vec![0; 8192]);
        let len = eat::evidence(&claims, &alias, &alias_der, &mut scratch, &mut out).expect("the evidence encodes");
        out.truncate(len);

        let mut sample = Sample {
            ca_certificate: ca,
            device_id_certificate: device,
            nonce,
            layer_zero,
            layer_zero_inputs: ExpectedInputs::from(&inputs),
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
                requester: None,
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
}
