//! What `init` tells the network server about an app when it registers it
//! (`REGISTER_APP`): the app's ComponentId and what its manifest's
//! `AllowedConnections` lets it reach, as a **registration record** that
//! `init` writes at the start of the app's transfer window before it
//! hands `netd` the window. `netd` reads it once, in [`Registration::decode`]
//! (fuzzed by [`fuzzing::registration_decoding`](crate::fuzzing::registration_decoding)),
//! and keeps the [`Registration`]; the app cannot change it afterwards (it
//! can write its window, but `netd` never reads the record again).
//!
//! An entry is an **IPv4 literal** (`"10.0.2.2"`: the app may connect
//! there) or a **host name** (`"example.test"`: the app may ask `netd` to
//! resolve it, and may then connect to the addresses `netd` found for it).
//! The record also carries the app's **server ports**
//! (`AllowedTcpServerPorts`, `AllowedUdpServerPorts`: it may listen for
//! TCP, or bind UDP, on those).
//! Names are kept in lower case. An entry that allows nothing is counted
//! as ignored, not sent: a literal no connection can go to (0.0.0.0,
//! 255.255.255.255, multicast), a name DNS cannot ask for, or a name
//! beyond the [`NAME_STORE_BYTES`] an app's names may take in `netd`
//! (about 60 names of 16 bytes; `init` logs how many were ignored).
//!
//! ```text
//! offset  bytes  field (little-endian)
//! 0       4      MAGIC, b"TNRG"
//! 4       2      VERSION (3)
//! 6       2      literal count n (at most MAX_LITERALS)
//! 8       2      name count m
//! 10      2      entries ignored
//! 12      16     the app's ComponentId
//! 28      1      TCP server port count t (at most MAX_SERVER_PORTS, 16)
//! 29      1      UDP server port count u (at most 16)
//! 30      2      reserved, 0
//! 32      4 n    the literals, each in network order (10.0.2.2: 0a 00 02 02)
//! ..      2 t    the TCP server ports, then
//! ..      2 u    the UDP server ports (each 1..=65535, ascending)
//! ..             the m names, each a length byte (1..=253) and that many
//!                bytes (lower case, a valid host name, no trailing dot)
//! ```
//!
//! Literals, names and ignored entries together are at most
//! `MAX_ALLOWED_CONNECTIONS` (64), as in a manifest; the names' bytes at
//! most [`NAME_STORE_BYTES`]; the record at most [`MAX_RECORD_BYTES`].

use core::fmt;
use core::str::FromStr;

use tessera_abi::manifest::{ComponentId, Manifest, MAX_ALLOWED_CONNECTIONS, MAX_SERVER_PORTS};

use crate::dns::{is_valid_name, names_equal, MAX_NAME_BYTES};
use crate::protocol::is_connectable;

/// The first four bytes of a registration record.
pub const MAGIC: [u8; 4] = *b"TNRG";
/// The record version this crate writes and reads.
pub const VERSION: u16 = 3;
/// Bytes before the literals.
pub const HEADER_BYTES: usize = 32;
/// The most literals one app's record holds (a manifest's most entries).
pub const MAX_LITERALS: usize = MAX_ALLOWED_CONNECTIONS;
/// The most bytes one app's names take (without their length bytes).
pub const NAME_STORE_BYTES: usize = 1024;
/// The longest record.
pub const MAX_RECORD_BYTES: usize =
    HEADER_BYTES + 4 * MAX_LITERALS + 2 * 2 * MAX_SERVER_PORTS + MAX_ALLOWED_CONNECTIONS + NAME_STORE_BYTES;

/// Why bytes are not a registration record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than its header, literals or names.
    Truncated,
    /// The magic is wrong.
    NotARecord,
    /// A version this crate does not read.
    Version(u16),
    /// More entries than a manifest may have, names over their store, or a
    /// reserved field not 0.
    Malformed,
    /// A literal no TCP connection can go to.
    Unusable([u8; 4]),
    /// A name that is not a lower-case host name.
    BadName,
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
            RecordError::BadName => f.write_str("the record lists a name that is not a lower-case host name"),
        }
    }
}

/// The IPv4 address `host` spells (`"10.0.2.2"`: four decimal octets, no
/// leading zeros), if it is one a TCP connection can go to.
pub fn literal(host: &str) -> Option<[u8; 4]> {
    core::net::Ipv4Addr::from_str(host).ok().map(|address| address.octets()).filter(|&address| is_connectable(address))
}

/// Whether `host` spells an IPv4 address at all (usable or not).
fn spells_address(host: &str) -> bool {
    core::net::Ipv4Addr::from_str(host).is_ok()
}

