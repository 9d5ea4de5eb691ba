//! The bodies of the fuzz targets in `userland/net-core/fuzz/`, shared
//! with the tests (`tests/`) so a crash replays as a test.
//!
//! - [`request_decoding`]: runs [`protocol::decode`] on any bytes read as a
//!   request. It panics only when an invariant breaks: a request that
//!   decodes obeys every limit of `tessera_abi::app::net` and comes from a
//!   caller allowed to make it.
//! - [`registration_decoding`]: runs [`Registration::decode`] on any
//!   bytes. It panics only when an invariant breaks: a record that decodes
//!   allows only addresses TCP can reach, holds no more entries than a
//!   manifest may, and encodes back to the very bytes it was read from.

use tessera_abi::app::net::{
    address_word, CLOSE, MAX_CLIENTS, MAX_SOCKETS, RECEIVE, REGISTER_APP, SEND, STATUS, TCP_CONNECT, UNREGISTER_APP,
    WINDOW_BYTES,
};
use tessera_abi::manifest::MAX_ALLOWED_CONNECTIONS;

use crate::protocol::{self, is_connectable, Caller, Request};
use crate::registration::{Registration, MAX_RECORD_BYTES};

/// How a request fuzz input is spelled (`tessera_abi::ipc`'s
/// received-request bytes), for seeds and tests.
pub use tessera_abi::ipc::{received_to_bytes as request_input, RECEIVED_BYTES as REQUEST_INPUT_BYTES};

/// Fuzz body `request_decoding`: `data` as `label, word 0..3, caps,
/// badge` (little-endian `u32`s; missing bytes are zero, extra bytes
/// ignored), through [`protocol::decode`]. Any result is fine, but one
/// that decodes must name the badge's caller, match the label, carry the
/// label's number of capabilities, come from a caller allowed to make it
/// and have every word within its limit.
pub fn request_decoding(data: &[u8]) {
    let (label, words, caps, badge) = tessera_abi::ipc::received_from_bytes(data);
    let [word0, word1, ..] = words;
    let result = protocol::decode(label, words, caps, badge);
    assert_eq!(result, protocol::decode(label, words, caps, badge), "decoding is not deterministic");
    let Ok((caller, request)) = result else { return };

    match caller {
        Caller::Init => assert_eq!(badge, protocol::INIT_BADGE),
        Caller::App(client) => {
            assert_eq!(client, badge);
            assert!((1..=MAX_CLIENTS).contains(&client), "app badge {badge} accepted");
        }
    }
    let app = matches!(caller, Caller::App(_));
    let socket_ok = |socket: u32| socket == word0 && socket < MAX_SOCKETS;
    let len_ok = |len: usize| len == word1 as usize && (1..=WINDOW_BYTES).contains(&len);
    let (expected_label, expected_caps) = match request {
        Request::TcpConnect { address, port } => {
            assert!(app, "init connected");
            assert_eq!(address_word(address), word0);
            assert!(is_connectable(address), "connect to {address:?}");
            assert!(port != 0 && u32::from(port) == word1, "port {port} from {word1}");
            (TCP_CONNECT, 0)
        }
        Request::Status { socket } => {
            assert!(app && socket_ok(socket), "status {socket}");
            (STATUS, 0)
        }
        Request::Send { socket, len } => {
            assert!(app && socket_ok(socket) && len_ok(len), "send {socket} {len}");
            (SEND, 0)
        }
        Request::Receive { socket, len } => {
            assert!(app && socket_ok(socket) && len_ok(len), "receive {socket} {len}");
            (RECEIVE, 0)
        }
        Request::Close { socket } => {
            assert!(app && socket_ok(socket), "close {socket}");
            (CLOSE, 0)
        }
        Request::RegisterApp { client } => {
            assert_eq!(caller, Caller::Init, "an app registered an app");
            assert!(client == word0 && (1..=MAX_CLIENTS).contains(&client), "client {client}");
            (REGISTER_APP, 1)
        }
        Request::UnregisterApp { client } => {
            assert_eq!(caller, Caller::Init, "an app unregistered an app");
            assert!(client == word0 && (1..=MAX_CLIENTS).contains(&client), "client {client}");
            (UNREGISTER_APP, 0)
        }
    };
    assert_eq!(label, expected_label, "label {label} decoded as {request:?}");
    assert_eq!(caps, expected_caps, "{request:?} with {caps} capabilities");
}

/// Fuzz body `registration_decoding`: [`Registration::decode`] on `data`
/// (as `netd` reads an app's window). Any result is fine, but a record
/// that decodes allows only addresses TCP can reach, has at most a
/// manifest's entries, answers [`Registration::allows`] for exactly its
/// literals, and encodes back to the bytes it was read from.
pub fn registration_decoding(data: &[u8]) {
    let result = Registration::decode(data);
    assert_eq!(result, Registration::decode(data), "decoding is not deterministic");
    let Ok(registration) = result else { return };
    let literals = registration.literals();
    assert!(literals.len() + registration.names() <= MAX_ALLOWED_CONNECTIONS, "too many entries");
    for &address in literals {
        assert!(is_connectable(address), "allows {address:?}");
        assert!(registration.allows(address));
    }
    // An address it does not list is not allowed: flip one literal's last
    // octet until it is not in the list.
    if let Some(&[a, b, c, d]) = literals.first() {
        let other = (1..=255u8).map(|step| [a, b, c, d.wrapping_add(step)]).find(|other| !literals.contains(other));
        if let Some(other) = other {
            assert!(!registration.allows(other), "allows {other:?}, which it does not list");
        }
    }
    let mut out = [0u8; MAX_RECORD_BYTES];
    let size = registration.encode(&mut out).expect("a decoded record fits the largest record");
    assert_eq!(&out[..size], &data[..size], "the record does not encode back to its bytes");
}
