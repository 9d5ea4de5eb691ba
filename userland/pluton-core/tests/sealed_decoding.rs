//! The unseal fuzz body (`fuzzing::sealed_decoding`) on good sealed bytes,
//! on junk and on thousands of mutations of good sealed bytes, both as the
//! whole input and length-prefixed; and the fuzz seeds checked against
//! what `seal` writes.

#![cfg(feature = "fuzzing")]

use tessera_abi::app::pluton::{BUFFER_BYTES, MAX_SEAL_INPUT, SEAL_OVERHEAD};
use tessera_pluton_core::fuzzing::{sealed_decoding, sealed_decoding_key};
use tessera_pluton_core::seal::{seal, unseal, SealError, NONCE_SIZE, VERSION};
use tessera_testing::Rng;

/// `plaintext` sealed under the fuzz body's key with `nonce`.
fn sealed(plaintext: &[u8], nonce: [u8; NONCE_SIZE]) -> Vec<u8> {
    let mut out = vec![0; plaintext.len() + SEAL_OVERHEAD];
    let len = seal(&sealed_decoding_key(), &nonce, plaintext, &mut out).unwrap();
    assert_eq!(len, out.len());
    out
}

/// `sealed` with the fuzz body's length prefix: an output buffer of
/// `capacity` bytes.
fn prefixed(capacity: u16, sealed: &[u8]) -> Vec<u8> {
    let mut input = capacity.to_le_bytes().to_vec();
    input.extend_from_slice(sealed);
    input
}

/// The fuzz seeds: (file name, bytes).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let message = sealed(b"Tessera sealed data", [0x4e; NONCE_SIZE]);
    vec![
        ("sealed.bin", message.clone()),
        ("empty.bin", sealed(b"", [0x01; NONCE_SIZE])),
        ("prefixed.bin", prefixed(19, &message)),
    ]
}

#[test]
fn good_sealed_bytes_pass_the_body_and_unseal() {
    let key = sealed_decoding_key();
    for plaintext in [&b""[..], b"x", b"Tessera sealed data", &[0xa5; MAX_SEAL_INPUT]] {
        let bytes = sealed(plaintext, [0x33; NONCE_SIZE]);
        let mut out = vec![0; BUFFER_BYTES];
        assert_eq!(unseal(&key, &bytes, &mut out), Ok(plaintext.len()));
        assert_eq!(&out[..plaintext.len()], plaintext);
        sealed_decoding(&bytes);
        // Length-prefixed: exactly the room needed, one byte less, and more.
        let len = plaintext.len() as u16;
        for capacity in [len, len.wrapping_sub(1), len + 1, BUFFER_BYTES as u16] {
            sealed_decoding(&prefixed(capacity, &bytes));
        }
    }
}

#[test]
fn junk_passes_the_body() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![VERSION],
        vec![VERSION; SEAL_OVERHEAD - 1],
        vec![VERSION; SEAL_OVERHEAD],
        vec![0; SEAL_OVERHEAD],
        vec![2; 64],
        vec![VERSION; BUFFER_BYTES],
        vec![VERSION; BUFFER_BYTES + 1],
        vec![0xff; BUFFER_BYTES + 3],
    ];
    let mut random = Rng::new(0x0123_4567_89ab_cdef);
    for _ in 0..200 {
        let len = random.below(BUFFER_BYTES + 4);
        inputs.push((0..len).map(|_| random.next_u64() as u8).collect());
    }
    for input in inputs {
        sealed_decoding(&input);
    }
}

/// Random mutations of good sealed bytes: 1 to 4 bytes changed (a random
/// value or one bit flipped), sometimes a byte inserted or removed. Every
/// mutant is refused, and the body's invariants hold for it, alone and
/// length-prefixed.
#[test]
fn random_mutations_are_refused_and_pass_the_body() {
    let key = sealed_decoding_key();
    let plaintexts: [&[u8]; 3] = [b"", b"Tessera sealed data", &[0x5a; 300]];
    let mut random = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut errors = [0usize; 3];
    for round in 0..3000 {
        let plaintext = plaintexts[round % plaintexts.len()];
        let good = sealed(plaintext, [round as u8; NONCE_SIZE]);
        let mut mutant = good.clone();
        for _ in 0..1 + random.below(4) {
            let index = random.below(mutant.len());
            match random.below(8) {
                0..=2 => mutant[index] = random.next_u64() as u8,
                3..=5 => mutant[index] ^= 1 << random.below(8),
                6 => mutant.insert(index, random.next_u64() as u8),
                _ => {
                    mutant.remove(index);
                }
            }
        }
        if mutant == good {
            // A byte replaced by itself, or inserted and removed again.
            continue;
        }
        let mut out = vec![0; BUFFER_BYTES];
        match unseal(&key, &mutant, &mut out) {
            Ok(len) => panic!("a mutant unsealed to {len} bytes: {mutant:02x?}"),
            Err(SealError::BadVersion) => errors[0] += 1,
            Err(SealError::Damaged) => errors[1] += 1,
            Err(_) => errors[2] += 1,
        }
        assert!(out.iter().all(|&byte| byte == 0));
        sealed_decoding(&mutant);
        sealed_decoding(&prefixed(random.below(BUFFER_BYTES + 1) as u16, &mutant));
    }
    // Most changes hit the ciphertext or the tag; some the version byte or
    // the length (an empty plaintext's bytes shortened).
    let [version, damaged, other] = errors;
    assert!(damaged > 2000 && version > 20 && other > 0, "{errors:?}");
}

/// The fuzzer starts from these seeds; regenerate them with `cargo test -p
/// tessera-pluton-core --features fuzzing --test sealed_decoding --
/// --ignored write_the_fuzz_seeds`.
const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/sealed_decoding");

#[test]
fn the_fuzz_seeds_are_current_and_unseal() {
    let key = sealed_decoding_key();
    for (name, bytes) in seeds() {
        let path = format!("{SEEDS}/{name}");
        let seed = std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
        assert!(seed == bytes, "{path} is stale: run the ignored test write_the_fuzz_seeds");
        sealed_decoding(&seed);
        // Each seed opens in one of the body's two readings.
        let mut out = vec![0; BUFFER_BYTES];
        assert!(unseal(&key, &seed, &mut out).is_ok() || unseal(&key, &seed[2..], &mut out).is_ok(), "{name}");
    }
}

#[test]
#[ignore = "writes fuzz/seeds/sealed_decoding/"]
fn write_the_fuzz_seeds() {
    std::fs::create_dir_all(SEEDS).unwrap();
    for (name, bytes) in seeds() {
        std::fs::write(format!("{SEEDS}/{name}"), bytes).unwrap();
    }
}
