//! What `init` tells the network server about an app when it registers it
//! (`REGISTER_APP`): the app's ComponentId and the addresses its manifest's
//! `AllowedConnections` lets it reach, as a **registration record** that
//! `init` writes at the start of the app's transfer window before it
//! hands `netd` the window. `netd` reads it once, in [`Registration::decode`]
//! (fuzzed by [`fuzzing::registration_decoding`](crate::fuzzing::registration_decoding)),
//! and keeps the [`Registration`]; the app cannot change it afterwards (it
//! can write its window, but `netd` never reads the record again).
//!
//! In this slice only **IPv4 literals** are honoured: `AllowedConnections:
//! ["10.0.2.2"]` lets the app connect to 10.0.2.2 and nothing else. Host
//! names are counted, not sent: `netd` has no resolver for apps yet, and a
//! name allows nothing until it does (docs/network.md). A literal no TCP
//! connection can go to (0.0.0.0, 255.255.255.255, multicast) is counted
//! with the names: it allows nothing either.
//!
//! ```text
//! offset  bytes  field (little-endian)
//! 0       4      MAGIC, b"TNRG"
//! 4       2      VERSION (1)
//! 6       2      literal count n (at most MAX_LITERALS)
//! 8       2      host names (and unusable literals) not honoured
//! 10      2      reserved, 0
//! 12      16     the app's ComponentId
//! 28      4 n    the literals, each in network order (10.0.2.2: 0a 00 02 02)
//! ```
//!
//! Literal count plus names is at most `MAX_ALLOWED_CONNECTIONS` (64), as
//! in a manifest; the record is at most [`MAX_RECORD_BYTES`] (284).

use core::fmt;
use core::str::FromStr;

use tessera_abi::manifest::{ComponentId, Manifest, MAX_ALLOWED_CONNECTIONS};

use crate::protocol::is_connectable;

/// The first four bytes of a registration record.
pub const MAGIC: [u8; 4] = *b"TNRG";
/// The record version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes before the literals.
pub const HEADER_BYTES: usize = 28;
/// The most literals one app's record holds (a manifest's most entries).
pub const MAX_LITERALS: usize = MAX_ALLOWED_CONNECTIONS;
/// The longest record.
pub const MAX_RECORD_BYTES: usize = HEADER_BYTES + 4 * MAX_LITERALS;

/// Why bytes are not a registration record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than its header or its literals.
    Truncated,
    /// The magic is wrong.
    NotARecord,
    /// A version this crate does not read.
    Version(u16),
    /// More entries than a manifest may have, or a reserved field not 0.
    Malformed,
    /// A literal no TCP connection can go to.
    Unusable([u8; 4]),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => f.write_str("registration record truncated"),
            RecordError::NotARecord => f.write_str("not a registration record"),
            RecordError::Version(version) => write!(f, "registration record version {version} not understood"),
            RecordError::Malformed => f.write_str("malformed registration record"),
            RecordError::Unusable([a, b, c, d]) => {
                write!(f, "the record allows {a}.{b}.{c}.{d}, which TCP cannot reach")
            }
        }
    }
}

/// The IPv4 address `host` spells (`"10.0.2.2"`: four decimal octets, no
/// leading zeros), if it is one a TCP connection can go to.
pub fn literal(host: &str) -> Option<[u8; 4]> {
    core::net::Ipv4Addr::from_str(host).ok().map(|address| address.octets()).filter(|&address| is_connectable(address))
}

/// An app's network policy as `netd` keeps it (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    component_id: ComponentId,
    literals: [[u8; 4]; MAX_LITERALS],
    literal_count: usize,
    names: usize,
}

impl Registration {
    /// An app `component_id` that may reach nothing.
    pub const fn new(component_id: ComponentId) -> Registration {
        Registration { component_id, literals: [[0; 4]; MAX_LITERALS], literal_count: 0, names: 0 }
    }

    /// The policy of the app with `manifest`: its ComponentId and the
    /// literals of its `AllowedConnections` (names counted).
    pub fn from_manifest(manifest: &Manifest<'_>) -> Registration {
        manifest.allowed_connections().fold(Registration::new(manifest.component_id()), Registration::with_host)
    }

