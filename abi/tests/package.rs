//! Property tests of the image package format (`tessera_abi::package`).
//!
//! Inputs come from `arbitrary` reading a seeded pseudo-random byte stream,
//! so every run checks the same cases and a failure names its round. The
//! loops are bounded to keep the whole file to a few seconds in a debug
//! build. The signature properties need the `verify` feature:
//! `cargo test -p tessera-abi --features verify`.

use arbitrary::{Result as ArbitraryResult, Unstructured};
use tessera_abi::package::{
    self, KeyId, Package, PackageError, PackageSigner, TrustedKey, TrustedKeys, ELF_ALIGNMENT, HEADER_SIZE,
    SIGNATURE_SIZE,
};

use tessera_testing::Rng;

/// Signs with a pattern derived from the signed bytes' length: lets the
/// format properties run without the `verify` feature and without the
/// cost of real signatures.
struct PatternSigner(KeyId);

impl PackageSigner for PatternSigner {
    fn key_id(&self) -> KeyId {
        self.0
    }

    fn sign(&self, signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE] {
        let mut signature = [0x5A; SIGNATURE_SIZE];
        signature[..8].copy_from_slice(&(signed_bytes.len() as u64).to_le_bytes());
        signature
    }
}

/// Writes back exactly the key id and signature a parsed package carries.
struct Replay<'a>(&'a Package<'a>);

impl PackageSigner for Replay<'_> {
    fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    fn sign(&self, _signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE] {
        *self.0.signature()
    }
}

fn encode(elf: &[u8], manifest: &[u8], signer: &impl PackageSigner) -> Vec<u8> {
    let mut out = vec![0xEE; package::package_size(elf.len(), manifest.len()).expect("small sections fit")];
    let size = package::write(elf, manifest, signer, &mut out).expect("write succeeds");
    assert_eq!(size, out.len());
    out
}

/// A section size: mostly small, sometimes right at a page boundary of the
/// layout, where rounding errors would show.
fn section_size(input: &mut Unstructured<'_>, near_page: usize) -> ArbitraryResult<usize> {
    Ok(match input.int_in_range(0..=3u8)? {
        0 => input.int_in_range(1..=16)?,
        1 => input.int_in_range(1..=600)?,
        2 => near_page + input.int_in_range(0..=8)? - 4,
        _ => input.int_in_range(1..=3 * ELF_ALIGNMENT)?,
    })
}

/// Sections as `arbitrary` chooses them: (ELF, manifest, key id).
fn arbitrary_sections(input: &mut Unstructured<'_>) -> ArbitraryResult<(Vec<u8>, Vec<u8>, KeyId)> {
    let elf_size = section_size(input, ELF_ALIGNMENT)?;
    let manifest_size = section_size(input, ELF_ALIGNMENT - HEADER_SIZE)?;
    let mut elf = vec![0; elf_size];
    let mut manifest = vec![0; manifest_size];
    for byte in elf.iter_mut().chain(manifest.iter_mut()) {
        *byte = input.arbitrary()?;
    }
    Ok((elf, manifest, KeyId(input.arbitrary()?)))
}

/// Everything a successful parse promises, restated from the format
/// description rather than from the parser.
fn check_invariants(bytes: &[u8], package: &Package<'_>) {
    let header = package.header();
    assert_eq!(package.as_bytes(), bytes);
    assert_eq!(header.total_size as usize, bytes.len());
    assert_eq!(&bytes[..4], b"TPKG");
    assert_eq!(header.elf_offset as usize % ELF_ALIGNMENT, 0);
    assert!(!package.elf().is_empty() && !package.manifest().is_empty());
    let elf_at = header.elf_offset as usize;
    assert_eq!(package.elf(), &bytes[elf_at..elf_at + header.elf_size as usize]);
    let manifest_at = header.manifest_offset as usize;
    assert_eq!(manifest_at, HEADER_SIZE);
    assert_eq!(package.manifest(), &bytes[manifest_at..manifest_at + header.manifest_size as usize]);
    let signed = package.signed_bytes();
    assert_eq!(signed, &bytes[..header.signature_offset as usize]);
    assert_eq!(&bytes[signed.len()..], &package.signature()[..]);
    assert_eq!(package.key_id().0, bytes[16..24]);
    // Decoding then encoding the parts gives back the same bytes.
    assert_eq!(encode(package.elf(), package.manifest(), &Replay(package)), bytes);
}

