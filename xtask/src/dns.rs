//! A small DNS server on host loopback that answers the device's queries for the names `--resolve` gives.
//!
//! `cargo xtask qemu --resolve NAME=ADDRESS` (and QEMU tests, through
//! [`start_dns`]) runs one in a thread on a free UDP port of 127.0.0.1; the
//! guest reaches it as `10.0.2.2:PORT` (slirp maps the gateway to the host's
//! loopback) and learns the port from the boot argument
//! `net.dns=10.0.2.2:PORT` ([`DnsServer::boot_argument`]).
//!
//! What it answers (RFC 1035 messages over UDP):
//! - a standard query (opcode 0) with one question, type A, class IN, for a
//!   configured name (exact match, ASCII case-insensitive): the address, one
//!   A record with a TTL of 60 s, authoritative;
//! - any other well-formed query (another name, type, class or opcode, or
//!   not exactly one question): an empty answer with rcode 5, REFUSED, so
//!   the device's network server asks QEMU's resolver instead;
//! - a malformed message (truncated, a bad label or compression pointer, a
//!   name over 255 bytes) or a response: no reply at all.
//!
//! The question goes back as the query spelled it (case kept, compression
//! expanded); EDNS and the other sections of a query are ignored. The
//! server stops when its [`DnsServer`] is dropped: its loop wakes up at
//! least every [`POLL`] to look at a stop flag.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::Result;

/// How long the server waits for a datagram before it looks at its stop flag.
pub const POLL: Duration = Duration::from_millis(100);
/// The time to live of every answer, in seconds.
pub const TTL: u32 = 60;
/// The guest's address for the host's loopback on QEMU's user network.
pub const GUEST_HOST_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// The header's size.
const HEADER: usize = 12;
/// The longest encoded name (RFC 1035 2.3.4), length octets included.
const MAX_NAME: usize = 255;
/// The longest label.
const MAX_LABEL: usize = 63;
/// The longest name as text, without a trailing dot.
const MAX_NAME_TEXT: usize = 253;
/// Record type A (an IPv4 address) and class IN.
const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
/// Response codes.
const NO_ERROR: u8 = 0;
const REFUSED: u8 = 5;
/// Header flag bits (in the 16-bit flags word).
const FLAG_RESPONSE: u16 = 0x8000;
const FLAG_AUTHORITATIVE: u16 = 0x0400;
const FLAG_RECURSION_DESIRED: u16 = 0x0100;
const OPCODE_MASK: u16 = 0x7800;
/// A name's first two bits: `00` a label, `11` a compression pointer.
const POINTER: u8 = 0xc0;
/// The largest datagram read; longer ones are cut, then parsed as far as they go.
const DATAGRAM: usize = 1500;

/// One configured name: its labels in lower case, and its address.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    labels: Vec<String>,
    address: Ipv4Addr,
}

/// `text` as a DNS name in lower case, without a trailing dot, if it is one:
/// labels of 1 to 63 letters, digits, hyphens and underscores that neither
/// start nor end with a hyphen, at most 253 characters in all.
pub fn dns_name(text: &str) -> Result<String> {
    let name = text.strip_suffix('.').unwrap_or(text);
    let bad = |why: &str| format!("`{text}` is not a DNS name: {why}");
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > MAX_NAME_TEXT {
        return Err(bad(&format!("it is longer than {MAX_NAME_TEXT} characters")));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(bad("it has an empty label (two dots in a row, or a leading dot)"));
        }
        if label.len() > MAX_LABEL {
            return Err(bad(&format!("the label `{label}` is longer than {MAX_LABEL} characters")));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(bad(&format!("`{c}` is not a letter, digit, hyphen or underscore")));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad(&format!("the label `{label}` starts or ends with a hyphen")));
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// One `--resolve NAME=ADDRESS`: the name (checked, in lower case) and an IPv4 literal.
pub fn parse_resolve(text: &str) -> Result<(String, Ipv4Addr)> {
    let Some((name, address)) = text.split_once('=') else {
        return Err(format!("`{text}` is not NAME=ADDRESS (e.g. example.test=10.0.2.2)"));
    };
    let name = dns_name(name.trim())?;
    let address = address
        .trim()
        .parse::<Ipv4Addr>()
        .map_err(|_| format!("`{address}` in `{text}` is not an IPv4 address (e.g. 10.0.2.2)"))?;
    Ok((name, address))
}

/// Checks `names` (each a DNS name, none twice, in any case) and turns them into entries.
fn entries(names: &[(String, Ipv4Addr)]) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = Vec::with_capacity(names.len());
    for (name, address) in names {
        let name = dns_name(name)?;
        let labels: Vec<String> = name.split('.').map(str::to_string).collect();
        if let Some(earlier) = entries.iter().find(|entry| entry.labels == labels) {
            return Err(format!(
                "--resolve gives `{name}` twice (-> {} and -> {address}); give each name once",
                earlier.address
            ));
        }
        entries.push(Entry { labels, address: *address });
    }
    Ok(entries)
}

