//! What an app and the system agree on: how an app finds its heap and the
//! capabilities its manifest granted, and the protocols of the servers
//! behind them.
//!
//! `init`'s loader maps one read-only page at
//! [`APP_INFO_AT`](crate::layout::APP_INFO_AT) into every app, the **start
//! information**, and starts the app with that address in `r0`. The page
//! says where the app's heap is and lists its grants as (server kind,
//! capability slot) entries. The app SDK (`userland/sdk`) reads it; an app
//! never needs to know slot numbers. A new server is a new [`ServerKind`]
//! (and a new SDK module), not a new layout: the list has room for any
//! kind, and a decoder ignores kinds it does not know.
//!
//! ```text
//! offset  bytes  field (little-endian)
//! 0       4      START_INFO_MAGIC, b"TSAI"
//! 4       2      version: START_INFO_VERSION (1)
//! 6       2      header bytes: where the grant entries start (20 in
//!                version 1; a later minor addition may append fields)
//! 8       4      heap address (page aligned; 0: no heap)
//! 12      4      heap bytes (a multiple of a page)
//! 16      2      grant count (at most MAX_GRANTS)
//! 18      2      bytes per grant entry (4 in version 1, at least 4)
//! header  ...    grant entries: server kind u16, capability slot u16
//! ```
//!
//! A slot named here holds its capability at generation 0 (a new process's
//! slots have never been reused), so the handle is `Handle::new(slot, 0)`.
//! [`StartInfo::decode`] takes any bytes and never panics (fuzzed by
//! `kernel/core/fuzz`'s `package_parsing` target, property-tested below).

use core::fmt;

use crate::capability::CSPACE_SLOTS;
use crate::Handle;

/// The first four bytes of the start information.
pub const START_INFO_MAGIC: [u8; 4] = *b"TSAI";
/// The layout version this crate writes and reads.
pub const START_INFO_VERSION: u16 = 1;
/// Bytes of the version-1 header.
pub const START_INFO_HEADER: usize = 20;
/// Bytes of a version-1 grant entry.
pub const GRANT_ENTRY: usize = 4;
/// Most grant entries the start information holds.
pub const MAX_GRANTS: usize = 32;

/// A kind of server an app can be granted an endpoint of. The numbers are
/// the ABI; a new server takes the next free one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerKind(pub u16);

impl ServerKind {
    /// The GPIO server (`gpiod`): badge = the granted pin mask.
    pub const GPIO: ServerKind = ServerKind(1);
    /// The UART server (`uartd`): badge = the granted UART mask.
    pub const UART: ServerKind = ServerKind(2);
    /// The Pluton security server (`plutond`): every app gets two grants
    /// of this kind, its endpoint (badge = the app's client number) and
    /// its request buffer (a frame, mapped at
    /// [`PLUTON_BUFFER_AT`](crate::layout::PLUTON_BUFFER_AT)).
    pub const PLUTON: ServerKind = ServerKind(3);
    /// The network server (`netd`): an app whose manifest asks for the
    /// network (`AllowedConnections`, `AllowedTcpServerPorts`,
    /// `AllowedUdpServerPorts`) gets two grants of this kind, its endpoint
    /// (badge = the app's client number, the Pluton server's numbering) and
    /// its transfer window (a frame of [`net::WINDOW_BYTES`], mapped at
    /// [`NET_WINDOW_AT`](crate::layout::NET_WINDOW_AT)).
    pub const NET: ServerKind = ServerKind(4);

    /// The kind's name, for messages ("GPIO", "UART"; "unknown server" for
    /// a kind this crate does not know: `Display` gives its number).
    pub const fn name(self) -> &'static str {
        match self {
            ServerKind::GPIO => "GPIO",
            ServerKind::UART => "UART",
            ServerKind::PLUTON => "Pluton",
            ServerKind::NET => "network",
            _ => "unknown server",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ServerKind::GPIO | ServerKind::UART | ServerKind::PLUTON | ServerKind::NET => f.write_str(self.name()),
            ServerKind(other) => write!(f, "server {other}"),
        }
    }
}

/// One grant: an endpoint of a server of kind `server` in slot `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// What serves it.
    pub server: ServerKind,
    /// The capability's slot (held at generation 0).
    pub slot: u16,
}

impl Grant {
    /// The handle that names it.
    pub fn handle(&self) -> Handle {
        Handle::new(self.slot as usize, 0)
    }
}

/// Why bytes are not start information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartInfoError {
    /// Shorter than its header or its entries.
    Truncated,
    /// The magic is wrong: the process was not started as an app.
    NotStartInfo,
    /// A version this crate does not read.
    Version(u16),
    /// A header or entry size below version 1's, a count above
    /// [`MAX_GRANTS`], or a heap that is not page aligned or wraps.
    Malformed,
    /// A grant names slot 0 or a slot beyond the CSpace.
    BadSlot(u16),
}

