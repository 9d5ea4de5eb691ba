//! The DNS client's wire codec: the query `netd` sends to ask a server for
//! a host name's IPv4 addresses ([`encode_query`]), and the reading of the
//! server's answer ([`decode_response`], fuzzed by
//! [`fuzzing::dns_response_decoding`](crate::fuzzing::dns_response_decoding)).
//! Sockets, timers, retries and the choice of server are `netd`'s; this
//! module only turns names into bytes and bytes into addresses. The answer
//! comes from the network, so every byte of it is untrusted.
//!
//! # Messages
//!
//! A query and its response (RFC 1035, section 4) share one layout: a
//! header, then the sections whose record counts it gives.
//!
//! ```text
//! offset  bytes  field (big-endian)
//! 0       2      ID: chosen by the client, repeated by the server
//! 2       2      flags: QR (bit 15: 0 query, 1 response), opcode (bits 14 to
//!                11: 0 is a standard query), AA (10), TC (9: truncated),
//!                RD (8: recursion desired), RA (7), Z (6 to 4), RCODE
//!                (3 to 0: 0 no error, 2 server failure, 3 no such name,
//!                5 refused, ...)
//! 4       2      QDCOUNT: questions
//! 6       2      ANCOUNT: answer records
//! 8       2      NSCOUNT: authority records (not read)
//! 10      2      ARCOUNT: additional records (not read)
//! 12             the questions: name, type (2 bytes), class (2 bytes)
//!                the records:   owner name, type (2), class (2), TTL (4,
//!                               seconds), RDLENGTH (2), RDATA (RDLENGTH)
//! ```
//!
//! [`encode_query`] writes ID, RD set, QDCOUNT 1, the other counts 0, and
//! one question: the name, type A (1), class IN (1). It is at most
//! [`MAX_QUERY_BYTES`] long.
//!
//! # Names
//!
//! A name is a run of labels, each a length byte then that many bytes,
//! ended by a zero byte: `example.test` is `07 example 04 test 00`. The
//! top two bits of a length byte give its kind: `00` a label of 0 to 63
//! bytes, `11` a **compression pointer**: with the next byte, a 14-bit
//! offset from the start of the message where the rest of the name is
//! read. The kinds `01` and `10` are not accepted. A name is at most 255
//! bytes in wire form (length bytes, labels and the zero byte, not
//! counting pointers).
//!
//! A pointer must go to an offset past the header and below the start of
//! the bytes the name is being read from (where the name starts, or where
//! the previous pointer went). Each pointer so goes below every byte read
//! before it, and reading a name always ends; a pointer forward, to
//! itself, or into a loop is refused. Real servers only point back to
//! names written earlier, which this always allows. At most
//! `MAX_POINTERS` (127) pointers are followed in one name, so its reading
//! is short as well as finite.
//!
//! Names are compared label by label, ASCII letters ignoring case, and
//! other bytes exactly. Host names given to this module are in
//! presentation form (`example.test`, one trailing dot allowed) and must
//! pass [`is_valid_name`].
//!
//! # Reading a response
//!
//! [`decode_response`] checks, in this order, and answers the first
//! failure:
//!
//! 1. the header is there (12 bytes), else [`DnsError::Malformed`];
//! 2. it answers this query: QR set, the query's ID, opcode 0, QDCOUNT 1
//!    (and the name asked for is valid), else [`DnsError::NotOurs`];
//! 3. the question is well formed, else `Malformed`, and is the query's
//!    (the name, type A, class IN), else `NotOurs`;
//! 4. TC is clear, else [`DnsError::Truncated`];
//! 5. RCODE is 0, else [`DnsError::NoSuchName`] for 3 and
//!    [`DnsError::ServerFailed`] for any other;
//! 6. every one of the ANCOUNT answer records is well formed (inside the
//!    message, its names readable, an A record of class IN with 4 bytes
//!    of RDATA, a CNAME record of class IN whose RDATA is exactly one
//!    name), else `Malformed`;
//! 7. at least one address is usable, else [`DnsError::NoAddress`].
//!
//! The addresses are those of the A records (class IN) owned by the
//! question's name or by a name a chain of CNAME records (class IN) leads
//! to from it, at most [`MAX_CNAME_HOPS`] of them, found anywhere in the
//! answer section in any order. Other records are skipped; the authority
//! and additional sections are not read, nor is anything after the
//! answer section. An address no TCP connection can go to (0.0.0.0,
//! 255.255.255.255, multicast) is skipped; an address seen before is not
//! repeated; at most [`MAX_ADDRESSES`] are kept, in the order of the
//! records.

use core::fmt;

use crate::protocol::is_connectable;

/// Longest host name in presentation form without a trailing dot.
pub const MAX_NAME_BYTES: usize = 253;
/// Most addresses one answer gives.
pub const MAX_ADDRESSES: usize = 4;
/// Bytes of a message's header.
pub const HEADER_BYTES: usize = 12;
/// Longest name in wire form: length bytes, labels and the zero byte.
pub const MAX_WIRE_NAME_BYTES: usize = MAX_NAME_BYTES + 2;
/// Longest query [`encode_query`] writes (271): the header, the longest
/// name in wire form, then its type and class.
pub const MAX_QUERY_BYTES: usize = HEADER_BYTES + MAX_WIRE_NAME_BYTES + 4;
/// The DNS server port.
pub const PORT: u16 = 53;
/// Most CNAME records followed from the question's name to the name
/// that owns the addresses.
pub const MAX_CNAME_HOPS: usize = 8;
/// Longest TTL an [`Answer`] reports, in seconds (one day).
pub const MAX_TTL: u32 = 86_400;

