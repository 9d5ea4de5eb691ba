//! The request decoder's fuzz body (`fuzzing::request_decoding`) on many
//! generated inputs: random bytes, requests built near every limit, and
//! mutations of good requests; and the decoder against a second, plain
//! statement of the protocol's rules, so that it refuses exactly what the
//! rules refuse (the fuzz body only checks what it accepts).

use tessera_abi::app::net::{
    address_word, CLOSE, DELEGATE, LOOKUP, MAX_CLIENTS, MAX_DATAGRAM_BYTES, MAX_NAME_BYTES, MAX_SOCKETS, RECEIVE,
    RECEIVE_FROM, REGISTER_APP, SEND, SEND_TO, SET_RESOLVER, SHUTDOWN, SOCKET_BADGE, STATUS, TCP_ACCEPT, TCP_CONNECT,
    TCP_LISTEN, UDP_BIND, UNREGISTER_APP, WINDOW_BYTES,
};
use tessera_abi::Error;
use tessera_net_core::fuzzing::{request_decoding, request_input, REQUEST_INPUT_BYTES};
use tessera_net_core::protocol::decode;
use tessera_testing::Rng;

const LABELS: [u32; 16] = [
    TCP_CONNECT,
    STATUS,
    SEND,
    RECEIVE,
    CLOSE,
    LOOKUP,
    TCP_LISTEN,
    TCP_ACCEPT,
    UDP_BIND,
    SEND_TO,
    RECEIVE_FROM,
    SHUTDOWN,
    DELEGATE,
    REGISTER_APP,
    UNREGISTER_APP,
    SET_RESOLVER,
];

/// A u32 near a limit most of the time, any u32 otherwise.
fn word(rng: &mut Rng) -> u32 {
    const INTERESTING: [u32; 28] = [
        0,
        1,
        253,
        254,
        1472,
        1473,
        2,
        3,
        4,
        5,
        15,
        16,
        17,
        80,
        8080,
        16383,
        16384,
        16385,
        65535,
        65536,
        address_word([10, 0, 2, 2]),
        address_word([224, 0, 0, 1]),
        address_word([239, 255, 255, 255]),
        address_word([240, 0, 0, 0]),
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ];
    if rng.below(4) == 0 {
        rng.next_u64() as u32
    } else {
        INTERESTING[rng.below(INTERESTING.len())]
    }
}

/// The protocol's rules, written out once more: whether a request is
/// accepted, and if not, with which error.
fn rules(label: u32, words: [u32; 4], caps: u32, badge: u32) -> Result<(), Error> {
    let holder = badge & !0xffff == SOCKET_BADGE;
    if badge > MAX_CLIENTS && !holder {
        return Err(Error::PermissionDenied);
    }
    if !LABELS.contains(&label) {
        return Err(Error::InvalidArgument);
    }
    let init_only = [REGISTER_APP, UNREGISTER_APP, SET_RESOLVER].contains(&label);
    let bytes = [SEND, RECEIVE, SEND_TO, RECEIVE_FROM].contains(&label);
    let holders_may = bytes || [STATUS, CLOSE, SHUTDOWN].contains(&label);
    let permitted = if holder { holders_may } else { init_only == (badge == 0) };
    if !permitted {
        return Err(Error::PermissionDenied);
    }
    let wanted = if label == REGISTER_APP { 2 } else { u32::from(holder && bytes) };
    if caps != wanted {
        return Err(Error::InvalidArgument);
    }
    // A holder's word 0 is not read as a socket; its `SEND_TO` length is
    // there (word 3 is its frame's handle).
    let words =
        if holder { [0, words[1], words[2], if label == SEND_TO { words[0] } else { words[3] }] } else { words };
    let connectable = |word: u32| {
        let [a, b, c, d] = word.to_be_bytes();
        [a, b, c, d] != [0; 4] && [a, b, c, d] != [255; 4] && !(224..240).contains(&a)
    };
    let socket = words[0] < MAX_SOCKETS;
    let len = (1..=WINDOW_BYTES as u64).contains(&u64::from(words[1]));
    let port = |word: u32| (1..=65535).contains(&word);
    let good = match label {
        TCP_CONNECT | SET_RESOLVER => connectable(words[0]) && port(words[1]),
        STATUS | CLOSE | TCP_ACCEPT | SHUTDOWN | DELEGATE => socket,
        SEND | RECEIVE | RECEIVE_FROM => socket && len,
        LOOKUP => (1..=MAX_NAME_BYTES as u64).contains(&u64::from(words[0])),
        TCP_LISTEN => port(words[0]),
        UDP_BIND => words[0] <= 65535,
        SEND_TO => socket && connectable(words[1]) && port(words[2]) && words[3] as usize <= MAX_DATAGRAM_BYTES,
        _ => (1..=MAX_CLIENTS).contains(&words[0]),
    };
    if good {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}

#[test]
fn random_bytes_never_break_the_decoder() {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = rng.below(REQUEST_INPUT_BYTES + 8);
        request_decoding(&rng.bytes(len));
    }
}