    /// This policy with `host` (an `AllowedConnections` entry) added: a
    /// literal, or one more name not honoured. Entries beyond
    /// `MAX_ALLOWED_CONNECTIONS`, and a literal already listed, are
    /// ignored.
    pub fn with_host(mut self, host: &str) -> Registration {
        if self.literal_count + self.names >= MAX_ALLOWED_CONNECTIONS {
            return self;
        }
        match literal(host) {
            Some(address) if self.allows(address) => {}
            Some(address) => {
                self.literals[self.literal_count] = address;
                self.literal_count += 1;
            }
            None => self.names += 1,
        }
        self
    }

    /// The app's ComponentId.
    pub fn component_id(&self) -> ComponentId {
        self.component_id
    }

    /// The addresses it may connect to.
    pub fn literals(&self) -> &[[u8; 4]] {
        &self.literals[..self.literal_count]
    }

    /// How many of its entries (host names, unusable literals) allow
    /// nothing in this slice.
    pub fn names(&self) -> usize {
        self.names
    }

    /// Whether it may connect to `address`.
    pub fn allows(&self, address: [u8; 4]) -> bool {
        self.literals().contains(&address)
    }

    /// Bytes of its record.
    pub fn record_bytes(&self) -> usize {
        HEADER_BYTES + 4 * self.literal_count
    }

