//! The DNS response decoder's fuzz body (`fuzzing::dns_response_decoding`)
//! on random bytes, on good responses of several shapes, on every cut and
//! on mutations of them, and on queries for random valid names answered;
//! and a check that the fuzz seeds (and the local corpus, when there is
//! one) give what they are named for.

use tessera_net_core::dns::{decode_response, encode_query, is_valid_name, DnsError, MAX_NAME_BYTES, MAX_QUERY_BYTES};
use tessera_net_core::fuzzing::{dns_response_decoding, DNS_QUESTION};
use tessera_testing::Rng;

const ID: u16 = 0x1234;
/// A pointer to the question's name.
const QUESTION: &[u8] = &[0xc0, 12];

/// `name` in wire form, without compression.
fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|label| !label.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn record(owner: &[u8], kind: u16, ttl: u32, data: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// A fuzz input: the ID 0x1234, then a response with `flags` to the
/// query for `example.test` with `answers`.
fn input(flags: u16, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = ID.to_be_bytes().to_vec();
    out.extend_from_slice(&ID.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend(wire("example.test"));
    out.extend_from_slice(&[0, 1, 0, 1]);
    for answer in answers {
        out.extend_from_slice(answer);
    }
    out
}

/// Good responses of several shapes, as fuzz inputs.
fn good_inputs() -> Vec<Vec<u8>> {
    // "www" then a pointer to the question's "test".
    let www = [3, b'w', b'w', b'w', 0xc0, 20];
    vec![
        input(0x8180, &[record(QUESTION, 1, 300, &[10, 0, 2, 2])]),
        input(0x8180, &[record(&wire("example.test"), 1, 300, &[192, 0, 2, 1])]),
        input(
            0x8180,
            &[
                record(QUESTION, 5, 60, &www),
                record(&wire("www.test"), 5, 60, &wire("edge.test")),
                record(&wire("edge.test"), 1, 30, &[203, 0, 113, 7]),
                record(&wire("edge.test"), 1, 30, &[203, 0, 113, 8]),
            ],
        ),
        input(
            0x8180,
            &[
                record(QUESTION, 16, 1, b"\x05hello"),
                record(QUESTION, 28, 1, &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                record(QUESTION, 1, 9, &[10, 0, 0, 1]),
                record(QUESTION, 1, 9, &[10, 0, 0, 2]),
                record(QUESTION, 1, 9, &[10, 0, 0, 1]),
                record(QUESTION, 1, 9, &[10, 0, 0, 3]),
                record(QUESTION, 1, 9, &[10, 0, 0, 4]),
                record(QUESTION, 1, 9, &[10, 0, 0, 5]),
            ],
        ),
        input(0x8183, &[]),
        input(0x8185, &[]),
        input(0x8380, &[]),
    ]
}

#[test]
fn random_bytes_never_break_the_decoder() {
    let mut rng = Rng::new(0x5eed_d0d0_0053_0053);
    let header = input(0x8180, &[]);
    for round in 0..20_000 {
        let len = rng.below(160);
        let mut bytes = rng.bytes(len);
        // Often a real ID, header and question, so the decoder gets to the
        // answers.
        if round % 2 == 0 {
            let keep = header.len().min(bytes.len());
            bytes[..keep].copy_from_slice(&header[..keep]);
            if bytes.len() > 9 {
                // ANCOUNT.
                bytes[9] = rng.below(8) as u8;
            }
        }
        dns_response_decoding(&bytes);
    }
}

#[test]
fn good_responses_and_every_cut_never_break_the_decoder() {
    for bytes in good_inputs() {
        dns_response_decoding(&bytes);
        for len in 0..bytes.len() {
            dns_response_decoding(&bytes[..len]);
        }
    }
    let first = &good_inputs()[0];
    assert_eq!(decode_response(&first[2..], ID, DNS_QUESTION).unwrap().addresses(), [[10, 0, 2, 2]]);
}

#[test]
fn mutations_of_good_responses_never_break_the_decoder() {
    let mut rng = Rng::new(0x0dd5_eed5_1234_5678);
    for bytes in good_inputs() {
        for _ in 0..5_000 {
            let mut input = bytes.clone();
            for _ in 0..=rng.below(3) {
                let index = rng.below(input.len());
                match rng.below(4) {
                    0 => input[index] ^= 1 << rng.below(8),
                    1 => input[index] = rng.next_u64() as u8,
                    2 => input[index] = input[index].wrapping_add(1),
                    // A pointer somewhere: compression is where loops hide.
                    _ => input[index] = 0xc0,
                }
            }
            dns_response_decoding(&input);
            let len = rng.below(input.len() + 1);
            dns_response_decoding(&input[..len]);
        }
    }
}

#[test]
fn queries_for_random_names_are_answered() {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let mut rng = Rng::new(0x00de_ad00_beef_0001);
    let mut longest = 0;
    for _ in 0..2_000 {
        let mut name = Vec::new();
        for label in 0..1 + rng.below(8) {
            if label > 0 {
                name.push(b'.');
            }
            let len = if rng.below(4) == 0 { 63 } else { 1 + rng.below(20) };
            name.extend((0..len).map(|_| LETTERS[rng.below(LETTERS.len())]));
        }
        if rng.below(2) == 0 {
            name.push(b'.');
        }
        let valid = is_valid_name(&name);
        let length_ok = name.strip_suffix(b".").unwrap_or(&name).len() <= MAX_NAME_BYTES;
        let mut query = [0u8; MAX_QUERY_BYTES];
        assert_eq!(encode_query(7, &name, &mut query).is_some(), valid, "{}", String::from_utf8_lossy(&name));
        if valid {
            longest = longest.max(name.len());
        } else {
            // Only a hyphen at a label's edge, or the length, spoils one.
            let edges = name.split(|&byte| byte == b'.').any(|label| label.starts_with(b"-") || label.ends_with(b"-"));
            assert!(edges || !length_ok, "{}", String::from_utf8_lossy(&name));
        }
        let mut data = 7u16.to_be_bytes().to_vec();
        data.extend_from_slice(&name);
        dns_response_decoding(&data);
    }
    assert!(longest > 200, "the longest valid name was {longest} bytes");
}

/// The fuzz seeds (`fuzz/seeds/dns_response_decoding/`) decode to what
/// their names say; the corpus a local fuzz run left, if any, replays.
#[test]
fn the_fuzz_seeds_decode() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let seeds = fuzz.join("seeds/dns_response_decoding");
    let seed = |name: &str| {
        let bytes = std::fs::read(seeds.join(name)).unwrap();
        dns_response_decoding(&bytes);
        let id = u16::from_be_bytes([bytes[0], bytes[1]]);
        decode_response(&bytes[2..], id, DNS_QUESTION).map(|answer| (answer.addresses().to_vec(), answer.ttl()))
    };
    assert_eq!(seed("one_address.bin"), Ok((vec![[10, 0, 2, 2]], 300)));
    assert_eq!(seed("cname_chain.bin"), Ok((vec![[93, 184, 215, 14]], 120)));
    let four = vec![[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3], [10, 0, 0, 4]];
    assert_eq!(seed("several.bin"), Ok((four, 50)));
    assert_eq!(seed("no_such_name.bin"), Err(DnsError::NoSuchName));
    assert_eq!(seed("refused.bin"), Err(DnsError::ServerFailed(5)));
    assert_eq!(seed("truncated.bin"), Err(DnsError::Truncated));
    // Bytes that are a valid name: the body's query round trip.
    let query_name = std::fs::read(seeds.join("query_name.bin")).unwrap();
    assert!(is_valid_name(&query_name[2..]));
    dns_response_decoding(&query_name);
    assert_eq!(std::fs::read_dir(&seeds).unwrap().count(), 7, "a seed without a check");

    let Ok(corpus) = std::fs::read_dir(fuzz.join("corpus/dns_response_decoding")) else { return };
    for entry in corpus {
        dns_response_decoding(&std::fs::read(entry.unwrap().path()).unwrap());
    }
}