#[test]
fn build_then_parse_is_identity() {
    let mut stream = Rng::new(0x243F_6A88_85A3_08D3);
    for round in 0..400 {
        let raw = stream.bytes(4096);
        let mut input = Unstructured::new(&raw);
        let (elf, manifest, key_id) = arbitrary_sections(&mut input).expect("enough generator bytes");
        let signer = PatternSigner(key_id);
        let bytes = encode(&elf, &manifest, &signer);
        let package = Package::parse(&bytes).unwrap_or_else(|error| panic!("round {round}: {error}"));
        assert_eq!(package.elf(), elf, "round {round}");
        assert_eq!(package.manifest(), manifest, "round {round}");
        assert_eq!(package.key_id(), key_id, "round {round}");
        assert_eq!(package.signature(), &signer.sign(package.signed_bytes()), "round {round}");
        assert_eq!(package::declared_size(&bytes), Some(bytes.len()));
        check_invariants(&bytes, &package);
    }
}

/// Sets one header field to a random value or one near its old value.
fn damage_header(bytes: &mut [u8], input: &mut Unstructured<'_>) -> ArbitraryResult<()> {
    let field = 4 * input.int_in_range(0..=15usize)?;
    let old = u32::from_le_bytes(bytes[field..field + 4].try_into().expect("4 bytes"));
    let new = match input.int_in_range(0..=5u8)? {
        0 => input.arbitrary()?,
        1 => old.wrapping_add(input.int_in_range(1..=8)?),
        2 => old.wrapping_sub(input.int_in_range(1..=8)?),
        3 => old ^ (ELF_ALIGNMENT as u32),
        4 => u32::MAX - input.int_in_range(0..=8)?,
        _ => 0,
    };
    bytes[field..field + 4].copy_from_slice(&new.to_le_bytes());
    Ok(())
}

#[test]
fn any_bytes_parse_to_a_valid_package_or_an_error() {
    let mut stream = Rng::new(0x1319_8A2E_0370_7344);
    let seeds: Vec<Vec<u8>> = (0..8)
        .map(|_| {
            let raw = stream.bytes(4096);
            let (elf, manifest, key_id) = arbitrary_sections(&mut Unstructured::new(&raw)).expect("bytes");
            encode(&elf, &manifest, &PatternSigner(key_id))
        })
        .collect();
    let mut accepted = 0;
    for round in 0..6_000 {
        let raw = stream.bytes(256);
        let mut input = Unstructured::new(&raw);
        let bytes = match round % 4 {
            // Raw arbitrary bytes, sometimes behind a valid magic.
            0 => {
                let mut bytes: Vec<u8> = input.arbitrary().expect("bytes");
                if input.arbitrary::<bool>().expect("bool") && bytes.len() >= 4 {
                    bytes[..4].copy_from_slice(b"TPKG");
                }
                bytes
            }
            // A valid package with damaged header fields.
            1 | 2 => {
                let mut bytes = seeds[round % seeds.len()].clone();
                for _ in 0..input.int_in_range(1..=3).expect("count") {
                    damage_header(&mut bytes, &mut input).expect("damage");
                }
                bytes
            }
            // A valid package with random bytes changed and maybe cut short.
            _ => {
                let mut bytes = seeds[round % seeds.len()].clone();
                for _ in 0..input.int_in_range(1..=4).expect("count") {
                    let at = input.choose_index(bytes.len()).expect("index");
                    bytes[at] = input.arbitrary().expect("byte");
                }
                if input.arbitrary::<bool>().expect("bool") {
                    let keep = input.choose_index(bytes.len() + 1).expect("length");
                    bytes.truncate(keep);
                }
                bytes
            }
        };
        if let Ok(package) = Package::parse(&bytes) {
            accepted += 1;
            check_invariants(&bytes, &package);
        }
    }
    // Changed section bytes keep a package well-formed (only the signature
    // catches them), so some damaged packages must still parse.
    assert!(accepted > 100, "only {accepted} inputs parsed: the generator no longer reaches the happy path");
}