impl fmt::Display for StartInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartInfoError::Truncated => f.write_str("start information truncated"),
            StartInfoError::NotStartInfo => f.write_str("not start information"),
            StartInfoError::Version(version) => write!(f, "start information version {version} not understood"),
            StartInfoError::Malformed => f.write_str("malformed start information"),
            StartInfoError::BadSlot(slot) => write!(f, "start information names slot {slot}"),
        }
    }
}

/// Decoded start information: the heap and the grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfo<'a> {
    /// Where the heap starts (0: no heap).
    pub heap_address: u32,
    /// How many bytes it has.
    pub heap_bytes: u32,
    entries: &'a [u8],
    entry_bytes: usize,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

impl<'a> StartInfo<'a> {
    /// Reads start information from `bytes` (the page, or any prefix of it
    /// holding the whole). Never panics.
    pub fn decode(bytes: &'a [u8]) -> Result<StartInfo<'a>, StartInfoError> {
        let truncated = StartInfoError::Truncated;
        if bytes.get(..4).ok_or(truncated)? != START_INFO_MAGIC {
            return Err(StartInfoError::NotStartInfo);
        }
        let version = u16_at(bytes, 4).ok_or(truncated)?;
        if version != START_INFO_VERSION {
            return Err(StartInfoError::Version(version));
        }
        let header = u16_at(bytes, 6).ok_or(truncated)? as usize;
        let heap_address = u32_at(bytes, 8).ok_or(truncated)?;
        let heap_bytes = u32_at(bytes, 12).ok_or(truncated)?;
        let count = u16_at(bytes, 16).ok_or(truncated)? as usize;
        let entry_bytes = u16_at(bytes, 18).ok_or(truncated)? as usize;
        let page = crate::layout::PAGE_SIZE as u32;
        if header < START_INFO_HEADER
            || entry_bytes < GRANT_ENTRY
            || count > MAX_GRANTS
            || heap_address % page != 0
            || heap_bytes % page != 0
            || heap_address.checked_add(heap_bytes).is_none()
        {
            return Err(StartInfoError::Malformed);
        }
        // count <= 32 and entry_bytes < 65536: no overflow.
        let entries = bytes.get(header..header + count * entry_bytes).ok_or(truncated)?;
        let info = StartInfo { heap_address, heap_bytes, entries, entry_bytes };
        for index in 0..count {
            let slot = u16_at(entries, index * entry_bytes + 2).ok_or(truncated)?;
            if slot == 0 || slot as usize >= CSPACE_SLOTS {
                return Err(StartInfoError::BadSlot(slot));
            }
        }
        Ok(info)
    }

    /// The grants, in the order written.
    pub fn grants(&self) -> impl Iterator<Item = Grant> + 'a {
        let entries = self.entries;
        let entry_bytes = self.entry_bytes;
        (0..entries.len() / entry_bytes.max(1)).filter_map(move |index| {
            let at = index * entry_bytes;
            Some(Grant { server: ServerKind(u16_at(entries, at)?), slot: u16_at(entries, at + 2)? })
        })
    }

    /// The first grant of a server of `kind`, as a handle.
    pub fn grant(&self, kind: ServerKind) -> Option<Handle> {
        self.grants().find(|grant| grant.server == kind).map(|grant| grant.handle())
    }

    /// Writes version-1 start information for a heap at `heap_address` of
    /// `heap_bytes` and `grants` into `out`; returns the bytes written, or
    /// `None` if `out` is too small, there are more than [`MAX_GRANTS`]
    /// grants, or the result would not decode (a bad slot or heap).
    pub fn encode(heap_address: u32, heap_bytes: u32, grants: &[Grant], out: &mut [u8]) -> Option<usize> {
        if grants.len() > MAX_GRANTS {
            return None;
        }
        let size = START_INFO_HEADER + grants.len() * GRANT_ENTRY;
        let out_bytes = out.get_mut(..size)?;
        out_bytes[..4].copy_from_slice(&START_INFO_MAGIC);
        out_bytes[4..6].copy_from_slice(&START_INFO_VERSION.to_le_bytes());
        out_bytes[6..8].copy_from_slice(&(START_INFO_HEADER as u16).to_le_bytes());
        out_bytes[8..12].copy_from_slice(&heap_address.to_le_bytes());
        out_bytes[12..16].copy_from_slice(&heap_bytes.to_le_bytes());
        out_bytes[16..18].copy_from_slice(&(grants.len() as u16).to_le_bytes());
        out_bytes[18..20].copy_from_slice(&(GRANT_ENTRY as u16).to_le_bytes());
        for (grant, entry) in grants.iter().zip(out_bytes[START_INFO_HEADER..].chunks_exact_mut(GRANT_ENTRY)) {
            entry[..2].copy_from_slice(&grant.server.0.to_le_bytes());
            entry[2..].copy_from_slice(&grant.slot.to_le_bytes());
        }
        StartInfo::decode(&out[..size]).ok()?;
        Some(size)
    }
}

