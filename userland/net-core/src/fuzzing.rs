//! The bodies of the fuzz targets in `userland/net-core/fuzz/`, shared
//! with the tests (`tests/`) so a crash replays as a test.
//!
//! - [`checksum_frames`]: runs [`checksum::verify`] and [`checksum::fill`]
//!   on any bytes read as an Ethernet frame. It panics only when an
//!   invariant breaks: a frame `fill` writes a checksum into verifies,
//!   and then fails to verify once any one byte of its segment changes.
//! - [`request_decoding`]: runs [`protocol::decode`] on any bytes read as a
//!   request. It panics only when an invariant breaks: a request that
//!   decodes obeys every limit of `tessera_abi::app::net` and comes from a
//!   caller allowed to make it.
//! - [`registration_decoding`]: runs [`Registration::decode`] on any
//!   bytes. It panics only when an invariant breaks: a record that decodes
//!   allows only addresses TCP can reach, holds no more entries than a
//!   manifest may, and encodes back to the very bytes it was read from.
//! - [`dns_response_decoding`]: runs [`dns::decode_response`] on any
//!   bytes read as a query ID and a response to the query for
//!   [`DNS_QUESTION`]. It panics only when an invariant breaks: an answer
//!   holds 1 to 4 addresses TCP can reach, none twice, each one found in
//!   the response, with a TTL of at most a day; an error names what the
//!   header says; and a query for any valid name, answered, reads back.
//! - [`link_frames`]: runs [`frame::arp_sender`], [`frame::arp_neighbor`],
//!   [`frame::udp_datagram`] and [`Steering::steer`] on any bytes read as
//!   an Ethernet frame, and [`frame::write_udp`] on headers and a payload
//!   taken from them. It panics only when an invariant breaks: a sender
//!   found is the one the packet names, with an address and a single
//!   host's MAC; a neighbour is learnt only from a packet about this host,
//!   from its subnet, sent to it; a frame written has the length it says,
//!   both its checksums right, and is no ARP packet; a datagram read from
//!   a frame lies within it, is from a single host, reads back the same
//!   once written again, and is steered whole into a socket open on its
//!   port unless its checksum or its sender is wrong (and nothing that is
//!   no datagram is).

use tessera_abi::app::net::{
    address_word, CLOSE, DELEGATE, LOOKUP, MAX_CLIENTS, MAX_DATAGRAM_BYTES, MAX_NAME_BYTES, MAX_SOCKETS, RECEIVE,
    RECEIVE_FROM, REGISTER_APP, SEND, SEND_TO, SET_RESOLVER, SHUTDOWN, SOCKET_BADGE, STATUS, TCP_ACCEPT, TCP_CONNECT,
    TCP_LISTEN, UDP_BIND, UNREGISTER_APP, WINDOW_BYTES,
};
use tessera_abi::manifest::{MAX_ALLOWED_CONNECTIONS, MAX_SERVER_PORTS};