/// Checks `names` as [`start_dns`] would, without starting anything.
pub fn check_names(names: &[(String, Ipv4Addr)]) -> Result<()> {
    entries(names).map(drop)
}

/// A question: the name's labels as the query spelled them, its type and class.
#[derive(Debug, PartialEq, Eq)]
struct Question {
    labels: Vec<Vec<u8>>,
    kind: u16,
    class: u16,
}

fn read_u16(packet: &[u8], at: usize) -> Option<u16> {
    let bytes = packet.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Reads the name at `start` in `packet`, following compression pointers.
/// Returns its labels and where the bytes after the name start, or `None`
/// if it is truncated, uses a reserved label type, is longer than 255
/// bytes, or has a pointer that does not point before the last place it
/// jumped to (which rules out loops).
fn read_name(packet: &[u8], start: usize) -> Option<(Vec<Vec<u8>>, usize)> {
    let mut labels = Vec::new();
    let mut at = start;
    // Where the bytes after the name start: set at the first pointer.
    let mut end = None;
    // Every pointer must point before this; it shrinks at each jump.
    let mut limit = start;
    // The encoded length so far: each label's length octet and bytes, and the final zero.
    let mut length = 1;
    loop {
        let first = *packet.get(at)?;
        if first == 0 {
            return Some((labels, end.unwrap_or(at + 1)));
        }
        match first & POINTER {
            0 => {
                let size = usize::from(first);
                let label = packet.get(at + 1..at + 1 + size)?;
                length += 1 + size;
                if length > MAX_NAME {
                    return None;
                }
                labels.push(label.to_vec());
                at += 1 + size;
            }
            POINTER => {
                let target = usize::from(read_u16(packet, at)? & 0x3fff);
                if target >= limit {
                    return None;
                }
                end.get_or_insert(at + 2);
                limit = target;
                at = target;
            }
            // 01 and 10: extended and reserved label types (RFC 6891 retired the one use).
            _ => return None,
        }
    }
}

/// The query's ID, flags and question count, and its first question, if
/// it is a query and well-formed as far as this server reads it. A
/// question is read only if there is exactly one.
fn read_query(packet: &[u8]) -> Option<(u16, u16, Option<Question>)> {
    if packet.len() < HEADER {
        return None;
    }
    let id = read_u16(packet, 0)?;
    let flags = read_u16(packet, 2)?;
    let questions = read_u16(packet, 4)?;
    if flags & FLAG_RESPONSE != 0 {
        return None;
    }
    if questions != 1 {
        return Some((id, flags, None));
    }
    let (labels, after) = read_name(packet, HEADER)?;
    let kind = read_u16(packet, after)?;
    let class = read_u16(packet, after + 2)?;
    Some((id, flags, Some(Question { labels, kind, class })))
}

/// The address `entries` give for `question`, if it asks for one.
fn lookup(entries: &[Entry], flags: u16, question: &Question) -> Option<Ipv4Addr> {
    if flags & OPCODE_MASK != 0 || question.kind != TYPE_A || question.class != CLASS_IN {
        return None;
    }
    entries
        .iter()
        .find(|entry| {
            entry.labels.len() == question.labels.len()
                && entry
                    .labels
                    .iter()
                    .zip(&question.labels)
                    .all(|(want, got)| want.as_bytes().eq_ignore_ascii_case(got))
        })
        .map(|entry| entry.address)
}

/// The reply to the datagram `packet`, or `None` if it gets none
/// (malformed, or not a query). See the module documentation.
fn reply(entries: &[Entry], packet: &[u8]) -> Option<Vec<u8>> {
    let (id, flags, question) = read_query(packet)?;
    let address = question.as_ref().and_then(|question| lookup(entries, flags, question));
    let code = if address.is_some() { NO_ERROR } else { REFUSED };
    let mut flags = FLAG_RESPONSE | (flags & (OPCODE_MASK | FLAG_RECURSION_DESIRED)) | u16::from(code);
    if address.is_some() {
        flags |= FLAG_AUTHORITATIVE;
    }
    let mut out = Vec::with_capacity(HEADER + MAX_NAME + 4 + 16);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&u16::from(question.is_some()).to_be_bytes());
    out.extend_from_slice(&u16::from(address.is_some()).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    if let Some(question) = &question {
        for label in &question.labels {
            // read_name kept every label at or under 63 bytes.
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        out.push(0);
        out.extend_from_slice(&question.kind.to_be_bytes());
        out.extend_from_slice(&question.class.to_be_bytes());
    }
    if let Some(address) = address {
        // The owner name: a pointer to the question's name, right after the header.
        out.extend_from_slice(&[POINTER, HEADER as u8]);
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&address.octets());
    }
    Some(out)
}

/// A running DNS server; dropping it stops the server and waits for its thread.
pub struct DnsServer {
    port: u16,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    thread: Option<JoinHandle<()>>,
}

/// How many queries the server answered and refused.
#[derive(Default)]
struct Counts {
    answered: AtomicUsize,
    refused: AtomicUsize,
    /// The names of the well-formed queries, in lower case, in order.
    asked: std::sync::Mutex<Vec<String>>,
}

impl DnsServer {
    /// The UDP port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The boot argument that points the device at it: `net.dns=10.0.2.2:PORT`.
    pub fn boot_argument(&self) -> String {
        format!("net.dns={GUEST_HOST_ADDRESS}:{}", self.port)
    }

    /// How many queries it has answered with an address so far.
    pub fn answered(&self) -> usize {
        self.counts.answered.load(Ordering::Relaxed)
    }

    /// How many well-formed queries it has refused so far.
    pub fn refused(&self) -> usize {
        self.counts.refused.load(Ordering::Relaxed)
    }

    /// The names it was asked for so far (lower case, one per well-formed
    /// query with one question), in order.
    pub fn asked(&self) -> Vec<String> {
        self.counts.asked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a DNS server on a free UDP port of 127.0.0.1 that answers A
/// queries for `names` (DNS names, matched without regard to ASCII case)
/// with their addresses and refuses everything else. Fails if a name is not
/// a DNS name or comes twice, or if no socket can be had.
pub fn start_dns(names: &[(String, Ipv4Addr)]) -> Result<DnsServer> {
    let entries = entries(names)?;
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|err| format!("cannot open a UDP socket on 127.0.0.1 for the DNS server: {err}"))?;
    socket.set_read_timeout(Some(POLL)).map_err(|err| format!("cannot set the DNS socket's read timeout: {err}"))?;
    let port = socket.local_addr().map_err(|err| format!("cannot read the DNS socket's port: {err}"))?.port();
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let thread = thread::Builder::new()
        .name("dns".to_string())
        .spawn({
            let stop = Arc::clone(&stop);
            let counts = Arc::clone(&counts);
            move || serve(&socket, &entries, &stop, &counts)
        })
        .map_err(|err| format!("cannot start the DNS server's thread: {err}"))?;
    Ok(DnsServer { port, stop, counts, thread: Some(thread) })
}

/// The server's loop: one datagram at a time until `stop` is set.
fn serve(socket: &UdpSocket, entries: &[Entry], stop: &AtomicBool, counts: &Counts) {
    let mut buffer = [0u8; DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        let (size, from): (usize, SocketAddr) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(_) => {
                // Nothing to do about it but not spin.
                thread::sleep(POLL);
                continue;
            }
        };
        let Some(answer) = reply(entries, &buffer[..size]) else {
            continue;
        };
        if let Some((_, _, Some(question))) = read_query(&buffer[..size]) {
            let name: Vec<String> =
                question.labels.iter().map(|label| String::from_utf8_lossy(label).to_ascii_lowercase()).collect();
            counts.asked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(name.join("."));
        }
        let counter = if answer[3] & 0x0f == NO_ERROR { &counts.answered } else { &counts.refused };
        counter.fetch_add(1, Ordering::Relaxed);
        // A client that went away is its own problem.
        let _ = socket.send_to(&answer, from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<(String, Ipv4Addr)> {
        vec![("example.test".to_string(), Ipv4Addr::new(10, 0, 2, 2)), ("host".to_string(), Ipv4Addr::new(1, 2, 3, 4))]
    }

    fn table() -> Vec<Entry> {
        entries(&names()).unwrap()
    }

    /// A query as a stub resolver sends it: ID 0x1234, recursion desired,
    /// one question for `name` of `kind`, class IN.
    fn query(name: &[&[u8]], kind: u16) -> Vec<u8> {
        let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name {
            packet.push(label.len() as u8);
            packet.extend_from_slice(label);
        }
        packet.push(0);
        packet.extend_from_slice(&kind.to_be_bytes());
        packet.extend_from_slice(&[0, 1]);
        packet
    }

    #[test]
    fn names_are_checked_and_lowered() {
        assert_eq!(dns_name("Example.TEST").unwrap(), "example.test");
        assert_eq!(dns_name("example.test.").unwrap(), "example.test");
        assert_eq!(dns_name("localhost").unwrap(), "localhost");
        assert_eq!(dns_name("_srv.a-b.c9").unwrap(), "_srv.a-b.c9");
        assert!(dns_name(&format!("{}.test", "a".repeat(63))).is_ok());
        for bad in ["", ".", "a..b", ".a", "-a.test", "a-.test", "a b.test", "exämple.test", "a/b", "a:80"] {
            assert!(dns_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(dns_name(&format!("{}.test", "a".repeat(64))).unwrap_err().contains("longer than 63"));
        let long = ["abcdefghi"; 26].join(".");
        assert_eq!(long.len(), 259);
        assert!(dns_name(&long).unwrap_err().contains("longer than 253"));
    }

    #[test]
    fn resolve_arguments() {
        assert_eq!(
            parse_resolve("Example.test=10.0.2.2").unwrap(),
            ("example.test".to_string(), Ipv4Addr::new(10, 0, 2, 2))
        );
        assert!(parse_resolve("example.test").unwrap_err().contains("NAME=ADDRESS"));
        assert!(parse_resolve("example.test=").unwrap_err().contains("not an IPv4 address"));
        assert!(parse_resolve("example.test=::1").unwrap_err().contains("not an IPv4 address"));
        assert!(parse_resolve("example.test=10.0.2").unwrap_err().contains("not an IPv4 address"));
        assert!(parse_resolve("=10.0.2.2").unwrap_err().contains("not a DNS name"));
        assert!(parse_resolve("10.0.2.2:80=10.0.2.2").unwrap_err().contains("not a DNS name"));
    }

    #[test]
    fn a_name_given_twice_is_refused() {
        let twice = [("a.test".to_string(), Ipv4Addr::LOCALHOST), ("A.Test.".to_string(), Ipv4Addr::LOCALHOST)];
        let err = check_names(&twice).unwrap_err();
        assert!(err.contains("`a.test` twice"), "{err}");
        assert!(start_dns(&twice).is_err());
        assert!(check_names(&names()).is_ok());
        assert!(check_names(&[]).is_ok());
    }

    #[test]
    fn answers_a_configured_name() {
        let answer = reply(&table(), &query(&[b"example", b"test"], TYPE_A)).unwrap();
        #[rustfmt::skip]
        let expected = [
            0x12, 0x34, // ID
            0x85, 0x00, // response, authoritative, recursion desired; NOERROR
            0, 1, 0, 1, 0, 0, 0, 0, // one question, one answer
            7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't', 0,
            0, 1, 0, 1, // A, IN
            0xc0, 12, // the question's name
            0, 1, 0, 1, // A, IN
            0, 0, 0, 60, // TTL
            0, 4, 10, 0, 2, 2,
        ];
        assert_eq!(answer, expected);
    }

    #[test]
    fn matches_without_regard_to_case_and_keeps_the_query_spelling() {
        let answer = reply(&table(), &query(&[b"ExAmPlE", b"TEST"], TYPE_A)).unwrap();
        assert_eq!(&answer[12..26], b"\x07ExAmPlE\x04TEST\x00");
        assert_eq!(&answer[answer.len() - 4..], [10, 0, 2, 2]);
        let answer = reply(&table(), &query(&[b"HOST"], TYPE_A)).unwrap();
        assert_eq!(&answer[answer.len() - 4..], [1, 2, 3, 4]);
    }

    /// The REFUSED reply to `query`: the header and the question, no answer.
    fn refused(query: &[u8]) -> Vec<u8> {
        let mut expected = query.to_vec();
        expected[2] = 0x81; // response, recursion desired
        expected[3] = REFUSED;
        expected
    }

    #[test]
    fn refuses_other_names_types_and_classes() {
        for query in [
            query(&[b"other", b"test"], TYPE_A),
            query(&[b"www", b"example", b"test"], TYPE_A),
            query(&[b"test"], TYPE_A),
            query(&[b"example"], TYPE_A),
            query(&[b"example", b"test"], 28),  // AAAA
            query(&[b"example", b"test"], 255), // ANY
            query(&[b"exampl\xc5", b"test"], TYPE_A),
            query(&[], TYPE_A), // the root
        ] {
            assert_eq!(reply(&table(), &query).unwrap(), refused(&query));
        }
        // A label holding a dot is one label, not two.
        let packet = query(&[b"example.test"], TYPE_A);
        assert_eq!(reply(&table(), &packet).unwrap(), refused(&packet));
        // Class CH.
        let mut packet = query(&[b"example", b"test"], TYPE_A);
        let last = packet.len() - 1;
        packet[last] = 3;
        assert_eq!(reply(&table(), &packet).unwrap(), refused(&packet));
        // Opcode 2 (STATUS): refused, the opcode kept.
        let mut packet = query(&[b"example", b"test"], TYPE_A);
        packet[2] |= 0x10;
        let mut expected = refused(&packet);
        expected[2] = 0x91;
        assert_eq!(reply(&table(), &packet).unwrap(), expected);
    }

    #[test]
    fn refuses_anything_but_one_question() {
        let mut packet = query(&[b"example", b"test"], TYPE_A);
        for count in [0, 2] {
            packet[5] = count;
            let answer = reply(&table(), &packet).unwrap();
            assert_eq!(answer, [0x12, 0x34, 0x81, REFUSED, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
    }

    #[test]
    fn ignores_the_other_sections_of_a_query() {
        // An EDNS OPT record in the additional section, as many resolvers send.
        let mut packet = query(&[b"example", b"test"], TYPE_A);
        packet[11] = 1;
        packet.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        let answer = reply(&table(), &packet).unwrap();
        assert_eq!(answer, reply(&table(), &query(&[b"example", b"test"], TYPE_A)).unwrap());
    }

    #[test]
    fn ignores_truncated_queries() {
        let whole = query(&[b"example", b"test"], TYPE_A);
        for end in 0..whole.len() {
            assert_eq!(reply(&table(), &whole[..end]), None, "cut at {end}");
        }
        // A label longer than what is left.
        let mut packet = whole[..HEADER].to_vec();
        packet.extend_from_slice(&[20, b'a', b'b', 0, 0, 1, 0, 1]);
        assert_eq!(reply(&table(), &packet), None);
    }

    #[test]
    fn ignores_responses_and_reserved_label_types() {
        let mut response = query(&[b"example", b"test"], TYPE_A);
        response[2] |= 0x80;
        assert_eq!(reply(&table(), &response), None);
        for kind in [0x40, 0x80] {
            let mut packet = query(&[b"example", b"test"], TYPE_A);
            packet[HEADER] = kind | 7;
            assert_eq!(reply(&table(), &packet), None);
        }
    }

    #[test]
    fn ignores_names_over_255_bytes() {
        // Four 63-byte labels take 257 bytes encoded, with the final zero.
        let label = [b'a'; 63];
        let packet = query(&[&label, &label, &label, &label], TYPE_A);
        assert_eq!(reply(&table(), &packet), None);
        // Three and a 61-byte label are 255: read, and refused.
        let packet = query(&[&label, &label, &label, &label[..61]], TYPE_A);
        assert_eq!(reply(&table(), &packet).unwrap(), refused(&packet));
    }

    #[test]
    fn reads_compressed_names() {
        // "example.test" at 12, then "www" and a pointer to it at 26.
        let mut packet = vec![0; HEADER];
        packet.extend_from_slice(b"\x07example\x04test\x00");
        packet.extend_from_slice(b"\x03www\xc0\x0c");
        packet.extend_from_slice(b"\xc0\x1a"); // a pointer to "www..." at 32
        let expected: Vec<Vec<u8>> = vec![b"www".to_vec(), b"example".to_vec(), b"test".to_vec()];
        assert_eq!(read_name(&packet, 26), Some((expected.clone(), 32)));
        assert_eq!(read_name(&packet, 32), Some((expected, 34)));
        assert_eq!(read_name(&packet, 12), Some((vec![b"example".to_vec(), b"test".to_vec()], 26)));
        // Cut inside the pointer.
        assert_eq!(read_name(&packet[..33], 32), None);
    }

    #[test]
    fn refuses_pointers_that_could_loop() {
        // A pointer to itself, to a later byte, and to one past the end.
        let mut packet = vec![0; HEADER];
        packet.extend_from_slice(b"\xc0\x0c\xc0\x10\x00\xc0\xff");
        assert_eq!(read_name(&packet, 12), None);
        assert_eq!(read_name(&packet, 14), None);
        assert_eq!(read_name(&packet, 17), None);
        // "a" then a pointer back to the "a": it points before itself, but
        // to where this name's reading began, so it would go round forever.
        let mut packet = vec![0; HEADER];
        packet.extend_from_slice(b"\x00\x01a\xc0\x0d");
        assert_eq!(read_name(&packet, 13), None);
        // Two pointers that take turns: the one at 17 points to the "a" at
        // 13, after which the one at 15 points forward again, to 16.
        let mut packet = vec![0; HEADER];
        packet.extend_from_slice(b"\x00\x01a\xc0\x10\xc0\x0d");
        assert_eq!(read_name(&packet, 17), None);
    }

    #[test]
    fn answers_a_query_whose_question_is_compressed() {
        // The question's name points into the header, at QDCOUNT's high
        // byte, a zero: the root. Refused, the name written out in full.
        let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend_from_slice(&[0xc0, 4, 0, 1, 0, 1]);
        let answer = reply(&table(), &packet).unwrap();
        assert_eq!(answer, [0x12, 0x34, 0x81, REFUSED, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
        // A pointer to the ID, 0x01 'x', followed by the flags' zero high
        // byte: the name `x`, not configured.
        let mut packet = vec![0x01, b'x', 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend_from_slice(&[0xc0, 0, 0, 1, 0, 1]);
        let answer = reply(&table(), &packet).unwrap();
        assert_eq!(answer, [0x01, b'x', 0x80, REFUSED, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'x', 0, 0, 1, 0, 1]);
        // A pointer to itself.
        let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(reply(&table(), &packet), None);
    }

    #[test]
    fn never_panics_on_garbage() {
        // Every short byte string of a few shapes, and pseudo-random ones.
        let table = table();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for round in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let size = (state % 64) as usize;
            let mut packet: Vec<u8> = (0..size).map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8).collect();
            if round % 2 == 0 && packet.len() > 5 {
                // Mostly queries with one question, to reach the name reader.
                packet[2] &= 0x7f;
                packet[4] = 0;
                packet[5] = 1;
            }
            let _ = reply(&table, &packet);
        }
    }

    #[test]
    fn the_server_answers_over_udp_and_stops_when_dropped() {
        let server = start_dns(&names()).unwrap();
        assert_ne!(server.port(), 0);
        assert_eq!(server.boot_argument(), format!("net.dns=10.0.2.2:{}", server.port()));
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        client.connect((Ipv4Addr::LOCALHOST, server.port())).unwrap();
        let mut buffer = [0u8; 512];

        // Garbage gets no reply; the server carries on.
        client.send(&[0xff; 5]).unwrap();
        client.send(&query(&[b"Example", b"Test"], TYPE_A)).unwrap();
        let size = client.recv(&mut buffer).unwrap();
        let answer = &buffer[..size];
        assert_eq!(&answer[..4], [0x12, 0x34, 0x85, 0x00]);
        assert_eq!(read_u16(answer, 6), Some(1), "one answer");
        let (name, after) = read_name(answer, HEADER).unwrap();
        assert_eq!(name, [b"Example".to_vec(), b"Test".to_vec()]);
        // The answer record: its name, type, class, TTL and the address.
        let (owner, record) = read_name(answer, after + 4).unwrap();
        assert_eq!(owner, name);
        assert_eq!(read_u16(answer, record), Some(TYPE_A));
        assert_eq!(answer.get(record + 4..record + 8), Some(&TTL.to_be_bytes()[..]));
        assert_eq!(answer.get(record + 10..), Some(&[10, 0, 2, 2][..]));

        let other = query(&[b"other", b"test"], TYPE_A);
        client.send(&other).unwrap();
        let size = client.recv(&mut buffer).unwrap();
        assert_eq!(buffer[..size], refused(&other));
        assert_eq!((server.answered(), server.refused()), (1, 1));
        assert_eq!(server.asked(), ["example.test", "other.test"]);

        let port = server.port();
        drop(server);
        // The socket is closed: its port can be bound again.
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