/// The GPIO server's protocol (`gpiod`: on QEMU virt it drives the PL061, on
/// the M4 the board description's GPIO blocks, `tessera_abi::gpio`).
///
/// Requests are IPC calls on the server's endpoint: the label says what,
/// word 0 is the pin, word 1 the value. The reply's label is 0 or an
/// [`Error`](crate::Error) code, its word 0 the pin's level for [`READ`].
/// The **badge** of the caller's capability is the mask of pins it may use
/// (bit `n`: pin `n`), set by `init` from the app's manifest; a pin outside
/// it gets `PermissionDenied`, a pin the board lacks `InvalidArgument`.
pub mod gpio {
    /// Make pin word 0 an output driving word 1 (0 low, else high).
    pub const CONFIGURE_OUTPUT: u32 = 1;
    /// Drive output pin word 0 to word 1 (0 low, else high).
    pub const WRITE: u32 = 2;
    /// Read pin word 0's level (an output reads what it drives).
    pub const READ: u32 = 3;
}

/// The UART server's protocol (`uartd`; on QEMU virt its UART 0 is a
/// virtio console, see docs/apps.md).
///
/// Requests are IPC calls on the server's endpoint; bytes travel in the
/// message words, up to [`CHUNK`] per call, packed little-endian into words
/// 1..4. The **badge** of the caller's capability is the mask of UARTs it
/// may use (bit `n`: UART `n`), set by `init` from the app's manifest; a
/// UART outside it gets `PermissionDenied`. The reply's label is 0 or an
/// [`Error`](crate::Error) code.
pub mod uart {
    /// Send bytes: word 0 = UART number | byte count << 8 (at most
    /// [`CHUNK`]), words 1..4 = the bytes. The reply's word 0 is how many
    /// the server took (it may take fewer when its buffer is full).
    pub const WRITE: u32 = 1;
    /// Take received bytes without waiting: word 0 = UART number | most
    /// bytes wanted << 8. The reply's word 0 is the count (0: nothing
    /// waiting), words 1..4 the bytes.
    pub const READ: u32 = 2;
    /// Most bytes in one request or reply.
    pub const CHUNK: usize = 12;

    /// Word 0 of a request: UART `uart`, `count` bytes.
    pub const fn header(uart: u32, count: usize) -> u32 {
        (uart & 0xFF) | (count as u32) << 8
    }

    /// Splits word 0 of a request into (UART, count).
    pub const fn split_header(word: u32) -> (u32, usize) {
        (word & 0xFF, (word >> 8) as usize)
    }

    /// Packs up to [`CHUNK`] bytes into three words.
    pub fn pack(bytes: &[u8]) -> [u32; 3] {
        let mut words = [0u32; 3];
        for (index, &byte) in bytes.iter().take(CHUNK).enumerate() {
            words[index / 4] |= u32::from(byte) << (8 * (index % 4));
        }
        words
    }