use crate::checksum;
use crate::dns::{self, DnsError, HEADER_BYTES, MAX_ADDRESSES, MAX_QUERY_BYTES, MAX_TTL};
use crate::frame::{self, UdpHeaders, MAX_UDP_PAYLOAD, UDP_PAYLOAD_AT};
use crate::protocol::{self, is_connectable, Caller, Request};
use crate::queue::{Datagrams, Steering};
use crate::registration::{Registration, Transport, MAX_RECORD_BYTES};

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
        Caller::Socket { slot, generation } => {
            assert!(slot < 256 && generation < 256, "socket badge {badge:#x}");
            assert_eq!(badge, SOCKET_BADGE | generation << 8 | slot, "socket badge {badge:#x}");
        }
    }
    let app = matches!(caller, Caller::App(_));
    // A socket capability's holder: word 0 is not read, the socket is 0.
    let holder = matches!(caller, Caller::Socket { .. });
    let socket_ok = |socket: u32| if holder { socket == 0 } else { socket == word0 && socket < MAX_SOCKETS };
    let len_ok = |len: usize| len == word1 as usize && (1..=WINDOW_BYTES).contains(&len);
    // The holder's frame comes with every request that moves bytes.
    let frame = u32::from(holder);
    let (expected_label, expected_caps) = match request {
        Request::TcpConnect { address, port } => {
            assert!(app, "{caller:?} connected");
            assert_eq!(address_word(address), word0);
            assert!(is_connectable(address), "connect to {address:?}");
            assert!(port != 0 && u32::from(port) == word1, "port {port} from {word1}");
            (TCP_CONNECT, 0)
        }
        Request::Status { socket } => {
            assert!((app || holder) && socket_ok(socket), "status {socket}");
            (STATUS, 0)
        }
        Request::Send { socket, len } => {
            assert!((app || holder) && socket_ok(socket) && len_ok(len), "send {socket} {len}");
            (SEND, frame)
        }
        Request::Receive { socket, len } => {
            assert!((app || holder) && socket_ok(socket) && len_ok(len), "receive {socket} {len}");
            (RECEIVE, frame)
        }
        Request::Close { socket } => {
            assert!((app || holder) && socket_ok(socket), "close {socket}");
            (CLOSE, 0)
        }
        Request::Delegate { socket } => {
            assert!(app && socket_ok(socket), "delegate {socket}");
            (DELEGATE, 0)
        }
        Request::RegisterApp { client } => {
            assert_eq!(caller, Caller::Init, "an app registered an app");
            assert!(client == word0 && (1..=MAX_CLIENTS).contains(&client), "client {client}");
            (REGISTER_APP, 2)
        }
        Request::UnregisterApp { client } => {
            assert_eq!(caller, Caller::Init, "an app unregistered an app");
            assert!(client == word0 && (1..=MAX_CLIENTS).contains(&client), "client {client}");
            (UNREGISTER_APP, 0)
        }
        Request::Lookup { len } => {
            assert!(app && len == word0 as usize && (1..=MAX_NAME_BYTES).contains(&len), "lookup {len}");
            (LOOKUP, 0)
        }
        Request::TcpListen { port } => {
            assert!(app && port != 0 && u32::from(port) == word0, "listen {port}");
            (TCP_LISTEN, 0)
        }
        Request::TcpAccept { socket } => {
            assert!(app && socket_ok(socket), "accept {socket}");
            (TCP_ACCEPT, 0)
        }
        Request::UdpBind { port } => {
            assert!(app && u32::from(port) == word0, "bind {port}");
            (UDP_BIND, 0)
        }
        Request::SendTo { socket, address, port, len } => {
            assert!((app || holder) && socket_ok(socket), "send_to {socket}");
            assert!(address_word(address) == word1 && is_connectable(address), "send_to {address:?}");
            assert!(port != 0 && u32::from(port) == words[2], "send_to port {port}");
            let length = if holder { word0 } else { words[3] };
            assert!(len == length as usize && len <= MAX_DATAGRAM_BYTES, "send_to {len}");
            (SEND_TO, frame)
        }
        Request::ReceiveFrom { socket, len } => {
            assert!((app || holder) && socket_ok(socket) && len_ok(len), "receive_from {socket} {len}");
            (RECEIVE_FROM, frame)
        }
        Request::Shutdown { socket } => {
            assert!((app || holder) && socket_ok(socket), "shutdown {socket}");
            (SHUTDOWN, 0)
        }
        Request::SetResolver { address, port } => {
            assert_eq!(caller, Caller::Init, "an app set the resolver");
            assert!(address_word(address) == word0 && is_connectable(address), "resolver {address:?}");
            assert!(port != 0 && u32::from(port) == word1, "resolver port {port}");
            (SET_RESOLVER, 0)
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
    for transport in [Transport::Tcp, Transport::Udp] {
        let ports = registration.server_ports(transport);
        assert!(ports.len() <= MAX_SERVER_PORTS, "{} {transport} ports", ports.len());
        assert!(ports.windows(2).all(|pair| pair[0] < pair[1]) && !ports.contains(&0), "{transport} {ports:?}");
        assert!(ports.iter().all(|&port| registration.serves(transport, port)));
    }
    let entries = literals.len() + registration.name_count() + registration.ignored();
    assert!(entries <= MAX_ALLOWED_CONNECTIONS, "too many entries");
    for (index, name) in registration.names().enumerate() {
        assert!(crate::dns::is_valid_name(name), "lists the name {name:?}");
        assert!(!name.iter().any(u8::is_ascii_uppercase), "lists {name:?} in upper case");
        assert_eq!(registration.name_index(name).map(|found| registration.name(found)), Some(Some(name)));
        assert!(index < registration.name_count());
    }
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

/// The name the fuzz body `dns_response_decoding` asked for.
pub const DNS_QUESTION: &[u8] = b"example.test";

/// Fuzz body `dns_response_decoding`: `data` as a query ID (its first
/// two bytes, big-endian; missing bytes are zero) and a response (the
/// rest), through [`dns::decode_response`] for that ID and the question
/// [`DNS_QUESTION`]. Any result is fine, but:
///
/// - it is the same twice, and the same for the question in other letter
///   case with a trailing dot;
/// - a response with a header is never the answer to an ID it does not
///   carry;
/// - an answer comes from a response without error, truncation or
///   another ID, and holds 1 to [`MAX_ADDRESSES`] addresses, each one TCP
///   can reach, none twice, each one found in the response, with a TTL of
///   at most [`MAX_TTL`];
/// - `Truncated`, `NoSuchName` and `ServerFailed` agree with the header's
///   TC bit and response code.
///
/// And when the response bytes are a valid host name, the query for that
/// name is encoded, is not read as its own response, and once answered
/// (QR set, one A record pointing to the question's name) reads back as
/// that record's address and TTL.
pub fn dns_response_decoding(data: &[u8]) {
    let byte = |at: usize| data.get(at).copied().unwrap_or(0);
    let id = u16::from_be_bytes([byte(0), byte(1)]);
    let packet = data.get(2..).unwrap_or(&[]);

    let result = dns::decode_response(packet, id, DNS_QUESTION);
    assert_eq!(result, dns::decode_response(packet, id, DNS_QUESTION), "decoding is not deterministic");
    assert_eq!(result, dns::decode_response(packet, id, b"EXAMPLE.Test."), "the question's case or dot mattered");
    let header = |at: usize| packet.get(at).copied().unwrap_or(0);
    if packet.len() >= HEADER_BYTES {
        let other_id = u16::from_be_bytes([header(0), header(1)]) ^ 1;
        let other = dns::decode_response(packet, other_id, DNS_QUESTION);
        assert_eq!(other, Err(DnsError::NotOurs), "read as the answer to ID {other_id}");
    }
    let (tc, rcode) = (header(2) & 0x02 != 0, header(3) & 0x0f);
    match result {
        Ok(answer) => {
            assert!(
                header(2) & 0x80 != 0 && !tc && rcode == 0,
                "answer from flags {:#04x}{:02x}",
                header(2),
                header(3)
            );
            assert_eq!([header(0), header(1)], id.to_be_bytes(), "answer for another ID");
            let addresses = answer.addresses();
            assert!((1..=MAX_ADDRESSES).contains(&addresses.len()), "{} addresses", addresses.len());
            assert!(answer.ttl() <= MAX_TTL, "ttl {}", answer.ttl());
            for (index, &address) in addresses.iter().enumerate() {
                assert!(is_connectable(address), "answered {address:?}");
                assert!(!addresses[..index].contains(&address), "{address:?} twice");
                assert!(packet.windows(4).any(|bytes| bytes == address), "{address:?} is not in the response");
            }
        }
        Err(DnsError::Truncated) => assert!(tc, "truncated without TC"),
        Err(DnsError::NoSuchName) => assert!(!tc && rcode == 3, "no such name from rcode {rcode}"),
        Err(DnsError::ServerFailed(code)) => {
            assert!(!tc && code == rcode && code != 0 && code != 3, "server failed ({code}) from rcode {rcode}")
        }
        Err(DnsError::NotOurs | DnsError::NoAddress | DnsError::Malformed) => {}
    }

    if dns::is_valid_name(packet) {
        const RECORD: [u8; 16] = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 2, 2];
        let mut message = [0u8; MAX_QUERY_BYTES + RECORD.len()];
        let size = dns::encode_query(id, packet, &mut message).expect("a valid name makes a query");
        assert!(size <= MAX_QUERY_BYTES, "a {size}-byte query");
        let query = dns::decode_response(&message[..size], id, packet);
        assert_eq!(query, Err(DnsError::NotOurs), "a query read as its own response");
        message[2] |= 0x80;
        message[7] = 1;
        message[size..size + RECORD.len()].copy_from_slice(&RECORD);
        let answer = dns::decode_response(&message[..size + RECORD.len()], id, packet).expect("the answer reads back");
        assert_eq!((answer.addresses(), answer.ttl()), (&[[10, 0, 2, 2]][..], 3600));
    }
}

/// Fuzz body `checksum_frames`: `data` as an Ethernet frame through
/// [`checksum::verify`] and [`checksum::fill`]. Any verdict is fine, but
/// a frame `fill` writes must verify, and must stop verifying when the
/// last byte of the frame that its checksum covers changes. (Which bytes
/// those are is the frame's business; the last byte of the IPv4 packet
/// the header states is one, unless padding follows.)
pub fn checksum_frames(data: &[u8]) {
    let _ = checksum::verify(data);
    // Frames are at most a buffer's 2 KiB; longer input is cut there.
    let mut buffer = [0u8; 2048];
    let data = &data[..data.len().min(buffer.len())];
    let frame = &mut buffer[..data.len()];
    frame.copy_from_slice(data);
    if !checksum::fill(frame) {
        assert_eq!(frame, data, "fill changed a frame it did not fill");
        return;
    }
    assert!(checksum::verify(frame), "a filled frame does not verify");
    // The IPv4 packet's last byte (total length from byte 16).
    let end = 14 + usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    let last = end - 1;
    let checksum_field = {
        let start = 14 + usize::from(frame[14] & 0x0f) * 4;
        if frame[23] == 6 {
            start + 16..start + 18
        } else {
            start + 6..start + 8
        }
    };
    frame[last] ^= 0x01;
    // A UDP checksum flipped to zero would mean "none".
    let udp_none = frame[23] == 17 && frame[checksum_field.clone()] == [0, 0];
    if !udp_none {
        assert!(!checksum::verify(frame), "a changed frame still verifies");
    }
}

/// Fuzz body `link_frames` (module docs).
pub fn link_frames(data: &[u8]) {
    // Learnt only from a packet about this host, from its subnet.
    const OWN: ([u8; 4], u8) = ([10, 0, 2, 15], 24);
    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    if let Some(neighbor) = frame::arp_neighbor(data, OWN, MAC) {
        assert_eq!(frame::arp_sender(data), Some(neighbor), "a neighbour that is not the sender");
        assert_eq!(&data[38..42], &OWN.0[..], "learnt from a packet about another host");
        assert!(data[..6] == MAC || data[..6] == [0xff; 6], "learnt from a frame for another MAC");
        assert_eq!(neighbor.0[..3], OWN.0[..3], "a neighbour outside the subnet");
    }
    if let Some((address, mac)) = frame::arp_sender(data) {
        assert_eq!(data[12..14], [0x08, 0x06], "a sender found outside ARP");
        assert_eq!((&data[22..28], &data[28..32]), (&mac[..], &address[..]), "not the packet's sender");
        assert!(address != [0; 4] && mac[0] & 1 == 0, "a sender no host can be");
    }
    // Steered as `netd` steers what comes: to a socket on the port the
    // datagram names, at the address it is for (a /24).
    let mut bytes = [0u8; 2048];
    let bytes_len = bytes.len();
    let mut steering = Steering::<1, 2>::new();
    steering.queues[0] = Datagrams::new(&mut bytes);
    if let Some(datagram) = frame::udp_datagram(data) {
        steering.own = Some((datagram.to.0, 24));
        steering.mac = [data[0], data[1], data[2], data[3], data[4], data[5]];
        steering.open(0, datagram.to.1);
        let steered = steering.steer(data);
        assert_eq!(steered, datagram.to.1 != 0, "a datagram for an open port not steered");
        // Longer than the queue's 2 KiB: taken and dropped, counted.
        let payload = &data[datagram.payload.clone()];
        // A wrong checksum, or a sender that is this host or a broadcast:
        // taken, dropped.
        let forged = frame::addressed_to(datagram.from.0, (datagram.to.0, 24));
        if steered && (!checksum::verify(data) || forged) {
            assert!(
                steering.queues[0].is_empty() && steering.overflowed == 0,
                "a datagram with a wrong checksum or a forged sender queued"
            );
        } else if steered && payload.len() <= bytes_len {
            assert_eq!(steering.queues[0].first(), Some((datagram.from, payload)));
        } else if steered {
            assert_eq!((steering.queues[0].len(), steering.overflowed), (0, 1));
        }
    } else {
        steering.own = Some(([10, 0, 2, 15], 24));
        steering.open(0, 7);
        assert!(!steering.steer(data), "a frame that is no datagram steered");
    }
    if let Some(datagram) = frame::udp_datagram(data) {
        let payload = &data[datagram.payload.clone()];
        assert!(datagram.payload.start >= UDP_PAYLOAD_AT);
        assert!(datagram.from.0 != [0; 4] && datagram.from.0 != [255; 4] && datagram.from.0[0] >> 4 != 0xe);
        // Written again with its addresses and payload, it reads back the same.
        let mut copy = [0u8; UDP_PAYLOAD_AT + MAX_UDP_PAYLOAD];
        let headers = UdpHeaders {
            source_mac: [2; 6],
            destination_mac: [4; 6],
            source: datagram.from,
            destination: datagram.to,
            identification: 0,
        };
        // (IP options are not written again: `copy` has room for the
        // datagrams `write_udp` takes.)
        let fits = payload.len() <= MAX_UDP_PAYLOAD;
        if fits {
            copy[UDP_PAYLOAD_AT..UDP_PAYLOAD_AT + payload.len()].copy_from_slice(payload);
        }
        if let Some(end) = frame::write_udp(&mut copy, &headers, payload.len()).filter(|_| fits) {
            let again = frame::udp_datagram(&copy[..end]).expect("a written datagram reads back");
            assert_eq!((again.from, again.to, &copy[again.payload]), (datagram.from, datagram.to, payload));
        }
    }
    // Headers from the first 28 bytes, a length from the next two, the
    // payload from the rest (cut or padded with zeros).
    let byte = |at: usize| data.get(at).copied().unwrap_or(0);
    let array = |from: usize| -> [u8; 6] { core::array::from_fn(|index| byte(from + index)) };
    let word = |at: usize| u16::from_be_bytes([byte(at), byte(at + 1)]);
    let headers = UdpHeaders {
        source_mac: array(0),
        destination_mac: array(6),
        source: ([byte(12), byte(13), byte(14), byte(15)], word(16)),
        destination: ([byte(18), byte(19), byte(20), byte(21)], word(22)),
        identification: word(24),
    };
    let len = usize::from(word(26)) % (MAX_UDP_PAYLOAD + 64);
    let mut buffer = [0u8; UDP_PAYLOAD_AT + MAX_UDP_PAYLOAD];
    for (at, slot) in buffer[UDP_PAYLOAD_AT..].iter_mut().enumerate().take(len) {
        *slot = byte(28 + at);
    }
    let Some(end) = frame::write_udp(&mut buffer, &headers, len) else {
        assert!(len > MAX_UDP_PAYLOAD, "a payload of {len} bytes refused");
        return;
    };
    let written = &buffer[..end];
    assert_eq!(end, UDP_PAYLOAD_AT + len);
    assert_eq!(usize::from(u16::from_be_bytes([written[16], written[17]])), end - 14, "IPv4 total length");
    assert_eq!(usize::from(u16::from_be_bytes([written[38], written[39]])), len + 8, "UDP length");
    assert_eq!(checksum::finish(checksum::sum(&written[14..34])), 0, "IPv4 header checksum");
    assert!(checksum::verify(written), "UDP checksum");
    assert!(frame::arp_sender(written).is_none(), "a datagram read as ARP");
    let source = headers.source.0;
    if source != [0; 4] && source != [255; 4] && source[0] >> 4 != 0xe {
        let read = frame::udp_datagram(written).expect("a written datagram reads back");
        assert_eq!((read.from, read.to, read.payload), (headers.source, headers.destination, UDP_PAYLOAD_AT..end));
    } else {
        assert_eq!(frame::udp_datagram(written), None, "a datagram from no single host");
    }
}