/// An app's network policy as `netd` keeps it (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    component_id: ComponentId,
    literals: [[u8; 4]; MAX_LITERALS],
    literal_count: usize,
    /// The names' bytes, one after the other.
    name_bytes: [u8; NAME_STORE_BYTES],
    /// Where each name ends in `name_bytes`.
    name_ends: [u16; MAX_ALLOWED_CONNECTIONS],
    name_count: usize,
    ignored: usize,
    tcp_ports: [u16; MAX_SERVER_PORTS],
    tcp_port_count: usize,
    udp_ports: [u16; MAX_SERVER_PORTS],
    udp_port_count: usize,
}

/// A transport, for server ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP (`AllowedTcpServerPorts`).
    Tcp,
    /// UDP (`AllowedUdpServerPorts`).
    Udp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        })
    }
}

impl Registration {
    /// An app `component_id` that may reach nothing.
    pub const fn new(component_id: ComponentId) -> Registration {
        Registration {
            component_id,
            literals: [[0; 4]; MAX_LITERALS],
            literal_count: 0,
            name_bytes: [0; NAME_STORE_BYTES],
            name_ends: [0; MAX_ALLOWED_CONNECTIONS],
            name_count: 0,
            ignored: 0,
            tcp_ports: [0; MAX_SERVER_PORTS],
            tcp_port_count: 0,
            udp_ports: [0; MAX_SERVER_PORTS],
            udp_port_count: 0,
        }
    }

    /// The policy of the app with `manifest`: its ComponentId and the
    /// literals and names of its `AllowedConnections`.
    pub fn from_manifest(manifest: &Manifest<'_>) -> Registration {
        let registration =
            manifest.allowed_connections().fold(Registration::new(manifest.component_id()), Registration::with_host);
        let registration =
            manifest.tcp_server_ports().fold(registration, |r, port| r.with_server_port(Transport::Tcp, port));
        manifest.udp_server_ports().fold(registration, |r, port| r.with_server_port(Transport::Udp, port))
    }

    /// This policy with server port `port` added for `transport`. Port 0,
    /// a port already listed, and ports beyond `MAX_SERVER_PORTS` change
    /// nothing; the list stays ascending.
    pub fn with_server_port(mut self, transport: Transport, port: u16) -> Registration {
        let (ports, count) = match transport {
            Transport::Tcp => (&mut self.tcp_ports, &mut self.tcp_port_count),
            Transport::Udp => (&mut self.udp_ports, &mut self.udp_port_count),
        };
        if port == 0 || *count >= MAX_SERVER_PORTS || ports[..*count].contains(&port) {
            return self;
        }
        let at = ports[..*count].iter().position(|&listed| listed > port).unwrap_or(*count);
        ports.copy_within(at..*count, at + 1);
        ports[at] = port;
        *count += 1;
        self
    }

    /// Its server ports for `transport`, ascending.
    pub fn server_ports(&self, transport: Transport) -> &[u16] {
        match transport {
            Transport::Tcp => &self.tcp_ports[..self.tcp_port_count],
            Transport::Udp => &self.udp_ports[..self.udp_port_count],
        }
    }

    /// Whether it may listen (TCP) or bind (UDP) on `port`.
    pub fn serves(&self, transport: Transport, port: u16) -> bool {
        self.server_ports(transport).contains(&port)
    }

    fn entries(&self) -> usize {
        self.literal_count + self.name_count + self.ignored
    }

    fn name_store_used(&self) -> usize {
        self.name_count.checked_sub(1).map_or(0, |last| usize::from(self.name_ends[last]))
    }

    /// This policy with `host` (an `AllowedConnections` entry) added: a
    /// literal, a name, or one more entry ignored (module docs). Entries
    /// beyond `MAX_ALLOWED_CONNECTIONS`, and a literal or name already
    /// listed, change nothing.
    pub fn with_host(mut self, host: &str) -> Registration {
        if self.entries() >= MAX_ALLOWED_CONNECTIONS {
            return self;
        }
        if let Some(address) = literal(host) {
            if !self.allows(address) {
                self.literals[self.literal_count] = address;
                self.literal_count += 1;
            }
            return self;
        }
        let name = host.strip_suffix('.').unwrap_or(host).as_bytes();
        if spells_address(host) || !is_valid_name(name) {
            self.ignored += 1;
            return self;
        }
        if self.name_index(name).is_some() {
            return self;
        }
        let start = self.name_store_used();
        let Some(store) = self.name_bytes.get_mut(start..start + name.len()) else {
            self.ignored += 1;
            return self;
        };
        for (to, from) in store.iter_mut().zip(name) {
            *to = from.to_ascii_lowercase();
        }
        // At most NAME_STORE_BYTES (1024): fits.
        self.name_ends[self.name_count] = (start + name.len()) as u16;
        self.name_count += 1;
        self
    }

