//! libFuzzer target for the image package and trusted-keys parsers and the
//! signature check (`tessera_abi::package`), and for the app start
//! information decoder (`tessera_abi::app::StartInfo`), the other bytes
//! `init` writes and an app reads.
//!
//! Unlike the other targets, the body is here rather than in
//! `kernel_core::fuzzing`: the package format lives in `tessera-abi`, and
//! `abi/tests/package.rs` checks the same properties on generated inputs.
//! Any input must parse to a package whose parts lie where the header says
//! (and which re-encodes to the same bytes) or give an error, and
//! verification against the fixed key must give `Ok` or an error of the
//! right kind; nothing may panic. The seeds (`seeds/package_parsing/`) are
//! packages signed by the fixed key, so mutations reach the signature check.
#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use tessera_abi::app::{StartInfo, MAX_GRANTS};
use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::package::{
    self, parse_and_verify, verify, KeyId, Package, PackageSigner, Refused, TrustedKey, TrustedKeys, VerifyError,
    ELF_ALIGNMENT, SIGNATURE_SIZE,
};

/// The secret of the fixed fuzzing key; `abi/tests/package.rs` signs the
/// seeds with the same one.
const FUZZ_KEY_SECRET: [u8; 32] = [0x42; 32];

fn trusted_key() -> TrustedKey {
    static KEY: OnceLock<TrustedKey> = OnceLock::new();
    *KEY.get_or_init(|| TrustedKey::new(SigningKey::from_bytes(&FUZZ_KEY_SECRET).verifying_key().to_bytes()))
}

/// Writes back the key id and signature of a parsed package.
struct Replay<'a>(&'a Package<'a>);

impl PackageSigner for Replay<'_> {
    fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    fn sign(&self, _signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE] {
        *self.0.signature()
    }
}

fn check_package(data: &[u8]) {
    let trusted = [trusted_key()];
    let package = match Package::parse(data) {
        Ok(package) => package,
        Err(error) => {
            let _ = error.to_string();
            assert_eq!(parse_and_verify(data, &trusted).unwrap_err(), Refused::Malformed(error));
            return;
        }
    };
    let header = package.header();
    assert_eq!(header.total_size as usize, data.len());
    assert_eq!(package::declared_size(data), Some(data.len()));
    assert_eq!(header.elf_offset as usize % ELF_ALIGNMENT, 0, "ELF not page aligned");
    let elf_at = header.elf_offset as usize;
    assert_eq!(package.elf(), &data[elf_at..elf_at + header.elf_size as usize]);
    let manifest_at = header.manifest_offset as usize;
    assert_eq!(package.manifest(), &data[manifest_at..manifest_at + header.manifest_size as usize]);
    assert!(!package.elf().is_empty() && !package.manifest().is_empty());
    let signed = package.signed_bytes();
    assert_eq!(signed, &data[..signed.len()]);
    assert_eq!(&data[signed.len()..], &package.signature()[..]);

    let mut again = vec![0; data.len()];
    let size = package::write(package.elf(), package.manifest(), &Replay(&package), &mut again)
        .expect("re-encoding a parsed package failed");
    assert_eq!(&again[..size], data, "decode then encode changed the bytes");

    let verdict = verify(&package, &trusted);
    if let Err(error) = verdict {
        let _ = error.to_string();
    }
    if package.signature().iter().all(|&byte| byte == 0) {
        assert_eq!(verdict, Err(VerifyError::Unsigned));
    } else if package.key_id() != trusted[0].key_id {
        assert_eq!(verdict, Err(VerifyError::UnknownKey(package.key_id())));
    } else {
        assert!(matches!(verdict, Ok(()) | Err(VerifyError::BadSignature(_))), "{verdict:?}");
    }
    assert_eq!(parse_and_verify(data, &trusted).map(|_| ()), verdict.map_err(Refused::Untrusted));
}

fn check_trusted_keys(data: &[u8]) {
    match TrustedKeys::parse(data) {
        Err(error) => {
            let _ = error.to_string();
        }
        Ok(keys) => {
            assert_eq!(data.len(), package::trusted_keys_size(keys.len()));
            let listed: Vec<TrustedKey> = keys.iter().collect();
            let mut again = vec![0; data.len()];
            assert_eq!(package::write_trusted_keys(&listed, &mut again), Ok(data.len()));
            assert_eq!(again, data, "trusted keys: decode then encode changed the bytes");
        }
    }
}

/// Any bytes decode to start information naming valid slots (which
/// re-encodes to the same grants) or give an error; nothing panics.
fn check_start_info(data: &[u8]) {
    match StartInfo::decode(data) {
        Err(error) => {
            let _ = error.to_string();
        }
        Ok(info) => {
            let grants: Vec<_> = info.grants().collect();
            assert!(grants.len() <= MAX_GRANTS);
            assert!(grants.iter().all(|grant| grant.slot != 0 && (grant.slot as usize) < CSPACE_SLOTS));
            let mut again = [0u8; 256];
            let size = StartInfo::encode(info.heap_address, info.heap_bytes, &grants, &mut again)
                .expect("re-encoding decoded start information failed");
            let decoded = StartInfo::decode(&again[..size]).expect("re-encoded start information does not decode");
            assert!(decoded.grants().eq(grants.iter().copied()));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_package(data);
    check_trusted_keys(data);
    check_start_info(data);
});