#[test]
fn truncated_packages_are_refused() {
    let bytes = encode(b"\x7fELF tiny program", b"{manifest}", &PatternSigner(KeyId([7; 8])));
    for length in 0..bytes.len() {
        let error = Package::parse(&bytes[..length]).map(|_| ()).unwrap_err();
        assert!(matches!(error, PackageError::Truncated { .. }), "length {length}: {error:?}");
    }
}

#[test]
fn any_bytes_parse_to_a_trusted_keys_list_or_an_error() {
    let mut stream = Rng::new(0xA409_3822_299F_31D0);
    let keys: Vec<TrustedKey> =
        (0..3u8).map(|index| TrustedKey { key_id: KeyId([index; 8]), public_key: [index; 32] }).collect();
    let mut valid = vec![0; package::trusted_keys_size(keys.len())];
    package::write_trusted_keys(&keys, &mut valid).expect("three keys encode");
    for round in 0..5_000 {
        let raw = stream.bytes(200);
        let mut input = Unstructured::new(&raw);
        let bytes = if round % 2 == 0 {
            input.arbitrary::<Vec<u8>>().expect("bytes")
        } else {
            let mut bytes = valid.clone();
            let at = input.choose_index(bytes.len()).expect("index");
            bytes[at] = input.arbitrary().expect("byte");
            bytes.truncate(bytes.len() - input.int_in_range(0..=1usize).expect("cut"));
            bytes
        };
        if let Ok(list) = TrustedKeys::parse(&bytes) {
            assert_eq!(bytes.len(), package::trusted_keys_size(list.len()));
            let parsed: Vec<TrustedKey> = list.iter().collect();
            let mut again = vec![0; bytes.len()];
            assert_eq!(package::write_trusted_keys(&parsed, &mut again), Ok(bytes.len()));
            assert_eq!(again, bytes, "round {round}");
        }
    }
}

#[cfg(feature = "verify")]
mod signatures {
    //! Properties of `package::verify` with real Ed25519 keys.

    use super::*;
    use ed25519_dalek::SigningKey;
    use tessera_abi::package::{parse_and_verify, verify, Refused, VerifyError};

    fn signer(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn trusted(signer: &SigningKey) -> TrustedKey {
        TrustedKey::new(signer.verifying_key().to_bytes())
    }

    #[test]
    fn signed_packages_verify() {
        let mut stream = Rng::new(0x082E_FA98_EC4E_6C89);
        let keys = [signer(1), signer(2), signer(3)];
        let trusted_keys = [trusted(&keys[0]), trusted(&keys[1]), trusted(&keys[2])];
        for round in 0..24 {
            let raw = stream.bytes(4096);
            let (elf, manifest, _) = arbitrary_sections(&mut Unstructured::new(&raw)).expect("bytes");
            let bytes = encode(&elf, &manifest, &keys[round % 3]);
            let package =
                parse_and_verify(&bytes, &trusted_keys).unwrap_or_else(|error| panic!("round {round}: {error}"));
            assert_eq!(package.elf(), elf);
        }
    }

    /// Changing any one byte of a signed package makes parsing or
    /// verification fail: the header, the sections, the padding and the
    /// signature are all covered.
    #[test]
    fn flipping_any_byte_is_caught() {
        let key = signer(1);
        let trusted_keys = [trusted(&key)];
        let elf: Vec<u8> = (0..77u8).collect();
        let bytes = encode(&elf, b"{\"Name\":\"app\"}", &key);
        assert!(parse_and_verify(&bytes, &trusted_keys).is_ok());
        let mut stream = Rng::new(0x4528_21E6_38D0_1377);
        let mut verified = 0;
        for at in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[at] ^= (stream.next_u64() as u8).max(1);
            match Package::parse(&changed) {
                // Most of the padding fails here, without any crypto.
                Err(_) => {}
                Ok(package) => {
                    verified += 1;
                    let error = verify(&package, &trusted_keys).unwrap_err();
                    assert!(
                        matches!(error, VerifyError::BadSignature(_) | VerifyError::UnknownKey(_)),
                        "byte {at}: {error:?}"
                    );
                }
            }
        }
        // The manifest, the ELF and the signature do parse when changed.
        assert!(verified >= 14 + 77 + SIGNATURE_SIZE, "only {verified} changed packages reached verification");
    }