    /// Writes its record into `out`; returns the bytes written, or `None`
    /// if `out` is too small.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let size = self.record_bytes();
        let out = out.get_mut(..size)?;
        out[..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&VERSION.to_le_bytes());
        // Both counts are at most 64.
        out[6..8].copy_from_slice(&(self.literal_count as u16).to_le_bytes());
        out[8..10].copy_from_slice(&(self.names as u16).to_le_bytes());
        out[10..12].copy_from_slice(&[0, 0]);
        out[12..28].copy_from_slice(&self.component_id.0);
        for (chunk, address) in out[HEADER_BYTES..].chunks_exact_mut(4).zip(self.literals()) {
            chunk.copy_from_slice(address);
        }
        Some(size)
    }

    /// Reads a record from the start of `bytes` (bytes after it are
    /// ignored). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Registration, RecordError> {
        let header = bytes.get(..HEADER_BYTES).ok_or(RecordError::Truncated)?;
        if header[..4] != MAGIC {
            return Err(RecordError::NotARecord);
        }
        let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
        let version = u16_at(4);
        if version != VERSION {
            return Err(RecordError::Version(version));
        }
        let (literal_count, names) = (usize::from(u16_at(6)), usize::from(u16_at(8)));
        if u16_at(10) != 0 || literal_count + names > MAX_ALLOWED_CONNECTIONS {
            return Err(RecordError::Malformed);
        }
        let mut component_id = [0; 16];
        component_id.copy_from_slice(&header[12..28]);
        let literals = bytes.get(HEADER_BYTES..HEADER_BYTES + 4 * literal_count).ok_or(RecordError::Truncated)?;
        let mut registration = Registration::new(ComponentId(component_id));
        registration.names = names;
        for chunk in literals.chunks_exact(4) {
            let address = [chunk[0], chunk[1], chunk[2], chunk[3]];
            if !is_connectable(address) {
                return Err(RecordError::Unusable(address));
            }
            registration.literals[registration.literal_count] = address;
            registration.literal_count += 1;
        }
        Ok(registration)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;
    use tessera_abi::manifest::{encode, ManifestContent};

    fn content(hosts: &'static [&'static str]) -> ManifestContent<'static> {
        ManifestContent { allowed_connections: hosts, ..ManifestContent::new("net", ComponentId([7; 16])) }
    }

    fn registration_of(hosts: &'static [&'static str]) -> Registration {
        let mut buffer = [0u8; 4096];
        let size = encode(&content(hosts), &mut buffer).unwrap();
        Registration::from_manifest(&Manifest::decode(&buffer[..size]).unwrap())
    }

    #[test]
    fn literals_are_honoured_and_names_counted() {
        let registration = registration_of(&["10.0.2.2", "192.168.1.20", "example.com"]);
        assert_eq!(registration.component_id(), ComponentId([7; 16]));
        assert_eq!(registration.literals(), [[10, 0, 2, 2], [192, 168, 1, 20]]);
        assert_eq!(registration.names(), 1);
        assert!(registration.allows([10, 0, 2, 2]));
        assert!(!registration.allows([10, 0, 2, 3]));
        // A name allows nothing, not even what it would resolve to.
        let named = registration_of(&["example.com"]);
        assert!(named.literals().is_empty());
        assert_eq!(named.names(), 1);
        assert!(!named.allows([93, 184, 215, 14]));
        assert!(!Registration::new(ComponentId::NIL).allows([0; 4]));
    }

    #[test]
    fn only_plain_dotted_quads_are_literals() {
        assert_eq!(literal("10.0.2.2"), Some([10, 0, 2, 2]));
        assert_eq!(literal("255.255.255.254"), Some([255, 255, 255, 254]));
        for host in
            ["010.0.2.2", "10.0.2", "10.0.2.2.5", "10.0.2.256", "0.0.0.0", "255.255.255.255", "224.0.0.1", "a.b.c.d"]
        {
            assert_eq!(literal(host), None, "{host}");
        }
        let registration = registration_of(&["0.0.0.0", "10.0.2.2", "224.0.0.251"]);
        assert_eq!((registration.literals().len(), registration.names()), (1, 2));
    }

    #[test]
    fn records_round_trip() {
        let registration = registration_of(&["1.2.3.4", "10.0.2.2", "example.com", "example.org"]);
        let mut out = [0u8; MAX_RECORD_BYTES];
        let size = registration.encode(&mut out).unwrap();
        assert_eq!(size, HEADER_BYTES + 8);
        assert_eq!(&out[..12], b"TNRG\x01\x00\x02\x00\x02\x00\x00\x00");
        assert_eq!(&out[28..36], [1, 2, 3, 4, 10, 0, 2, 2]);
        assert_eq!(Registration::decode(&out), Ok(registration));
        assert_eq!(Registration::decode(&out[..size]), Ok(registration));
        assert_eq!(registration.encode(&mut out[..size - 1]), None);
        let empty = Registration::new(ComponentId([1; 16]));
        let size = empty.encode(&mut out).unwrap();
        assert_eq!(Registration::decode(&out[..size]), Ok(empty));
    }

    #[test]
    fn bad_records_are_refused() {
        let registration = registration_of(&["10.0.2.2"]);
        let mut good = [0u8; MAX_RECORD_BYTES];
        let size = registration.encode(&mut good).unwrap();
        assert_eq!(Registration::decode(&good[..size - 1]), Err(RecordError::Truncated));
        assert_eq!(Registration::decode(&good[..10]), Err(RecordError::Truncated));
        let mut bad = good;
        bad[0] = b'X';
        assert_eq!(Registration::decode(&bad), Err(RecordError::NotARecord));
        let mut bad = good;
        bad[4] = 2;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Version(2)));
        let mut bad = good;
        bad[10] = 1;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Malformed));
        let mut bad = good;
        bad[8] = 64;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Malformed));
        let mut bad = good;
        bad[28..32].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(Registration::decode(&bad), Err(RecordError::Unusable([0; 4])));
        assert!(std::format!("{}", RecordError::Unusable([224, 0, 0, 1])).contains("224.0.0.1"));
    }

    #[test]
    fn a_full_manifest_fits() {
        let hosts: Vec<std::string::String> =
            (0..64).map(|index| std::format!("10.0.{}.{}", index / 8, index)).collect();
        let mut registration = Registration::new(ComponentId::NIL);
        for host in &hosts {
            registration = registration.with_host(host);
        }
        assert_eq!(registration.literals().len(), 64);
        // A 65th entry, or a repeated literal, changes nothing.
        assert_eq!(registration.with_host("10.9.9.9"), registration);
        let mut out = [0u8; MAX_RECORD_BYTES];
        assert_eq!(registration.encode(&mut out), Some(MAX_RECORD_BYTES));
        assert_eq!(Registration::decode(&out), Ok(registration));
        let twice = Registration::new(ComponentId::NIL).with_host("10.0.2.2").with_host("10.0.2.2");
        assert_eq!(twice.literals().len(), 1);
    }
}