    /// The app's ComponentId.
    pub fn component_id(&self) -> ComponentId {
        self.component_id
    }

    /// The addresses it may connect to as listed.
    pub fn literals(&self) -> &[[u8; 4]] {
        &self.literals[..self.literal_count]
    }

    /// Its names (lower case), in the order listed.
    pub fn names(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.name_count).filter_map(|index| self.name(index))
    }

    /// How many names it lists.
    pub fn name_count(&self) -> usize {
        self.name_count
    }

    /// Name `index` (0..[`name_count`](Self::name_count)).
    pub fn name(&self, index: usize) -> Option<&[u8]> {
        let end = usize::from(*self.name_ends.get(index)?);
        let start = index.checked_sub(1).map_or(0, |before| usize::from(self.name_ends[before]));
        (index < self.name_count).then(|| &self.name_bytes[start..end])
    }

    /// The index of `name` among its names (ASCII case and one trailing
    /// dot do not matter), if it lists it.
    pub fn name_index(&self, name: &[u8]) -> Option<usize> {
        self.names().position(|listed| names_equal(listed, name))
    }

    /// How many of its manifest's entries allow nothing (module docs).
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// Whether it lists `address` as a literal.
    pub fn allows(&self, address: [u8; 4]) -> bool {
        self.literals().contains(&address)
    }

    /// Bytes of its record.
    pub fn record_bytes(&self) -> usize {
        HEADER_BYTES
            + 4 * self.literal_count
            + 2 * (self.tcp_port_count + self.udp_port_count)
            + self.name_count
            + self.name_store_used()
    }

    /// Writes its record into `out`; returns the bytes written, or `None`
    /// if `out` is too small.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let size = self.record_bytes();
        let out = out.get_mut(..size)?;
        out[..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&VERSION.to_le_bytes());
        // Each count is at most 64.
        out[6..8].copy_from_slice(&(self.literal_count as u16).to_le_bytes());
        out[8..10].copy_from_slice(&(self.name_count as u16).to_le_bytes());
        out[10..12].copy_from_slice(&(self.ignored as u16).to_le_bytes());
        out[12..28].copy_from_slice(&self.component_id.0);
        // Each at most MAX_SERVER_PORTS (16).
        out[28] = self.tcp_port_count as u8;
        out[29] = self.udp_port_count as u8;
        out[30..32].copy_from_slice(&[0, 0]);
        let mut at = HEADER_BYTES;
        for address in self.literals() {
            out[at..at + 4].copy_from_slice(address);
            at += 4;
        }
        for &port in self.server_ports(Transport::Tcp).iter().chain(self.server_ports(Transport::Udp)) {
            out[at..at + 2].copy_from_slice(&port.to_le_bytes());
            at += 2;
        }
        for name in self.names() {
            // At most MAX_NAME_BYTES (253).
            out[at] = name.len() as u8;
            out[at + 1..at + 1 + name.len()].copy_from_slice(name);
            at += 1 + name.len();
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
        let u16_at = |at: usize| usize::from(u16::from_le_bytes([header[at], header[at + 1]]));
        let version = u16_at(4) as u16;
        if version != VERSION {
            return Err(RecordError::Version(version));
        }
        let (literal_count, name_count, ignored) = (u16_at(6), u16_at(8), u16_at(10));
        let (tcp_ports, udp_ports) = (usize::from(header[28]), usize::from(header[29]));
        let too_many = literal_count + name_count + ignored > MAX_ALLOWED_CONNECTIONS
            || tcp_ports > MAX_SERVER_PORTS
            || udp_ports > MAX_SERVER_PORTS;
        if too_many || u16_at(30) != 0 {
            return Err(RecordError::Malformed);
        }
        let mut component_id = [0; 16];
        component_id.copy_from_slice(&header[12..28]);
        let mut registration = Registration::new(ComponentId(component_id));
        registration.ignored = ignored;
        let mut at = HEADER_BYTES;
        for _ in 0..literal_count {
            let chunk = bytes.get(at..at + 4).ok_or(RecordError::Truncated)?;
            let address = [chunk[0], chunk[1], chunk[2], chunk[3]];
            if !is_connectable(address) {
                return Err(RecordError::Unusable(address));
            }
            registration.literals[registration.literal_count] = address;
            registration.literal_count += 1;
            at += 4;
        }
        for (transport, count) in [(Transport::Tcp, tcp_ports), (Transport::Udp, udp_ports)] {
            let mut last = 0;
            for _ in 0..count {
                let pair = bytes.get(at..at + 2).ok_or(RecordError::Truncated)?;
                let port = u16::from_le_bytes([pair[0], pair[1]]);
                // Ascending and not 0: one spelling per policy.
                if port <= last {
                    return Err(RecordError::Malformed);
                }
                registration = registration.with_server_port(transport, port);
                last = port;
                at += 2;
            }
        }
        for _ in 0..name_count {
            let length = usize::from(*bytes.get(at).ok_or(RecordError::Truncated)?);
            let name = bytes.get(at + 1..at + 1 + length).ok_or(RecordError::Truncated)?;
            let canonical = length <= MAX_NAME_BYTES
                && is_valid_name(name)
                && name.last() != Some(&b'.')
                && !name.iter().any(u8::is_ascii_uppercase)
                && core::str::from_utf8(name).is_ok_and(|text| !spells_address(text));
            if !canonical {
                return Err(RecordError::BadName);
            }
            let start = registration.name_store_used();
            let store = registration.name_bytes.get_mut(start..start + length).ok_or(RecordError::Malformed)?;
            store.copy_from_slice(name);
            registration.name_ends[registration.name_count] = (start + length) as u16;
            registration.name_count += 1;
            at += 1 + length;
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
    fn literals_and_names_are_kept() {
        let registration = registration_of(&["10.0.2.2", "192.168.1.20", "example.com"]);
        assert_eq!(registration.component_id(), ComponentId([7; 16]));
        assert_eq!(registration.literals(), [[10, 0, 2, 2], [192, 168, 1, 20]]);
        assert_eq!(registration.name_count(), 1);
        assert_eq!(registration.names().collect::<Vec<_>>(), [&b"example.com"[..]]);
        assert_eq!(registration.name_index(b"EXAMPLE.com."), Some(0));
        assert_eq!(registration.name_index(b"example.org"), None);
        assert_eq!(registration.name(1), None);
        assert!(registration.allows([10, 0, 2, 2]));
        assert!(!registration.allows([10, 0, 2, 3]));
        // A name alone allows no address: netd must resolve it first.
        let named = registration_of(&["example.com"]);
        assert!(named.literals().is_empty());
        assert!(!named.allows([93, 184, 215, 14]));
        assert!(!Registration::new(ComponentId::NIL).allows([0; 4]));
    }

    #[test]
    fn entries_that_allow_nothing_are_counted() {
        // The manifest decoder refuses malformed names; a registration
        // built another way still ignores them.
        let registration = ["0.0.0.0", "10.0.2.2", "224.0.0.251", "-bad.example", "a..b", "10.0.2", "1.2.3.04"]
            .into_iter()
            .fold(Registration::new(ComponentId::NIL), Registration::with_host);
        assert_eq!(registration.literals(), [[10, 0, 2, 2]]);
        // "10.0.2" and "1.2.3.04" are not addresses but valid DNS names.
        assert_eq!((registration.name_count(), registration.ignored()), (2, 4));
        let twice = Registration::new(ComponentId::NIL).with_host("a.test").with_host("A.test.");
        assert_eq!((twice.name_count(), twice.ignored()), (1, 0));
    }

    #[test]
    fn names_beyond_the_store_are_ignored() {
        let long: std::string::String = (0..4).map(|_| "a".repeat(63)).collect::<Vec<_>>().join(".")[..251].into();
        let mut registration = Registration::new(ComponentId::NIL);
        for index in 0..5 {
            registration = registration.with_host(&std::format!("{index}.{long}"));
        }
        // Four of 253 bytes fit in 1024; the fifth does not.
        assert_eq!((registration.name_count(), registration.ignored()), (4, 1));
        let mut out = [0u8; MAX_RECORD_BYTES];
        let size = registration.encode(&mut out).unwrap();
        assert_eq!(Registration::decode(&out[..size]), Ok(registration));
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
        assert_eq!((registration.literals().len(), registration.ignored()), (1, 2));
    }

    #[test]
    fn records_round_trip() {
        let registration = registration_of(&["1.2.3.4", "10.0.2.2", "example.com", "example.org"]);
        let mut out = [0u8; MAX_RECORD_BYTES];
        let size = registration.encode(&mut out).unwrap();
        assert_eq!(size, HEADER_BYTES + 8 + 12 + 12);
        assert_eq!(&out[..12], b"TNRG\x03\x00\x02\x00\x02\x00\x00\x00");
        assert_eq!(&out[28..32], [0, 0, 0, 0]);
        assert_eq!(&out[32..40], [1, 2, 3, 4, 10, 0, 2, 2]);
        assert_eq!(&out[40..52], b"\x0bexample.com");
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
        bad[4] = 1;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Version(1)));
        let mut bad = good;
        bad[10] = 64;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Malformed));
        let mut bad = good;
        bad[8] = 64;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Malformed));
        let mut bad = good;
        bad[32..36].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(Registration::decode(&bad), Err(RecordError::Unusable([0; 4])));
        assert!(std::format!("{}", RecordError::Unusable([224, 0, 0, 1])).contains("224.0.0.1"));
        let named = registration_of(&["a.test"]);
        let size = named.encode(&mut good).unwrap();
        assert_eq!(Registration::decode(&good[..size - 1]), Err(RecordError::Truncated));
        for (at, byte) in [(33, b'A'), (34, b' '), (33, b'-'), (38, b'.')] {
            let mut bad = good;
            bad[at] = byte;
            assert_eq!(Registration::decode(&bad[..size]), Err(RecordError::BadName), "{at} {byte}");
        }
        let mut bad = good;
        bad[32] = 0;
        assert_eq!(Registration::decode(&bad), Err(RecordError::BadName));
        // A name spelling an address is not a name.
        let mut bad = [0u8; MAX_RECORD_BYTES];
        let size = registration_of(&["abc.def"]).encode(&mut bad).unwrap();
        bad[32..40].copy_from_slice(b"\x071.2.3.4");
        assert_eq!(Registration::decode(&bad[..size]), Err(RecordError::BadName));
    }

    #[test]
    fn server_ports_are_kept_ascending() {
        let registration = Registration::new(ComponentId::NIL)
            .with_server_port(Transport::Tcp, 8080)
            .with_server_port(Transport::Tcp, 7)
            .with_server_port(Transport::Tcp, 7)
            .with_server_port(Transport::Tcp, 0)
            .with_server_port(Transport::Udp, 5353);
        assert_eq!(registration.server_ports(Transport::Tcp), [7, 8080]);
        assert_eq!(registration.server_ports(Transport::Udp), [5353]);
        assert!(registration.serves(Transport::Tcp, 7) && !registration.serves(Transport::Udp, 7));
        let mut out = [0u8; MAX_RECORD_BYTES];
        let size = registration.encode(&mut out).unwrap();
        assert_eq!(size, HEADER_BYTES + 6);
        assert_eq!(&out[28..30], [2, 1]);
        assert_eq!(&out[32..38], [7, 0, 0x90, 0x1f, 0xe9, 0x14]);
        assert_eq!(Registration::decode(&out[..size]), Ok(registration));
        // Out of order, repeated, 0, or too many: malformed.
        for (at, value) in [(33, [0x20, 0]), (34, [7, 0]), (32, [0, 0])] {
            let mut bad = out;
            bad[at..at + 2].copy_from_slice(&value);
            assert_eq!(Registration::decode(&bad[..size]), Err(RecordError::Malformed), "{at}");
        }
        let mut bad = out;
        bad[28] = 17;
        assert_eq!(Registration::decode(&bad), Err(RecordError::Malformed));
        let mut full = Registration::new(ComponentId::NIL);
        for port in 1..=20 {
            full = full.with_server_port(Transport::Udp, port);
        }
        assert_eq!(full.server_ports(Transport::Udp).len(), MAX_SERVER_PORTS);
        // From a manifest.
        let mut buffer = [0u8; 4096];
        let content = ManifestContent {
            tcp_server_ports: &[80, 443],
            udp_server_ports: &[7],
            ..ManifestContent::new("net", ComponentId([7; 16]))
        };
        let size = encode(&content, &mut buffer).unwrap();
        let from = Registration::from_manifest(&Manifest::decode(&buffer[..size]).unwrap());
        assert_eq!((from.server_ports(Transport::Tcp), from.server_ports(Transport::Udp)), (&[80, 443][..], &[7][..]));
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
        assert_eq!(registration.encode(&mut out), Some(HEADER_BYTES + 4 * MAX_LITERALS));
        assert_eq!(Registration::decode(&out), Ok(registration));
        let twice = Registration::new(ComponentId::NIL).with_host("10.0.2.2").with_host("10.0.2.2");
        assert_eq!(twice.literals().len(), 1);
    }
}