    /// Unpacks `count` (at most [`CHUNK`]) bytes from three words into
    /// `out`; returns how many were written.
    pub fn unpack(words: [u32; 3], count: usize, out: &mut [u8]) -> usize {
        let count = count.min(CHUNK).min(out.len());
        for (index, byte) in out.iter_mut().take(count).enumerate() {
            *byte = (words[index / 4] >> (8 * (index % 4))) as u8;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(heap: (u32, u32), grants: &[Grant]) -> ([u8; 256], usize) {
        let mut out = [0u8; 256];
        let size = StartInfo::encode(heap.0, heap.1, grants, &mut out).unwrap();
        (out, size)
    }

    #[test]
    fn start_information_round_trips() {
        let grants = [
            Grant { server: ServerKind::GPIO, slot: 3 },
            Grant { server: ServerKind::UART, slot: 4 },
            Grant { server: ServerKind(9), slot: 127 },
        ];
        for count in 0..=grants.len() {
            let (out, size) = encoded((0x1001_0000, 0x1_0000), &grants[..count]);
            assert_eq!(size, START_INFO_HEADER + count * GRANT_ENTRY);
            let info = StartInfo::decode(&out).unwrap();
            assert_eq!((info.heap_address, info.heap_bytes), (0x1001_0000, 0x1_0000));
            assert!(info.grants().eq(grants[..count].iter().copied()));
        }
        let (out, _) = encoded((0, 0), &grants[..2]);
        let info = StartInfo::decode(&out).unwrap();
        assert_eq!(info.grant(ServerKind::UART), Some(Handle::new(4, 0)));
        assert_eq!(info.grant(ServerKind(9)), None);
    }

    #[test]
    fn bad_start_information_is_refused() {
        let mut out = [0u8; 256];
        assert_eq!(StartInfo::encode(0, 0, &[Grant { server: ServerKind::GPIO, slot: 0 }], &mut out), None);
        assert_eq!(StartInfo::encode(0x10, 0, &[], &mut out), None);
        assert_eq!(StartInfo::encode(0, 0, &[], &mut out[..10]), None);
        let (good, size) = encoded((0x1000, 0x2000), &[Grant { server: ServerKind::GPIO, slot: 2 }]);
        assert_eq!(StartInfo::decode(&good[..size - 1]), Err(StartInfoError::Truncated));
        assert_eq!(StartInfo::decode(&[0; 64]), Err(StartInfoError::NotStartInfo));
        let mut bad = good;
        bad[4] = 2;
        assert_eq!(StartInfo::decode(&bad), Err(StartInfoError::Version(2)));
        let mut bad = good;
        bad[16] = 33;
        assert_eq!(StartInfo::decode(&bad), Err(StartInfoError::Malformed));
        let mut bad = good;
        bad[22] = 200;
        assert_eq!(StartInfo::decode(&bad), Err(StartInfoError::BadSlot(200)));
        // A later minor version's longer header and entries still decode.
        let mut longer = [0u8; 64];
        longer[..20].copy_from_slice(&good[..20]);
        longer[6] = 24;
        longer[18] = 8;
        longer[24..28].copy_from_slice(&good[20..24]);
        let info = StartInfo::decode(&longer).unwrap();
        assert_eq!(info.grant(ServerKind::GPIO), Some(Handle::new(2, 0)));
    }

    /// Any bytes decode or give an error, without panicking; what decodes
    /// names only valid slots.
    #[test]
    fn decoding_random_bytes_never_panics() {
        let mut rng = tessera_testing::Rng::new(0x5EED_1AB5);
        let (good, size) = encoded((0x2000, 0x4000), &[Grant { server: ServerKind::UART, slot: 5 }]);
        for round in 0..20_000 {
            let mut bytes = if round % 2 == 0 {
                let len = rng.below(64);
                rng.bytes(len)
            } else {
                good[..size + 8].to_vec()
            };
            for _ in 0..rng.below(4) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next_u64() as u8;
                }
            }
            if round % 4 == 1 {
                bytes.truncate(rng.below(bytes.len() + 1));
            }
            if let Ok(info) = StartInfo::decode(&bytes) {
                assert!(info.grants().count() <= MAX_GRANTS);
                for grant in info.grants() {
                    assert!(grant.slot != 0 && (grant.slot as usize) < CSPACE_SLOTS);
                }
            }
        }
    }

    #[test]
    fn uart_bytes_pack_and_unpack() {
        let bytes = *b"hello, world";
        let words = uart::pack(&bytes);
        let mut out = [0u8; 16];
        assert_eq!(uart::unpack(words, 12, &mut out), 12);
        assert_eq!(&out[..12], &bytes);
        assert_eq!(uart::unpack(words, 40, &mut out[..5]), 5);
        assert_eq!(uart::pack(b"ab"), [0x6261, 0, 0]);
        assert_eq!(uart::split_header(uart::header(1, 7)), (1, 7));
    }
}