    #[test]
    fn untrusted_signers_are_refused() {
        let (ours, theirs) = (signer(1), signer(2));
        let bytes = encode(b"\x7fELF app", b"manifest", &theirs);
        let their_id = theirs.key_id();
        assert_eq!(
            parse_and_verify(&bytes, &[trusted(&ours)]).unwrap_err(),
            Refused::Untrusted(VerifyError::UnknownKey(their_id))
        );
        // Their package relabelled with our key id: the signature fails.
        let mut relabelled = bytes.clone();
        relabelled[16..24].copy_from_slice(&ours.key_id().0);
        assert_eq!(
            parse_and_verify(&relabelled, &[trusted(&ours)]).unwrap_err(),
            Refused::Untrusted(VerifyError::BadSignature(ours.key_id()))
        );
        // Our key listed under their key id: the signature fails too.
        let confused = TrustedKey { key_id: their_id, public_key: trusted(&ours).public_key };
        assert_eq!(
            parse_and_verify(&bytes, &[confused]).unwrap_err(),
            Refused::Untrusted(VerifyError::BadSignature(their_id))
        );
        // An empty trusted-keys list trusts nobody.
        let mut empty = vec![0; package::trusted_keys_size(0)];
        package::write_trusted_keys(&[], &mut empty).expect("empty list encodes");
        let nobody = TrustedKeys::parse(&empty).expect("empty list parses");
        assert_eq!(
            parse_and_verify(&bytes, &nobody).unwrap_err(),
            Refused::Untrusted(VerifyError::UnknownKey(their_id))
        );
    }

    /// The secret of the key the `package_parsing` fuzz target trusts
    /// (`kernel/core/fuzz/fuzz_targets/package_parsing.rs`).
    const FUZZ_KEY_SECRET: [u8; 32] = [0x42; 32];

    /// The fuzz target's seeds: packages signed by its key (one with an odd
    /// ELF size, so there is padding before the signature), one signed by
    /// another key, and a trusted-keys list.
    fn fuzz_seeds() -> Vec<Vec<u8>> {
        let fuzz_key = SigningKey::from_bytes(&FUZZ_KEY_SECRET);
        let elf: Vec<u8> = (0..64u8).collect();
        let mut keys = vec![0; package::trusted_keys_size(2)];
        package::write_trusted_keys(&[trusted(&fuzz_key), trusted(&signer(1))], &mut keys).expect("keys encode");
        vec![
            encode(&elf, b"{\"Name\":\"seed\",\"Capabilities\":{}}", &fuzz_key),
            encode(&elf[..37], b"m", &fuzz_key),
            encode(&elf, b"manifest", &signer(1)),
            keys,
        ]
    }

    /// The seed files in `kernel/core/fuzz/seeds/package_parsing/` are
    /// these seeds (Ed25519 signatures are deterministic). After a format
    /// change, rewrite them with `TESSERA_WRITE_FUZZ_SEEDS=1 cargo test -p
    /// tessera-abi --features verify --test package`.
    #[test]
    fn fuzz_seeds_are_current() {
        let directory =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel/core/fuzz/seeds/package_parsing");
        let write = std::env::var_os("TESSERA_WRITE_FUZZ_SEEDS").is_some();
        if write {
            std::fs::create_dir_all(&directory).expect("make the seed directory");
        }
        let fuzz_key = TrustedKey::new(SigningKey::from_bytes(&FUZZ_KEY_SECRET).verifying_key().to_bytes());
        for (index, seed) in fuzz_seeds().iter().enumerate() {
            if index < 2 {
                assert!(parse_and_verify(seed, &[fuzz_key]).is_ok(), "seed {index} does not verify");
            }
            let path = directory.join(format!("seed-{index}"));
            if write {
                std::fs::write(&path, seed).expect("write a seed");
            }
            let stored = std::fs::read(&path).unwrap_or_default();
            assert!(
                &stored == seed,
                "{} is stale: run TESSERA_WRITE_FUZZ_SEEDS=1 cargo test -p tessera-abi --features verify --test package",
                path.display()
            );
        }
    }

    #[test]
    fn truncated_signed_packages_never_verify() {
        let key = signer(4);
        let bytes = encode(b"\x7fELF", b"m", &key);
        for length in 0..bytes.len() {
            assert!(matches!(
                parse_and_verify(&bytes[..length], &[trusted(&key)]),
                Err(Refused::Malformed(PackageError::Truncated { .. }))
            ));
        }
    }
}