/// Longest label.
const MAX_LABEL_BYTES: usize = 63;
/// Most compression pointers followed in one name: as many as the labels
/// of the longest name, so each label may be reached through its own.
const MAX_POINTERS: usize = 127;

/// Record and question type A (an IPv4 address).
const TYPE_A: u16 = 1;
/// Record type CNAME (the owner is an alias of the name in its RDATA).
const TYPE_CNAME: u16 = 5;
/// Class IN (the Internet).
const CLASS_IN: u16 = 1;

/// Header flag: a response.
const FLAG_QR: u16 = 1 << 15;
/// Header field: the opcode.
const FLAG_OPCODE: u16 = 0xf << 11;
/// Header flag: the message was truncated.
const FLAG_TC: u16 = 1 << 9;
/// Header flag: recursion desired.
const FLAG_RD: u16 = 1 << 8;
/// Header field: the response code.
const FLAG_RCODE: u16 = 0xf;
/// Response code: the name does not exist.
const RCODE_NXDOMAIN: u8 = 3;

/// Why bytes are not a usable answer to a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Not the response to this query: not a response (QR clear), another
    /// ID, an opcode other than QUERY, or another question (the name
    /// compared ignoring ASCII case, type A, class IN). The caller ignores
    /// it and keeps waiting.
    NotOurs,
    /// The server says the name does not exist (RCODE 3).
    NoSuchName,
    /// The server refused or failed, with this RCODE (5 refused, 2 server
    /// failure, or any other nonzero code but 3): the caller may ask
    /// another server.
    ServerFailed(u8),
    /// The answer was truncated (TC set); this client does not retry over
    /// TCP.
    Truncated,
    /// The name exists but has no usable IPv4 address (no error, and no A
    /// record reached).
    NoAddress,
    /// Bytes that are not a well-formed DNS message: too short, a count
    /// running past the end, a label kind other than `00` or `11`, a
    /// compression pointer that does not go backwards (module docs), a
    /// name over 255 bytes in wire form, an A record whose RDLENGTH is not
    /// 4, a CNAME record whose RDATA is not one name.
    Malformed,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NotOurs => f.write_str("not the response to this query"),
            DnsError::NoSuchName => f.write_str("no such name"),
            DnsError::ServerFailed(code) => write!(f, "server failed (response code {code})"),
            DnsError::Truncated => f.write_str("truncated response"),
            DnsError::NoAddress => f.write_str("no ipv4 address"),
            DnsError::Malformed => f.write_str("malformed dns message"),
        }
    }
}

/// `name` without one trailing dot.
fn without_root(name: &[u8]) -> &[u8] {
    name.strip_suffix(b".").unwrap_or(name)
}

/// The labels of `name` in presentation form (one trailing dot ignored).
fn presentation_labels(name: &[u8]) -> impl Iterator<Item = Result<&[u8], DnsError>> {
    without_root(name).split(|&byte| byte == b'.').map(Ok)
}

/// Whether `label` may be one of a host name's labels.
fn is_valid_label(label: &[u8]) -> bool {
    (1..=MAX_LABEL_BYTES).contains(&label.len())
        && label.iter().all(|&byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        && label.first() != Some(&b'-')
        && label.last() != Some(&b'-')
}

/// Whether `name` is a host name this client asks for: 1 to
/// [`MAX_NAME_BYTES`] bytes (one trailing dot allowed and not counted),
/// dot-separated labels of 1 to 63 bytes each, made of ASCII letters,
/// digits, `-` and `_`, no label starting or ending with `-`. It does not
/// tell IPv4 literals apart (`10.0.2.2` is a valid name); callers check
/// for those first.
pub fn is_valid_name(name: &[u8]) -> bool {
    let name = without_root(name);
    (1..=MAX_NAME_BYTES).contains(&name.len()) && name.split(|&byte| byte == b'.').all(is_valid_label)
}

/// Whether two host names are equal ignoring ASCII case and one trailing
/// dot on either.
pub fn names_equal(a: &[u8], b: &[u8]) -> bool {
    without_root(a).eq_ignore_ascii_case(without_root(b))
}

/// Writes a standard query into `out`: ID `id`, RD set, one question
/// (`name`, type A, class IN; module docs). Returns its length, at most
/// [`MAX_QUERY_BYTES`], or `None` if `name` is not valid
/// ([`is_valid_name`]) or `out` is too small. The name is sent as given,
/// letter case included, without its trailing dot.
pub fn encode_query(id: u16, name: &[u8], out: &mut [u8]) -> Option<usize> {
    if !is_valid_name(name) {
        return None;
    }
    let name = without_root(name);
    // n labels with n - 1 dots between them take name.len() + 1 bytes in
    // wire form; then the zero byte, the type and the class.
    let size = HEADER_BYTES + name.len() + 1 + 5;
    let out = out.get_mut(..size)?;
    let [id_high, id_low] = id.to_be_bytes();
    let [flags_high, flags_low] = FLAG_RD.to_be_bytes();
    out[..HEADER_BYTES].copy_from_slice(&[id_high, id_low, flags_high, flags_low, 0, 1, 0, 0, 0, 0, 0, 0]);
    let mut at = HEADER_BYTES;
    for label in name.split(|&byte| byte == b'.') {
        // A valid label is at most 63 bytes.
        out[at] = label.len() as u8;
        out[at + 1..at + 1 + label.len()].copy_from_slice(label);
        at += 1 + label.len();
    }
    out[at..].copy_from_slice(&[0, 0, TYPE_A as u8, 0, CLASS_IN as u8]);
    Some(size)
}

/// The IPv4 addresses a response gives for the name asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    addresses: [[u8; 4]; MAX_ADDRESSES],
    count: usize,
    ttl: u32,
}