/// The Pluton security server's protocol (`plutond`, docs/pluton.md).
///
/// Requests are IPC calls on its endpoint. The **badge** says who calls:
/// 0 is `init` (the loader: only `init` holds the unbadged capability the
/// kernel gave it), `1..=MAX_CLIENTS` an app, whose client number `init`
/// chose when it recorded the app ([`RECORD_APP`]). A request that moves
/// bytes carries one capability, the caller's buffer: a frame of
/// [`BUFFER_BYTES`] with `READ`, `WRITE` and `GRANT` (an app's is mapped
/// at [`PLUTON_BUFFER_AT`](crate::layout::PLUTON_BUFFER_AT)). The input is
/// at offset 0, word 0 its length; the output replaces it, the reply's
/// word 0 its length. The server maps the frame only while it answers and
/// copies the input out before it works on it, so changing the buffer
/// during a request changes nothing but the caller's own result.
///
/// The reply's label is 0 or an [`Error`](crate::Error) code:
/// `InvalidArgument` for a malformed request, `PermissionDenied` for one
/// the caller may not make (an app asking a loader request, an app without
/// `DeviceAuthentication` asking [`SIGN_CHALLENGE`]), `BadImage` for
/// sealed data that is damaged or another app's, `NotFound` when no
/// entropy source is working (never predictable bytes instead).
pub mod pluton {
    /// The device's public DeviceID identifier: word 0 = part (0: bytes
    /// 0..16, 1: bytes 16..20), answered little-endian in the words. Any
    /// caller.
    pub const DEVICE_ID: u32 = 1;
    /// Evidence for a verifier's nonce (8..=64 bytes) in the buffer: an
    /// EAT in a COSE_Sign1 signed by the Alias key. Any caller.
    pub const ATTEST: u32 = 2;
    /// Word 0 = n (1..=[`BUFFER_BYTES`]): n random bytes into the buffer.
    pub const RANDOM: u32 = 3;
    /// Seal the buffer's word-0 bytes (at most [`MAX_SEAL_INPUT`]) to the
    /// caller (its ComponentId, on this device and software authority);
    /// the sealed bytes ([`SEAL_OVERHEAD`] more) replace them. Apps only.
    pub const SEAL: u32 = 4;
    /// Unseal the buffer's word-0 bytes sealed by [`SEAL`] for the same
    /// caller; `BadImage` if they are damaged or not the caller's.
    pub const UNSEAL: u32 = 5;
    /// Sign the buffer's word-0 bytes (1..=[`MAX_CHALLENGE`]) with the
    /// caller's device authentication key (ECDSA P-256, SHA-256): the
    /// answer is the 64-byte signature (r || s) then the 65-byte public
    /// key (SEC1, uncompressed). Apps granted `DeviceAuthentication` only.
    pub const SIGN_CHALLENGE: u32 = 6;
    /// `init` only: verify the signed app package at boot-image entry word
    /// 0 against the boot image's trusted keys. A refused signature is
    /// `PermissionDenied` with the refusal in words 1..4
    /// (`crate::package::VerifyError::to_words`); a package that does not
    /// parse is `BadImage`; no such entry or no trusted keys `NotFound`.
    pub const VERIFY_PACKAGE: u32 = 7;
    /// `init` only: the package at boot-image entry word 0 (verified) runs
    /// as client word 1 (1..=[`MAX_CLIENTS`]): measure it into the log and
    /// answer that client's requests as that app. Recording the same entry
    /// for the same client again (a restart) changes nothing.
    pub const RECORD_APP: u32 = 8;
    /// `init` only: the entropy source. Two capabilities: the virtio-mmio
    /// transport page of QEMU's `virtio-rng-device` (a device region) and
    /// a 16 KiB frame for its queue and buffer (`init` keeps its own copies
    /// unused: deleting them would take the server's). Once only.
    pub const ENTROPY_SOURCE: u32 = 9;

    /// Bytes of a request buffer (one page).
    pub const BUFFER_BYTES: usize = 4096;
    /// Bytes sealing adds: a version byte, a 12-byte nonce, a 16-byte tag.
    pub const SEAL_OVERHEAD: usize = 1 + 12 + 16;
    /// The most bytes [`SEAL`] takes.
    pub const MAX_SEAL_INPUT: usize = BUFFER_BYTES - SEAL_OVERHEAD;
    /// The longest challenge [`SIGN_CHALLENGE`] signs.
    pub const MAX_CHALLENGE: usize = 1024;
    /// Bytes of a [`SIGN_CHALLENGE`] answer: signature then public key.
    pub const SIGNATURE_ANSWER: usize = 64 + 65;
    /// The most apps the server tells apart.
    pub const MAX_CLIENTS: u32 = 16;
    /// Bytes in a DeviceID identifier.
    pub const DEVICE_ID_BYTES: usize = 20;
}

