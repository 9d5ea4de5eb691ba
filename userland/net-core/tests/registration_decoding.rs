//! The registration record decoder's fuzz body
//! (`fuzzing::registration_decoding`) on random bytes, on good records of
//! every size and on mutations of them; and a check that what `init`
//! writes for a manifest is what `netd` reads back.

use tessera_abi::manifest::{ComponentId, MAX_ALLOWED_CONNECTIONS};
use tessera_net_core::fuzzing::registration_decoding;
use tessera_net_core::registration::{Registration, Transport, MAX_RECORD_BYTES};
use tessera_testing::Rng;

/// A registration with `literals` random literals and `names` names.
fn random_registration(rng: &mut Rng, literals: usize, names: usize) -> Registration {
    let mut registration = Registration::new(ComponentId(rng.bytes(16).try_into().unwrap()));
    let mut added = 0;
    while added < literals {
        let host = format!("{}.{}.{}.{}", 1 + rng.below(222), rng.below(256), rng.below(256), 1 + rng.below(254));
        let before = registration.literals().len();
        registration = registration.with_host(&host);
        added += registration.literals().len() - before;
    }
    for index in 0..names {
        registration = registration.with_host(&format!("host-{index}.example"));
    }
    for transport in [Transport::Tcp, Transport::Udp] {
        for _ in 0..rng.below(4) {
            registration = registration.with_server_port(transport, 1 + rng.below(65535) as u16);
        }
    }
    registration
}

fn record(registration: &Registration) -> Vec<u8> {
    let mut out = [0u8; MAX_RECORD_BYTES];
    let size = registration.encode(&mut out).unwrap();
    out[..size].to_vec()
}

#[test]
fn random_bytes_never_break_the_decoder() {
    let mut rng = Rng::new(0x0bad_cafe_1234_5678);
    for round in 0..20_000 {
        let len = rng.below(MAX_RECORD_BYTES + 16);
        let mut bytes = rng.bytes(len);
        // Often a real header, so the decoder gets past the magic.
        if round % 2 == 0 && bytes.len() >= 12 {
            bytes[..6].copy_from_slice(b"TNRG\x03\x00");
            bytes[7] = 0;
            bytes[9] = 0;
            bytes[10..12].copy_from_slice(&[0, 0]);
            if bytes.len() >= 32 {
                bytes[6] %= 8;
                bytes[8] %= 4;
                bytes[28] %= 3;
                bytes[29] %= 3;
                bytes[30..32].copy_from_slice(&[0, 0]);
            }
        }
        registration_decoding(&bytes);
    }
}

#[test]
fn good_records_decode_to_what_was_encoded() {
    let mut rng = Rng::new(0x1357_9bdf_2468_ace0);
    for literals in 0..=MAX_ALLOWED_CONNECTIONS {
        let names = rng.below(MAX_ALLOWED_CONNECTIONS - literals + 1);
        let registration = random_registration(&mut rng, literals, names);
        assert_eq!((registration.literals().len(), registration.name_count()), (literals, names));
        let bytes = record(&registration);
        registration_decoding(&bytes);
        assert_eq!(Registration::decode(&bytes), Ok(registration));
        // Whatever follows the record in the window does not matter.
        let mut window = bytes.clone();
        window.extend(rng.bytes(64));
        assert_eq!(Registration::decode(&window), Ok(registration));
    }
}

#[test]
fn mutations_of_good_records_never_break_the_decoder() {
    let mut rng = Rng::new(0xfeed_f00d_dead_beef);
    for literals in [0, 1, 2, 7, MAX_ALLOWED_CONNECTIONS - 3] {
        let bytes = record(&random_registration(&mut rng, literals, 3));
        for _ in 0..5_000 {
            let mut input = bytes.clone();
            for _ in 0..=rng.below(3) {
                let index = rng.below(input.len());
                match rng.below(3) {
                    0 => input[index] ^= 1 << rng.below(8),
                    1 => input[index] = rng.next_u64() as u8,
                    _ => input[index] = input[index].wrapping_add(1),
                }
            }
            registration_decoding(&input);
            let len = rng.below(input.len() + 1);
            registration_decoding(&input[..len]);
        }
    }
}

/// The fuzz seeds (`fuzz/seeds/`) are good inputs: every request decodes,
/// every record decodes to what its name says.
#[test]
fn the_fuzz_seeds_decode() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut requests = 0;
    for entry in std::fs::read_dir(seeds.join("request_decoding")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let word = |index: usize| u32::from_le_bytes(bytes[index * 4..index * 4 + 4].try_into().unwrap());
        let decoded =
            tessera_net_core::protocol::decode(word(0), [word(1), word(2), word(3), word(4)], word(5), word(6));
        assert!(decoded.is_ok(), "{bytes:?}");
        requests += 1;
    }
    assert_eq!(requests, 17, "one seed per request");
    let record =
        |name: &str| Registration::decode(&std::fs::read(seeds.join("registration_decoding").join(name)).unwrap());
    let httpget = record("httpget.bin").unwrap();
    assert_eq!((httpget.literals(), httpget.name_count()), (&[[10, 0, 2, 2]][..], 1));
    assert_eq!(httpget.name(0), Some(&b"example.test"[..]));
    assert_eq!(httpget.component_id(), ComponentId::parse("1b7d398b-aeb0-4038-af3c-227519bdd26e").unwrap());
    let names_only = record("names_only.bin").unwrap();
    assert_eq!((names_only.literals().len(), names_only.name_count()), (0, 1));
    let three = record("three.bin").unwrap();
    assert_eq!((three.literals().len(), three.name_count()), (3, 2));
}