impl Answer {
    /// The addresses: 1 to [`MAX_ADDRESSES`], in the order of the
    /// response's records, none twice, each one a TCP connection can go
    /// to.
    pub fn addresses(&self) -> &[[u8; 4]] {
        &self.addresses[..self.count]
    }

    /// How long the addresses may be kept, in seconds: the smallest TTL of
    /// the CNAME records followed and of the A records whose addresses
    /// this holds (an address given twice counts both), at most
    /// [`MAX_TTL`]. A TTL with its top bit set counts as 0 (RFC 2181,
    /// section 8).
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
}

/// A record's TTL as this client keeps it (see [`Answer::ttl`]).
fn kept_ttl(raw: u32) -> u32 {
    if raw > i32::MAX as u32 {
        0
    } else {
        raw.min(MAX_TTL)
    }
}

/// The labels of the name at offset `at` of `message`, read through
/// compression pointers (module docs). It ends after the last label, or
/// after the first `Err`, and then knows where the name ends in place.
struct Labels<'a> {
    message: &'a [u8],
    /// Where the next length byte or pointer is.
    at: usize,
    /// Where the bytes being read start: the name's start, or the last
    /// pointer's target. A pointer must go below it.
    run_start: usize,
    /// Bytes of the name in wire form so far, its zero byte included.
    wire_bytes: usize,
    /// Pointers followed so far.
    pointers: usize,
    /// The offset just past the name where it starts: past its zero byte,
    /// or past its first pointer. Known once that is read.
    end: Option<usize>,
    /// No more labels: the zero byte was read, or an error returned.
    done: bool,
}

impl<'a> Labels<'a> {
    fn new(message: &'a [u8], at: usize) -> Labels<'a> {
        Labels { message, at, run_start: at, wire_bytes: 1, pointers: 0, end: None, done: false }
    }

    fn malformed(&mut self) -> Option<Result<&'a [u8], DnsError>> {
        self.done = true;
        Some(Err(DnsError::Malformed))
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = Result<&'a [u8], DnsError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn reads a label (and returns), the zero byte (and ends)
        // or a pointer; at most MAX_POINTERS pointers, so this ends.
        while !self.done {
            let Some(&first) = self.message.get(self.at) else { return self.malformed() };
            match first >> 6 {
                0b00 if first == 0 => {
                    self.done = true;
                    self.end.get_or_insert(self.at + 1);
                }
                0b00 => {
                    let start = self.at + 1;
                    let len = usize::from(first);
                    self.wire_bytes += 1 + len;
                    if self.wire_bytes > MAX_WIRE_NAME_BYTES {
                        return self.malformed();
                    }
                    let Some(label) = self.message.get(start..start + len) else { return self.malformed() };
                    self.at = start + len;
                    return Some(Ok(label));
                }
                0b11 => {
                    let Some(&low) = self.message.get(self.at + 1) else { return self.malformed() };
                    let target = usize::from(first & 0x3f) << 8 | usize::from(low);
                    self.pointers += 1;
                    if target < HEADER_BYTES || target >= self.run_start || self.pointers > MAX_POINTERS {
                        return self.malformed();
                    }
                    self.end.get_or_insert(self.at + 2);
                    self.at = target;
                    self.run_start = target;
                }
                _ => return self.malformed(),
            }
        }
        None
    }
}

/// Reads the name at offset `at` of `message` to its end; returns the
/// offset just past it in place.
fn name_end(message: &[u8], at: usize) -> Result<usize, DnsError> {
    let mut labels = Labels::new(message, at);
    for label in labels.by_ref() {
        label?;
    }
    labels.end.ok_or(DnsError::Malformed)
}

/// Whether two runs of labels are the same name: as many labels, each
/// equal ignoring ASCII case. A name that cannot be read is equal to
/// nothing.
fn same_labels<'a, 'b>(
    mut a: impl Iterator<Item = Result<&'a [u8], DnsError>>,
    mut b: impl Iterator<Item = Result<&'b [u8], DnsError>>,
) -> bool {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(Ok(x)), Some(Ok(y))) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

/// Whether the names at offsets `a` and `b` of `message` are the same.
fn same_name(message: &[u8], a: usize, b: usize) -> bool {
    same_labels(Labels::new(message, a), Labels::new(message, b))
}

/// One resource record, by offsets into its message.
#[derive(Clone, Copy)]
struct Record {
    /// Where its owner name starts.
    owner: usize,
    kind: u16,
    class: u16,
    ttl: u32,
    /// Where its RDATA starts and ends.
    data: usize,
    data_end: usize,
}

/// Reads the record at offset `at` of `message` (module docs, rule 6);
/// returns it and the offset just past it.
fn read_record(message: &[u8], at: usize) -> Result<(Record, usize), DnsError> {
    let fixed_at = name_end(message, at)?;
    let Some(&[type_high, type_low, class_high, class_low, t0, t1, t2, t3, len_high, len_low]) =
        message.get(fixed_at..fixed_at + 10)
    else {
        return Err(DnsError::Malformed);
    };
    let data = fixed_at + 10;
    let data_end = data + usize::from(u16::from_be_bytes([len_high, len_low]));
    if data_end > message.len() {
        return Err(DnsError::Malformed);
    }
    let record = Record {
        owner: at,
        kind: u16::from_be_bytes([type_high, type_low]),
        class: u16::from_be_bytes([class_high, class_low]),
        ttl: u32::from_be_bytes([t0, t1, t2, t3]),
        data,
        data_end,
    };
    if record.class == CLASS_IN {
        let well_formed = match record.kind {
            TYPE_A => data_end - data == 4,
            TYPE_CNAME => name_end(message, data)? == data_end,
            _ => true,
        };
        if !well_formed {
            return Err(DnsError::Malformed);
        }
    }
    Ok((record, data_end))
}