/// The network server's protocol (`netd`, docs/network.md).
///
/// Requests are IPC calls on its endpoint. The **badge** says who calls,
/// as for the Pluton server: 0 is `init` (only `init` holds the unbadged
/// capability), `1..=`[`MAX_CLIENTS`] an app, whose client number `init`
/// chose when it registered the app ([`REGISTER_APP`]); an app `init` did
/// not register is refused. Bytes travel through the app's **transfer
/// window**, a frame of [`WINDOW_BYTES`] that `init` carves from the app's
/// memory, maps into it at
/// [`NET_WINDOW_AT`](crate::layout::NET_WINDOW_AT) and hands to `netd`
/// with the registration: a request names a length, the bytes are at the
/// window's start. An app's requests carry no capability.
///
/// Sockets are small numbers (`0..`[`MAX_SOCKETS`]) scoped to the calling
/// app: an app can only name its own. The reply's label is 0 or an
/// [`Error`](crate::Error) code: `InvalidArgument` for a malformed request
/// (an unknown label, a port 0, an address no TCP connection can go to, a
/// length outside `1..=WINDOW_BYTES`, a socket number the app has not
/// open), `PermissionDenied` for a request the caller may not make (an
/// address its manifest does not list, an app asking `init`'s requests),
/// `OutOfMemory` when the app has [`MAX_SOCKETS`] open or the server's
/// socket pool is empty, `NotFound` for a connection asked before the
/// network has an address (no DHCP lease yet).
pub mod net {
    /// Opens a TCP connection: word 0 = IPv4 address ([`address_word`]),
    /// word 1 = port. Allowed only to an address the app's manifest lists
    /// as a literal in `AllowedConnections`. The answer's word 0 is the
    /// socket number; the connection is then being made ([`STATUS`]), and
    /// the app's wait for it is noted. Word 1 is [`DELIVERS`] if the
    /// server will write the connection's state into the window's
    /// delivery record when it signals ([`STATUS_DELIVERED`]).
    pub const TCP_CONNECT: u32 = 1;
    /// A socket's state: word 0 = socket. The answer: word 0 = its state
    /// ([`state`]), word 1 = bytes waiting to be received, word 2 = bytes
    /// of room in its send buffer.
    pub const STATUS: u32 = 2;
    /// Sends: word 0 = socket, word 1 = length (`1..=`[`WINDOW_BYTES`]),
    /// the bytes at the window's start. The answer: word 0 = how many the
    /// socket took (0 while its send buffer is full or it is not connected
    /// yet), word 1 = its state. `PeerGone` once the connection can carry
    /// no more bytes from the app (reset, refused, or finished).
    pub const SEND: u32 = 3;
    /// Receives without waiting: word 0 = socket, word 1 = most bytes
    /// wanted (`1..=`[`WINDOW_BYTES`]). The bytes go to the window's start;
    /// the answer: word 0 = their count (0 if none are waiting), word 1 =
    /// the socket's state ([`state::CLOSED`] with 0 bytes: the peer
    /// finished sending).
    pub const RECEIVE: u32 = 4;
    /// Closes a socket: word 0 = socket. The number is free again at once;
    /// the server finishes the connection (FIN) in the background.
    pub const CLOSE: u32 = 5;
    /// Resolves a host name: word 0 = its length in bytes
    /// (`1..=`[`MAX_NAME_BYTES`]), the name (ASCII) at the window's start.
    /// Allowed only for a name the app's manifest lists in
    /// `AllowedConnections` (compared without regard to ASCII case);
    /// anything else is `PermissionDenied` and no query is sent. The
    /// server asks its DNS servers without blocking the app: the answer's
    /// word 0 is 0 while the lookup is under way (ask again with the same
    /// name), else the count of addresses (1..=3) in words 1..=3
    /// ([`address_word`]); each address is then one the app may connect to.
    /// `NotFound`: the name has no IPv4 address (or no server knew it);
    /// `TimedOut`: no server answered.
    pub const LOOKUP: u32 = 6;
    /// Listens for TCP connections: word 0 = port. Allowed only on a port
    /// the app's manifest lists in `AllowedTcpServerPorts`, and one no
    /// other app listens on. The answer's word 0 is the listening socket's
    /// number ([`TCP_ACCEPT`] takes its connections).
    pub const TCP_LISTEN: u32 = 7;
    /// Takes a connection a listening socket has: word 0 = the listening
    /// socket. The answer's word 0 is 0 while none has come (ask again),
    /// else 1 with word 1 = the connection's socket number (a stream, as
    /// [`TCP_CONNECT`] gives), word 2 = the peer's address and word 3 its
    /// port. The listening socket goes on listening on a fresh socket of
    /// the server's pool under the same number; if none is free it is
    /// closed, and word 0 is 2 instead of 1. One connection waits at a
    /// time: another host's SYN meanwhile is refused.
    pub const TCP_ACCEPT: u32 = 8;
    /// Opens a UDP socket: word 0 = the local port, or 0 for any free one
    /// (a client socket). A nonzero port must be in the manifest's
    /// `AllowedUdpServerPorts` and not bound by another app. The answer's
    /// word 0 is the socket number.
    pub const UDP_BIND: u32 = 9;
    /// Sends one datagram: word 0 = socket, word 1 = the IPv4 address,
    /// word 2 = the port, word 3 = its length (`0..=`[`MAX_DATAGRAM_BYTES`]),
    /// the bytes at the window's start. Allowed to an address the app may
    /// connect to (a listed literal, or one the server resolved for it),
    /// and from a server port also to a host that sent to that socket
    /// (the last [`UDP_PEERS`]). The answer's word 0 is 1 if the datagram
    /// was queued, 0 if the socket's send buffer is full (ask again). Word
    /// 1 is [`WAIT_NOTED`] if the datagram was queued, nothing is waiting
    /// to be received on the socket, and the server will signal the app's
    /// readiness notification when that changes (as it does after a
    /// request that found nothing yet): an app about to receive the answer
    /// may wait for the signal before it asks. Only an app's own requests
    /// are noted, not a socket capability holder's. With the wait noted,
    /// word 1 has [`DELIVERS`] too unless the socket was handed out
    /// ([`DELEGATE`]): the first datagram to come is then put in the
    /// window before the signal (a delivery, see [`DELIVERED`]).
    pub const SEND_TO: u32 = 10;
    /// [`SEND_TO`]'s word 1: the app's wait for the socket is noted.
    pub const WAIT_NOTED: u32 = 1;
    /// [`SEND_TO`]'s word 1, and a [`RECEIVE_FROM`] flag when nothing was
    /// received: the next datagram for the socket will be delivered into
    /// the window's delivery area ([`DELIVERY_AT`]), unless the app makes a
    /// request first (any request, even one that does not decode, ends the
    /// offer). The server has cleared the delivery record
    /// ([`DELIVERY_RECORD_AT`]). While an offer stands the server may write
    /// the area at any moment: the app must not stage a request's bytes
    /// there. Only an app's own sockets that were not handed out
    /// ([`DELEGATE`]) are offered.
    pub const DELIVERS: u32 = 4;
    /// Where in the window a delivered datagram's bytes go: its last
    /// 2 KiB, which no request's bytes need while an offer stands (a
    /// datagram sent is at most [`MAX_DATAGRAM_BYTES`], a name
    /// [`MAX_NAME_BYTES`]; a stream's [`SEND`] stages at most this many
    /// bytes then). A datagram longer than the area (up to the record)
    /// is not delivered: [`RECEIVE_FROM`] takes it.
    pub const DELIVERY_AT: usize = WINDOW_BYTES - 2048;
    /// Where in the window a delivery's record lies: four words, written
    /// after the datagram's bytes (at [`DELIVERY_AT`]). Word 0 is
    /// [`DELIVERED`] with the socket's number (0 while nothing was
    /// delivered), word 1 the datagram's length, word 2 the sender's
    /// address, word 3 its port. The datagram stays the socket's first
    /// until the app's next request says, with [`DELIVERY_TAKEN`] in its
    /// label, that the app took it; a request without it leaves the
    /// datagram for [`RECEIVE_FROM`] (nothing is lost if the app wrote
    /// over the window first). A client socket is delivered only
    /// datagrams from addresses the app may send to, as with
    /// [`RECEIVE_FROM`].
    pub const DELIVERY_RECORD_AT: usize = WINDOW_BYTES - 16;
    /// A delivery record's word 0 (with the socket's number in the low
    /// byte): a datagram was delivered.
    pub const DELIVERED: u32 = 0xD0_0000;
    /// A delivery record's word 0 (with the socket's number in the low
    /// byte) after a [`TCP_CONNECT`]: words 1 to 3 are what [`STATUS`]
    /// would have answered when the server signalled (state, bytes
    /// waiting, room to send). Nothing needs taking back.
    pub const STATUS_DELIVERED: u32 = 0xD1_0000;
    /// A bit of any app request's label: the app took the datagram
    /// delivered to it since its last request ([`DELIVERS`]), which leaves
    /// its socket now. Without a delivery it changes nothing.
    pub const DELIVERY_TAKEN: u32 = 0x100;
    /// Receives one datagram without waiting: word 0 = socket, word 1 =
    /// most bytes wanted (`1..=`[`WINDOW_BYTES`]). The answer: word 0 =
    /// its length (cut to word 1), word 1 = the sender's address, word 2 =
    /// its port, word 3 = flags ([`RECEIVED`], [`CUT`]); no [`RECEIVED`]
    /// bit: nothing was waiting (then [`DELIVERS`] may be set: the app's
    /// wait is noted, as after any request that found nothing, and the
    /// next datagram will be delivered). A client socket (port 0) gets only
    /// datagrams from addresses the app may send to; others are dropped.
    pub const RECEIVE_FROM: u32 = 11;
    /// Shuts a stream's sending side: word 0 = socket. The server sends
    /// what is left, then a FIN; the app may still receive until the peer
    /// finishes too, and closes the socket with [`CLOSE`] as ever. A
    /// [`SEND`] after it is `PeerGone`.
    pub const SHUTDOWN: u32 = 12;
    /// Makes a capability for one socket: word 0 = the socket. The answer
    /// carries it (an endpoint to the server with `SEND` and `GRANT`,
    /// badged for that socket, [`SOCKET_BADGE`]); the app may hand it to
    /// any process. Calls on it act on that socket alone, with the
    /// owner's policy: [`STATUS`], [`SEND`], [`RECEIVE`], [`SHUTDOWN`],
    /// [`CLOSE`], [`SEND_TO`], [`RECEIVE_FROM`] (word 0 is ignored; the
    /// badge names the socket). Not [`TCP_ACCEPT`]: a listener stays its
    /// owner's. The holder has no window of
    /// the server's: [`SEND`], [`RECEIVE`], [`SEND_TO`] and
    /// [`RECEIVE_FROM`] carry one capability, a frame of its own (`READ`,
    /// `WRITE`, `INSPECT` and `GRANT` to pass it; at most
    /// [`WINDOW_BYTES`], at least the length) that
    /// the bytes move through; the server maps it for the request and
    /// deletes its copy. The frame's handle takes word 3, so a holder's
    /// [`SEND_TO`] gives its length in word 0. When the socket is closed (by its owner or a
    /// holder) or its owner ends, every such capability is revoked.
    pub const DELEGATE: u32 = 13;
    /// A socket capability's badge: this bit, the socket's generation
    /// (bits 8 to 15) and its slot in the server's pool (bits 0 to 7).
    pub const SOCKET_BADGE: u32 = 1 << 16;
    /// [`RECEIVE_FROM`] flag: a datagram was received.
    pub const RECEIVED: u32 = 1;
    /// [`RECEIVE_FROM`] flag: it was longer than asked and cut.
    pub const CUT: u32 = 2;
    /// The longest datagram [`SEND_TO`] takes (the largest IPv4 payload on
    /// a 1500-byte MTU without fragmenting, less the UDP header).
    pub const MAX_DATAGRAM_BYTES: usize = 1472;
    /// How many senders a UDP server socket may reply to (the latest).
    pub const UDP_PEERS: usize = 4;
    /// `init` only: app word 0 (client number, `1..=`[`MAX_CLIENTS`]) is
    /// registered. Two capabilities: the app's transfer window (word 3), a
    /// frame of [`WINDOW_BYTES`] with `READ`, `WRITE` and `INSPECT`,
    /// holding the app's policy at its start (the registration record,
    /// written by `init`: `tessera_net_core::registration`); and the
    /// app's readiness notification (word 2), with `SIGNAL` (see
    /// [`READY`]). Registering a client number again (a restart) replaces
    /// it and aborts its sockets.
    pub const REGISTER_APP: u32 = 16;
    /// The bit the server signals on an app's readiness notification (the
    /// app holds it with `WAIT`, granted under the network server's kind).
    /// A request that finds nothing to do yet (no bytes to receive, no
    /// room to send, no connection made or waiting, a lookup under way)
    /// arms it; the server signals it once anything may have changed for
    /// the app's sockets or lookups, so the app asks again then instead of
    /// at intervals. It is a hint: it may come when nothing is ready for
    /// the asker, and an app that waits should still ask again now and
    /// then.
    pub const READY: u32 = 1;
    /// `init` only: app word 0 has ended; its sockets are aborted and its
    /// window forgotten.
    pub const UNREGISTER_APP: u32 = 17;
    /// `init` only: the DNS server to ask first (before the ones DHCP
    /// names): word 0 = its IPv4 address ([`address_word`]), word 1 = its
    /// UDP port. From the boot argument `net.dns=A.B.C.D:PORT`.
    pub const SET_RESOLVER: u32 = 18;