#[test]
fn requests_near_every_limit_follow_the_rules() {
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    let mut accepted = [0u32; LABELS.len()];
    for _ in 0..400_000 {
        let label = if rng.below(16) == 0 { word(&mut rng) } else { LABELS[rng.below(LABELS.len())] };
        let words = [word(&mut rng), word(&mut rng), word(&mut rng), word(&mut rng)];
        let caps = if rng.below(16) == 0 { word(&mut rng) } else { rng.below(3) as u32 };
        let any = word(&mut rng);
        let holder = SOCKET_BADGE | (rng.below(256) as u32) << 8 | rng.below(256) as u32;
        let badge = [0, 0, 1, 2, MAX_CLIENTS, MAX_CLIENTS + 1, any, holder, holder | 1 << 17][rng.below(9)];
        request_decoding(&request_input(label, words, caps, badge));
        let decoded = decode(label, words, caps, badge);
        assert_eq!(decoded.map(|_| ()), rules(label, words, caps, badge), "{label} {words:?} {caps} {badge}");
        if decoded.is_ok() {
            accepted[LABELS.iter().position(|&known| known == label).unwrap()] += 1;
        }
    }
    // The inputs reach every request, so the checks above saw each one.
    assert!(accepted.iter().all(|&count| count > 30), "accepted per label: {accepted:?}");
}

#[test]
fn mutations_of_good_requests_never_break_the_decoder() {
    let good = [
        request_input(TCP_CONNECT, [address_word([10, 0, 2, 2]), 8080, 0, 0], 0, 3),
        request_input(STATUS, [0, 0, 0, 0], 0, 1),
        request_input(SEND, [3, 16384, 0, 0], 0, 16),
        request_input(RECEIVE, [1, 1, 0, 0], 0, 5),
        request_input(CLOSE, [2, 0, 0, 0], 0, 2),
        request_input(REGISTER_APP, [16, 0, 8, 9], 2, 0),
        request_input(UNREGISTER_APP, [1, 0, 0, 0], 0, 0),
        request_input(LOOKUP, [12, 0, 0, 0], 0, 4),
        request_input(TCP_LISTEN, [7, 0, 0, 0], 0, 4),
        request_input(TCP_ACCEPT, [0, 0, 0, 0], 0, 4),
        request_input(UDP_BIND, [0, 0, 0, 0], 0, 4),
        request_input(SEND_TO, [0, address_word([10, 0, 2, 2]), 7008, 64], 0, 4),
        request_input(RECEIVE_FROM, [0, 1472, 0, 0], 0, 4),
        request_input(SHUTDOWN, [2, 0, 0, 0], 0, 4),
        request_input(DELEGATE, [1, 0, 0, 0], 0, 4),
        request_input(SEND, [0, 64, 0, 9], 1, SOCKET_BADGE | 2 << 8 | 5),
        request_input(SET_RESOLVER, [address_word([10, 0, 2, 2]), 5353, 0, 0], 0, 0),
    ];
    let mut rng = Rng::new(0xdead_beef_cafe_f00d);
    for seed in good {
        request_decoding(&seed);
        let word = |index: usize| u32::from_le_bytes(seed[index * 4..index * 4 + 4].try_into().unwrap());
        assert!(decode(word(0), [word(1), word(2), word(3), word(4)], word(5), word(6)).is_ok(), "seed {seed:?}");
        for _ in 0..5_000 {
            let mut input = seed;
            for _ in 0..=rng.below(3) {
                let index = rng.below(REQUEST_INPUT_BYTES);
                match rng.below(3) {
                    0 => input[index] ^= 1 << rng.below(8),
                    1 => input[index] = rng.next_u64() as u8,
                    _ => input[index] = input[index].wrapping_add(1),
                }
            }
            request_decoding(&input);
            let len = rng.below(REQUEST_INPUT_BYTES + 1);
            request_decoding(&input[..len]);
        }
    }
}