/// The records of a section: `left` more of them from offset `at`. It
/// ends after the last, or after the first `Err`.
#[derive(Clone)]
struct Records<'a> {
    message: &'a [u8],
    at: usize,
    left: u16,
}

impl Iterator for Records<'_> {
    type Item = Result<Record, DnsError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        match read_record(self.message, self.at) {
            Ok((record, next)) => {
                self.at = next;
                Some(Ok(record))
            }
            Err(error) => {
                self.left = 0;
                Some(Err(error))
            }
        }
    }
}

/// Reads `packet` as the response to the query `encode_query(id, name,
/// ..)` wrote (module docs: the checks, in order, and which addresses
/// count). Never panics; its work is bounded by the packet's length.
pub fn decode_response(packet: &[u8], id: u16, name: &[u8]) -> Result<Answer, DnsError> {
    let Some(&[id_high, id_low, flags_high, flags_low, qd_high, qd_low, an_high, an_low, ..]) =
        packet.get(..HEADER_BYTES)
    else {
        return Err(DnsError::Malformed);
    };
    let flags = u16::from_be_bytes([flags_high, flags_low]);
    if !is_valid_name(name)
        || u16::from_be_bytes([id_high, id_low]) != id
        || flags & FLAG_QR == 0
        || flags & FLAG_OPCODE != 0
        || u16::from_be_bytes([qd_high, qd_low]) != 1
    {
        return Err(DnsError::NotOurs);
    }

    let question_end = name_end(packet, HEADER_BYTES)?;
    let type_and_class = packet.get(question_end..question_end + 4).ok_or(DnsError::Malformed)?;
    if type_and_class != [0, TYPE_A as u8, 0, CLASS_IN as u8]
        || !same_labels(Labels::new(packet, HEADER_BYTES), presentation_labels(name))
    {
        return Err(DnsError::NotOurs);
    }
    if flags & FLAG_TC != 0 {
        return Err(DnsError::Truncated);
    }
    match (flags & FLAG_RCODE) as u8 {
        0 => {}
        RCODE_NXDOMAIN => return Err(DnsError::NoSuchName),
        code => return Err(DnsError::ServerFailed(code)),
    }

    let answers = Records { message: packet, at: question_end + 4, left: u16::from_be_bytes([an_high, an_low]) };
    // Every answer record is read once first, so a malformed one is an
    // error wherever it is; the walks below then meet none.
    for record in answers.clone() {
        record?;
    }
    let records = || answers.clone().filter_map(Result::ok);

    // The names that own the addresses: the question's (at offset 12),
    // then each CNAME's target in turn, stopping at a name seen before.
    let mut chain = [HEADER_BYTES; MAX_CNAME_HOPS + 1];
    let mut links = 1;
    let mut ttl = MAX_TTL;
    while links < chain.len() {
        let tail = chain[links - 1];
        let alias = records().find(|record| {
            record.kind == TYPE_CNAME && record.class == CLASS_IN && same_name(packet, record.owner, tail)
        });
        let Some(alias) = alias else { break };
        if chain[..links].iter().any(|&known| same_name(packet, known, alias.data)) {
            break;
        }
        chain[links] = alias.data;
        links += 1;
        ttl = ttl.min(kept_ttl(alias.ttl));
    }

    let mut answer = Answer { addresses: [[0; 4]; MAX_ADDRESSES], count: 0, ttl };
    for record in records() {
        if record.kind != TYPE_A
            || record.class != CLASS_IN
            || !chain[..links].iter().any(|&owner| same_name(packet, owner, record.owner))
        {
            continue;
        }
        let Some(&[a, b, c, d]) = packet.get(record.data..record.data_end) else { continue };
        let address = [a, b, c, d];
        if !is_connectable(address) {
            continue;
        }
        if !answer.addresses().contains(&address) {
            if answer.count == MAX_ADDRESSES {
                continue;
            }
            answer.addresses[answer.count] = address;
            answer.count += 1;
        }
        answer.ttl = answer.ttl.min(kept_ttl(record.ttl));
    }
    if answer.count == 0 {
        return Err(DnsError::NoAddress);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    const ID: u16 = 0x1234;
    const NAME: &[u8] = b"example.test";
    /// A pointer to the question's name.
    const QUESTION: &[u8] = &[0xc0, 12];
    /// A pointer to `test`, the question name's last label.
    const TEST: &[u8] = &[0xc0, 20];
    /// A standard response: QR, RD and RA set, RCODE 0.
    const RESPONSE: u16 = 0x8180;

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

    /// A record: `owner` (wire bytes, maybe a pointer), type, class, TTL
    /// and RDATA.
    fn record(owner: &[u8], kind: u16, class: u16, ttl: u32, data: &[u8]) -> Vec<u8> {
        let mut out = owner.to_vec();
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    fn a(owner: &[u8], ttl: u32, address: [u8; 4]) -> Vec<u8> {
        record(owner, TYPE_A, CLASS_IN, ttl, &address)
    }

    fn cname(owner: &[u8], ttl: u32, target: &[u8]) -> Vec<u8> {
        record(owner, TYPE_CNAME, CLASS_IN, ttl, target)
    }

    /// A message: header (`id`, `flags`, one question, the answers
    /// counted), the question `question` type A class IN, the answers.
    fn message(id: u16, flags: u16, question: &str, answers: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend(wire(question));
        out.extend_from_slice(&[0, 1, 0, 1]);
        for answer in answers {
            out.extend_from_slice(answer);
        }
        out
    }

    /// The response to the query for `example.test` with ID 0x1234.
    fn response(answers: &[Vec<u8>]) -> Vec<u8> {
        message(ID, RESPONSE, "example.test", answers)
    }

    fn decode(packet: &[u8]) -> Result<Answer, DnsError> {
        decode_response(packet, ID, NAME)
    }

    fn addresses(packet: &[u8]) -> Result<(Vec<[u8; 4]>, u32), DnsError> {
        decode(packet).map(|answer| (answer.addresses().to_vec(), answer.ttl()))
    }

    #[test]
    fn queries_are_byte_exact() {
        let mut out = [0xaa; MAX_QUERY_BYTES];
        let size = encode_query(0xbeef, b"Example.test.", &mut out).unwrap();
        let expected: &[u8] = &[
            0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // header: RD, one question
            7, b'E', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't', 0, // the name, as given
            0x00, 0x01, 0x00, 0x01, // type A, class IN
        ];
        assert_eq!(&out[..size], expected);
        assert_eq!(out[size], 0xaa, "wrote past the query");
        assert_eq!(encode_query(0xbeef, b"Example.test.", &mut out[..size - 1]), None);
        assert_eq!(encode_query(0xbeef, b"Example.test.", &mut out[..size]), Some(size));
        assert_eq!(encode_query(1, b"a..b", &mut out), None);
        assert_eq!(encode_query(1, b"", &mut out), None);
        // The longest name makes the longest query.
        let label = [b'a'; 63];
        let longest = [&label[..], &label[..], &label[..], &label[..61]].join(&b'.');
        assert_eq!(longest.len(), MAX_NAME_BYTES);
        assert_eq!(MAX_QUERY_BYTES, 271);
        assert_eq!(encode_query(7, &longest, &mut out), Some(MAX_QUERY_BYTES));
        // A query is not its own response.
        assert_eq!(decode_response(&out, 7, &longest), Err(DnsError::NotOurs));
        out[2] |= 0x80;
        assert_eq!(decode_response(&out, 7, &longest), Err(DnsError::NoAddress));
    }

    #[test]
    fn one_address() {
        let packet = response(&[a(QUESTION, 300, [10, 0, 2, 2])]);
        assert_eq!(addresses(&packet), Ok((std::vec![[10, 0, 2, 2]], 300)));
        // The owner written out in full, and the name asked for with a
        // trailing dot or in other letter case, are the same name.
        let packet = response(&[a(&wire("EXAMPLE.test"), 60, [192, 0, 2, 1])]);
        assert_eq!(addresses(&packet), Ok((std::vec![[192, 0, 2, 1]], 60)));
        for name in [&b"example.test."[..], b"Example.TEST", b"EXAMPLE.TEST."] {
            assert_eq!(decode_response(&packet, ID, name).map(|answer| answer.ttl()), Ok(60), "{name:?}");
        }
    }

    #[test]
    fn several_addresses_are_kept_in_order_without_repeats() {
        let packet = response(&[
            a(QUESTION, 300, [10, 0, 0, 1]),
            a(QUESTION, 200, [10, 0, 0, 2]),
            a(QUESTION, 100, [10, 0, 0, 1]),
            a(QUESTION, 400, [10, 0, 0, 3]),
            a(QUESTION, 500, [10, 0, 0, 4]),
            a(QUESTION, 5, [10, 0, 0, 5]),
        ]);
        // The fifth address is dropped with its TTL; the repeat of the
        // first counts.
        let four = std::vec![[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3], [10, 0, 0, 4]];
        assert_eq!(addresses(&packet), Ok((four, 100)));
    }

    #[test]
    fn unusable_addresses_are_skipped() {
        let unusable = [[0, 0, 0, 0], [255, 255, 255, 255], [224, 0, 0, 1], [239, 255, 255, 255]];
        let records: Vec<Vec<u8>> = unusable.iter().map(|&address| a(QUESTION, 1, address)).collect();
        assert_eq!(decode(&response(&records)), Err(DnsError::NoAddress));
        let mut records = records;
        records.push(a(QUESTION, 50, [240, 0, 0, 1]));
        assert_eq!(addresses(&response(&records)), Ok((std::vec![[240, 0, 0, 1]], 50)));
    }

    #[test]
    fn cname_chains_are_followed_in_any_order() {
        // example.test -> www.test -> edge.test, which has the address.
        let www = [&[3, b'w', b'w', b'w'][..], TEST].concat();
        let edge = wire("edge.test");
        let to_www = cname(QUESTION, 600, &www);
        let to_edge = cname(&wire("WWW.test"), 120, &edge);
        let address = a(&edge, 900, [203, 0, 113, 7]);
        let expected = Ok((std::vec![[203, 0, 113, 7]], 120));
        assert_eq!(addresses(&response(&[to_www.clone(), to_edge.clone(), address.clone()])), expected);
        assert_eq!(addresses(&response(&[address.clone(), to_edge.clone(), to_www.clone()])), expected);
        assert_eq!(addresses(&response(&[to_edge.clone(), address.clone(), to_www.clone()])), expected);
        // Without its first link the chain does not start.
        assert_eq!(decode(&response(&[to_edge, address])), Err(DnsError::NoAddress));
        // A record of another class, or another type, is not a link.
        let chaos = record(QUESTION, TYPE_CNAME, 3, 1, &wire("edge.test"));
        let other = record(QUESTION, 39, CLASS_IN, 1, &wire("edge.test"));
        let address = a(&wire("edge.test"), 1, [203, 0, 113, 7]);
        assert_eq!(decode(&response(&[chaos, other, address])), Err(DnsError::NoAddress));
    }

    #[test]
    fn cname_chains_are_bounded() {
        // example.test -> n1.test -> ... -> n<hops>.test, which has the
        // address.
        let chain = |hops: usize| {
            let mut records = std::vec![a(&wire(&std::format!("n{hops}.test")), 1, [10, 1, 1, 1])];
            records.push(cname(QUESTION, 1, &wire("n1.test")));
            for hop in 1..hops {
                let (from, to) = (std::format!("n{hop}.test"), std::format!("n{}.test", hop + 1));
                records.push(cname(&wire(&from), 1, &wire(&to)));
            }
            response(&records)
        };
        assert_eq!(addresses(&chain(1)), Ok((std::vec![[10, 1, 1, 1]], 1)));
        assert_eq!(addresses(&chain(MAX_CNAME_HOPS)), Ok((std::vec![[10, 1, 1, 1]], 1)));
        assert_eq!(decode(&chain(MAX_CNAME_HOPS + 1)), Err(DnsError::NoAddress));
        // A loop ends too.
        let looped = response(&[
            cname(QUESTION, 1, &wire("b.test")),
            cname(&wire("b.test"), 1, &wire("EXAMPLE.test")),
            a(&wire("c.test"), 1, [10, 1, 1, 1]),
        ]);
        assert_eq!(decode(&looped), Err(DnsError::NoAddress));
    }

    #[test]
    fn addresses_of_other_names_are_ignored() {
        let packet = response(&[a(&wire("example.other"), 1, [10, 0, 0, 1]), a(TEST, 1, [10, 0, 0, 2])]);
        assert_eq!(decode(&packet), Err(DnsError::NoAddress));
        assert_eq!(decode(&response(&[])), Err(DnsError::NoAddress));
        // Other types and classes are skipped, whatever their RDATA.
        let packet = response(&[
            record(QUESTION, 28, CLASS_IN, 1, &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            record(QUESTION, TYPE_A, 3, 1, &[1, 2, 3, 4, 5]),
            a(QUESTION, 1, [10, 0, 0, 3]),
        ]);
        assert_eq!(addresses(&packet), Ok((std::vec![[10, 0, 0, 3]], 1)));
    }

    #[test]
    fn server_errors() {
        let answer = a(QUESTION, 1, [10, 0, 0, 1]);
        let with = |flags: u16| decode(&message(ID, flags, "example.test", core::slice::from_ref(&answer)));
        assert_eq!(with(0x8183), Err(DnsError::NoSuchName));
        assert_eq!(with(0x8185), Err(DnsError::ServerFailed(5)));
        assert_eq!(with(0x8182), Err(DnsError::ServerFailed(2)));
        assert_eq!(with(0x8184), Err(DnsError::ServerFailed(4)));
        assert_eq!(with(0x818f), Err(DnsError::ServerFailed(15)));
        // Truncation comes before the response code.
        assert_eq!(with(0x8380), Err(DnsError::Truncated));
        assert_eq!(with(0x8383), Err(DnsError::Truncated));
        // Bits this client does not look at.
        assert!(with(0x8000).is_ok());
        assert!(with(0x84f0).is_ok());
    }

    #[test]
    fn responses_to_other_queries_are_not_ours() {
        let answer = a(QUESTION, 1, [10, 0, 0, 1]);
        let packet = response(core::slice::from_ref(&answer));
        assert!(decode(&packet).is_ok());
        assert_eq!(decode_response(&packet, ID + 1, NAME), Err(DnsError::NotOurs));
        assert_eq!(decode_response(&packet, ID, b"example.other"), Err(DnsError::NotOurs));
        assert_eq!(decode_response(&packet, ID, b"www.example.test"), Err(DnsError::NotOurs));
        assert_eq!(decode_response(&packet, ID, b"test"), Err(DnsError::NotOurs));
        assert_eq!(decode_response(&packet, ID, b"example..test"), Err(DnsError::NotOurs));
        let with = |flags: u16, question: &str| decode(&message(ID, flags, question, core::slice::from_ref(&answer)));
        assert_eq!(with(0x0180, "example.test"), Err(DnsError::NotOurs), "a query");
        assert_eq!(with(0x8980, "example.test"), Err(DnsError::NotOurs), "opcode 1");
        assert_eq!(with(RESPONSE, "example.tes"), Err(DnsError::NotOurs));
        assert_eq!(with(RESPONSE, "example.test.x"), Err(DnsError::NotOurs));
        assert_eq!(with(RESPONSE, "examplf.test"), Err(DnsError::NotOurs));
        // Another question count, type or class.
        for (at, value) in [(5, 0), (5, 2), (4, 1), (27, 28), (29, 3)] {
            let mut other = packet.clone();
            other[at] = value;
            assert_eq!(decode(&other), Err(DnsError::NotOurs), "byte {at} = {value}");
        }
        // One not ours is so even when it is truncated or an error.
        let mut other = message(ID ^ 1, 0x8383, "example.test", &[]);
        assert_eq!(decode(&other), Err(DnsError::NotOurs));
        other[1] ^= 1;
        assert_eq!(decode(&other), Err(DnsError::Truncated));
    }

    #[test]
    fn the_question_is_matched_ignoring_case() {
        let packet = message(ID, RESPONSE, "eXaMpLe.TEST", &[a(QUESTION, 1, [10, 0, 0, 1])]);
        assert!(decode(&packet).is_ok());
        assert!(decode_response(&packet, ID, b"EXAMPLE.test.").is_ok());
        // A label with a dot in it is not two labels.
        let mut packet = message(ID, RESPONSE, "example.test", &[a(QUESTION, 1, [10, 0, 0, 1])]);
        packet.splice(12..26, [12, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b't', b'e', b's', b't', 0]);
        assert_eq!(decode(&packet), Err(DnsError::NotOurs));
    }

    #[test]
    fn compressed_names_are_read() {
        // The owner is "www" then a pointer to the question's "test"; the
        // A record's owner points at the CNAME's RDATA.
        let www = [&[3, b'w', b'w', b'w'][..], TEST].concat();
        let mut packet = response(&[cname(QUESTION, 30, &www)]);
        let target_at = packet.len() - www.len();
        packet[7] = 2;
        packet.extend(a(&[0xc0, target_at as u8], 40, [10, 0, 0, 9]));
        assert_eq!(addresses(&packet), Ok((std::vec![[10, 0, 0, 9]], 30)));
        // A pointer to a pointer to the question.
        let mut packet = response(&[a(QUESTION, 1, [10, 0, 0, 1])]);
        packet[7] = 2;
        let first_at = 30;
        packet.extend(a(&[0xc0, first_at as u8], 1, [10, 0, 0, 2]));
        assert_eq!(addresses(&packet), Ok((std::vec![[10, 0, 0, 1], [10, 0, 0, 2]], 1)));
    }

    #[test]
    fn pointers_must_go_backwards() {
        let answer_at = 30;
        let with_owner = |owner: &[u8]| decode(&response(&[a(owner, 1, [10, 0, 0, 1])]));
        // To itself, forward, into the header, past the end.
        assert_eq!(with_owner(&[0xc0, answer_at]), Err(DnsError::Malformed));
        assert_eq!(with_owner(&[0xc0, answer_at + 2]), Err(DnsError::Malformed));
        assert_eq!(with_owner(&[0xc0, 4]), Err(DnsError::Malformed));
        assert_eq!(with_owner(&[0xff, 0xff]), Err(DnsError::Malformed));
        // A label, then a pointer back to that label: below the pointer,
        // but a loop.
        assert_eq!(with_owner(&[1, b'x', 0xc0, answer_at]), Err(DnsError::Malformed));
        // Two pointers to each other (in a record of a type not read),
        // reached from a later pointer.
        let pair_at = answer_at + 12;
        let pair = record(QUESTION, 16, CLASS_IN, 1, &[0xc0, pair_at + 2, 0xc0, pair_at]);
        let packet = response(&[pair.clone(), a(&[0xc0, pair_at], 1, [10, 0, 0, 1])]);
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        let packet = response(&[pair, a(&[0xc0, pair_at + 2], 1, [10, 0, 0, 1])]);
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        // A pointer in the question.
        let mut packet = response(&[]);
        packet.splice(12..26, [0xc0, 12]);
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        // A loop in a CNAME's RDATA.
        let mut packet = response(&[cname(QUESTION, 1, &[0xc0, 0])]);
        let target_at = packet.len() - 2;
        packet[target_at + 1] = target_at as u8;
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
    }

    #[test]
    fn bad_labels_and_long_names_are_malformed() {
        for kind in [0x40, 0x80] {
            assert_eq!(decode(&response(&[a(&[kind, 0], 1, [10, 0, 0, 1])])), Err(DnsError::Malformed), "{kind}");
        }
        // 4 labels of 63 bytes: 257 bytes in wire form.
        let label = "a".repeat(63);
        let long = [label.as_str(); 4].join(".");
        assert_eq!(decode(&response(&[a(&wire(&long), 1, [10, 0, 0, 1])])), Err(DnsError::Malformed));
        // Also when most of it is behind a pointer: "bb" + 63.63.63.61
        // (255 bytes alone, 258 with "bb").
        let name = [label.as_str(), &label, &label, &"a".repeat(61)].join(".");
        let packet = message(ID, RESPONSE, &name, &[a(QUESTION, 1, [10, 0, 0, 1])]);
        assert_eq!(decode_response(&packet, ID, name.as_bytes()).map(|answer| answer.ttl()), Ok(1));
        let mut packet = packet;
        packet[7] = 2;
        packet.extend(a(&[2, b'b', b'b', 0xc0, 12], 1, [10, 0, 0, 2]));
        assert_eq!(decode_response(&packet, ID, name.as_bytes()), Err(DnsError::Malformed));
        // A question name over 255 bytes.
        let packet = message(ID, RESPONSE, &long, &[]);
        assert_eq!(decode_response(&packet, ID, name.as_bytes()), Err(DnsError::Malformed));
    }

    #[test]
    fn bad_record_lengths_are_malformed() {
        for len in [0, 3, 5, 16] {
            let packet = response(&[record(QUESTION, TYPE_A, CLASS_IN, 1, &std::vec![10; len])]);
            assert_eq!(decode(&packet), Err(DnsError::Malformed), "{len}");
        }
        // A CNAME's RDATA is one name, no more, no less.
        let packet = response(&[cname(QUESTION, 1, &[3, b'w', b'w', b'w', 0xc0, 12, 0])]);
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        let packet = response(&[cname(QUESTION, 1, &[3, b'w', b'w', b'w'])]);
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        // A malformed record after the addresses spoils the answer.
        let packet = response(&[a(QUESTION, 1, [10, 0, 0, 1]), record(QUESTION, TYPE_A, CLASS_IN, 1, &[1, 2])]);
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        // More records counted than there are.
        let mut packet = response(&[a(QUESTION, 1, [10, 0, 0, 1])]);
        packet[7] = 2;
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        packet[6] = 0xff;
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
        // RDLENGTH past the end.
        let mut packet = response(&[record(QUESTION, 16, CLASS_IN, 1, b"text")]);
        let len_at = packet.len() - 6;
        packet[len_at + 1] = 5;
        assert_eq!(decode(&packet), Err(DnsError::Malformed));
    }

    #[test]
    fn what_follows_the_answers_is_not_read() {
        let mut packet = response(&[a(QUESTION, 1, [10, 0, 0, 1])]);
        // Authority and additional counts, and bytes that are no records.
        packet[8] = 0xff;
        packet[11] = 3;
        packet.extend_from_slice(&[0xc0, 0xff, 0x40, 0x00, 0x01]);
        assert_eq!(addresses(&packet), Ok((std::vec![[10, 0, 0, 1]], 1)));
    }

    #[test]
    fn every_cut_of_a_response_is_refused() {
        let www = [&[3, b'w', b'w', b'w'][..], TEST].concat();
        let packet = response(&[
            cname(QUESTION, 20, &www),
            record(QUESTION, 16, CLASS_IN, 1, b"\x04text"),
            a(&wire("www.test"), 10, [10, 0, 0, 1]),
        ]);
        assert_eq!(addresses(&packet), Ok((std::vec![[10, 0, 0, 1]], 10)));
        for len in 0..packet.len() {
            let cut = &packet[..len];
            let result = decode(cut);
            assert!(result.is_err(), "{len}: {result:?}");
            assert_eq!(result, decode(cut));
        }
    }

    #[test]
    fn ttls_are_capped() {
        let ttl = |ttls: &[u32]| {
            let records: Vec<Vec<u8>> =
                ttls.iter().enumerate().map(|(index, &ttl)| a(QUESTION, ttl, [10, 0, 0, index as u8 + 1])).collect();
            decode(&response(&records)).map(|answer| answer.ttl())
        };
        assert_eq!(ttl(&[u32::MAX >> 1]), Ok(MAX_TTL));
        assert_eq!(ttl(&[MAX_TTL + 1, MAX_TTL - 1]), Ok(MAX_TTL - 1));
        assert_eq!(ttl(&[0]), Ok(0));
        // The top bit set reads as 0.
        assert_eq!(ttl(&[1 << 31, 60]), Ok(0));
        assert_eq!(ttl(&[u32::MAX]), Ok(0));
    }

    #[test]
    fn short_packets_are_malformed() {
        let packet = response(&[]);
        for len in 0..HEADER_BYTES {
            assert_eq!(decode(&packet[..len]), Err(DnsError::Malformed), "{len}");
        }
        // Header only, claiming one question.
        assert_eq!(decode(&packet[..HEADER_BYTES]), Err(DnsError::Malformed));
        // An invalid name to ask for: nothing is the answer to it.
        assert_eq!(decode_response(&packet, ID, b""), Err(DnsError::NotOurs));
    }

    #[test]
    fn host_names() {
        let label = "a".repeat(63);
        let longest = [label.as_str(), &label, &label, &"b".repeat(61)].join(".");
        assert_eq!(longest.len(), 253);
        let good = [
            "a",
            "example.test",
            "EXAMPLE.test.",
            "a-b.c_d.e1",
            "_srv.x",
            "1.2.3.4",
            label.as_str(),
            longest.as_str(),
            &std::format!("{longest}."),
        ];
        for name in good {
            assert!(is_valid_name(name.as_bytes()), "{name}");
        }
        let over = std::format!("{label}a");
        let too_long = std::format!("{longest}c");
        let bad = [
            "",
            ".",
            "..",
            "a..b",
            ".a",
            "a.b..",
            "-a",
            "a-",
            "a.-b",
            "a.b-",
            "a b",
            "a/b",
            "é.test",
            "a\0b",
            over.as_str(),
            too_long.as_str(),
        ];
        for name in bad {
            assert!(!is_valid_name(name.as_bytes()), "{name:?}");
        }
        assert_eq!(too_long.len(), 254);
        assert!(!is_valid_name(&[b'a', 0xff]));
    }

    #[test]
    fn host_names_compare_ignoring_case_and_the_trailing_dot() {
        assert!(names_equal(b"example.test", b"EXAMPLE.Test"));
        assert!(names_equal(b"example.test.", b"example.test"));
        assert!(names_equal(b"example.test.", b"Example.Test."));
        assert!(names_equal(b"", b"."));
        assert!(!names_equal(b"example.test", b"example.tes"));
        assert!(!names_equal(b"example.test..", b"example.test"));
        assert!(!names_equal(b"a@", b"a`"));
        assert!(!names_equal(b"www.example.test", b"example.test"));
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(std::format!("{}", DnsError::NoSuchName), "no such name");
        assert!(std::format!("{}", DnsError::ServerFailed(5)).contains('5'));
        for error in [DnsError::NotOurs, DnsError::Truncated, DnsError::NoAddress, DnsError::Malformed] {
            assert!(!std::format!("{error}").is_empty());
        }
    }
}