    /// The longest host name [`LOOKUP`] takes (DNS's limit, without a
    /// trailing dot).
    pub const MAX_NAME_BYTES: usize = 253;

    /// Bytes of an app's transfer window.
    pub const WINDOW_BYTES: usize = 16 * 1024;
    /// The most apps the server tells apart (the Pluton server's client
    /// numbers).
    pub const MAX_CLIENTS: u32 = super::pluton::MAX_CLIENTS;
    /// The most sockets one app has open at once.
    pub const MAX_SOCKETS: u32 = 4;

    /// A socket's state, as [`STATUS`], [`SEND`] and [`RECEIVE`] answer it.
    pub mod state {
        /// The connection is being made.
        pub const CONNECTING: u32 = 0;
        /// Connected: bytes go both ways.
        pub const ESTABLISHED: u32 = 1;
        /// The peer finished sending (FIN): what it sent can still be
        /// received, and the app may still send.
        pub const CLOSED: u32 = 2;
        /// The connection was reset after it was made.
        pub const RESET: u32 = 3;
        /// The connection was never made: refused (reset) or given up.
        pub const REFUSED: u32 = 4;
    }

    /// An IPv4 address as a request word (most significant byte first:
    /// 10.0.2.2 is `0x0a00_0202`).
    pub const fn address_word(address: [u8; 4]) -> u32 {
        u32::from_be_bytes(address)
    }

    /// The IPv4 address of a request word.
    pub const fn address_bytes(word: u32) -> [u8; 4] {
        word.to_be_bytes()
    }
}
