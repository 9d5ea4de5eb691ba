//! Frames `netd` writes and reads itself, beside the stack: an app's UDP
//! datagram sent straight to the device, one that comes for an app's
//! socket (docs/network.md, "Apps' datagrams past the stack"), and the
//! neighbours it may be sent to, learnt from the ARP packets that pass on
//! their way to the stack.
//!
//! smoltcp stays the one that resolves addresses (it sends the ARP
//! requests and answers them); [`Neighbors`] only remembers what the
//! answers said, for as long as smoltcp's own cache would. A datagram
//! whose next hop is not remembered, or that is not plain unicast, goes
//! through the stack as before.

use crate::checksum;

/// Ethernet, IPv4 (without options) and UDP headers.
pub const ETHERNET_HEADER_BYTES: usize = 14;
pub const IPV4_HEADER_BYTES: usize = 20;
pub const UDP_HEADER_BYTES: usize = 8;
/// Where a UDP datagram's payload starts in a frame [`write_udp`] makes.
pub const UDP_PAYLOAD_AT: usize = ETHERNET_HEADER_BYTES + IPV4_HEADER_BYTES + UDP_HEADER_BYTES;
/// The largest payload of one unfragmented datagram on a 1500-byte MTU.
pub const MAX_UDP_PAYLOAD: usize = 1500 - IPV4_HEADER_BYTES - UDP_HEADER_BYTES;

/// EtherTypes.
const IPV4: [u8; 2] = [0x08, 0x00];
const ARP: u16 = 0x0806;
/// The time to live of what `netd` sends (smoltcp's default too).
const TIME_TO_LIVE: u8 = 64;
/// IPv4's "don't fragment" flag, in the word at byte 6 of its header.
const DONT_FRAGMENT: u16 = 0x4000;
/// IP protocol number of UDP.
const UDP: u8 = 17;

/// Who a datagram is from and to, on the link and above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpHeaders {
    pub source_mac: [u8; 6],
    pub destination_mac: [u8; 6],
    pub source: ([u8; 4], u16),
    pub destination: ([u8; 4], u16),
    /// The IPv4 identification (any value: the datagram is never
    /// fragmented, its "don't fragment" flag is set).
    pub identification: u16,
}

/// Writes the Ethernet, IPv4 and UDP headers in front of a payload of
/// `len` bytes already at `frame[UDP_PAYLOAD_AT..]`, both checksums
/// included; returns the frame's length, or `None` (nothing written) if
/// the payload is longer than [`MAX_UDP_PAYLOAD`] or `frame` cannot hold
/// it.
pub fn write_udp(frame: &mut [u8], headers: &UdpHeaders, len: usize) -> Option<usize> {
    let end = UDP_PAYLOAD_AT + len;
    if len > MAX_UDP_PAYLOAD || frame.len() < end {
        return None;
    }
    let (ethernet, rest) = frame.split_at_mut(ETHERNET_HEADER_BYTES);
    // Each MAC in two parts: a copy of six bytes (of unknown alignment:
    // the target has no unaligned word access) is a call of `memcpy`,
    // of four or two a few loads and stores.
    for (at, mac) in [(0, &headers.destination_mac), (6, &headers.source_mac)] {
        ethernet[at..at + 4].copy_from_slice(&mac[..4]);
        ethernet[at + 4..at + 6].copy_from_slice(&mac[4..]);
    }
    ethernet[12..].copy_from_slice(&IPV4);
    let ip = &mut rest[..IPV4_HEADER_BYTES];
    let total = (IPV4_HEADER_BYTES + UDP_HEADER_BYTES + len) as u16;
    ip[..2].copy_from_slice(&[0x45, 0]);
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&headers.identification.to_be_bytes());
    ip[6..8].copy_from_slice(&DONT_FRAGMENT.to_be_bytes());
    ip[8..12].copy_from_slice(&[TIME_TO_LIVE, UDP, 0, 0]);
    ip[12..16].copy_from_slice(&headers.source.0);
    ip[16..20].copy_from_slice(&headers.destination.0);
    let header_checksum = checksum::finish(checksum::sum(ip));
    ip[10..12].copy_from_slice(&header_checksum.to_be_bytes());
    let udp = &mut frame[ETHERNET_HEADER_BYTES + IPV4_HEADER_BYTES..end];
    let udp_len = (UDP_HEADER_BYTES + len) as u16;
    udp[..2].copy_from_slice(&headers.source.1.to_be_bytes());
    udp[2..4].copy_from_slice(&headers.destination.1.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    udp[6..8].fill(0);
    let total = pseudo_header(headers.source.0, headers.destination.0, udp_len) + checksum::sum(udp);
    // Zero means "no checksum": a computed zero is sent as all ones.
    let udp_checksum = match checksum::finish(total) {
        0 => 0xffff,
        value => value,
    };
    udp[6..8].copy_from_slice(&udp_checksum.to_be_bytes());
    Some(end)
}

/// The sum of UDP's pseudo-header for a datagram of `len` bytes (header
/// included) from `from` to `to`.
fn pseudo_header(from: [u8; 4], to: [u8; 4], len: u16) -> u32 {
    let word = |address: [u8; 4], at: usize| u32::from(u16::from_be_bytes([address[at], address[at + 1]]));
    word(from, 0) + word(from, 2) + word(to, 0) + word(to, 2) + u32::from(UDP) + u32::from(len)
}

/// Whether the UDP checksum of `datagram`, read from `frame`, is right
/// (or absent: zero).
pub fn udp_checksum_ok(frame: &[u8], datagram: &Datagram) -> bool {
    checksum::segment_ok(frame, &datagram.segment)
}

/// The EtherType of Ethernet frame `frame`, if it is long enough to have
/// one.
fn ether_type(frame: &[u8]) -> Option<u16> {
    let bytes = frame.get(12..ETHERNET_HEADER_BYTES)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// A UDP datagram found in an Ethernet frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Its sender's address and port.
    pub from: ([u8; 4], u16),
    /// The address and port it is for.
    pub to: ([u8; 4], u16),
    /// Where its payload lies in the frame.
    pub payload: core::ops::Range<usize>,
    /// The UDP segment as the checksum module located it.
    segment: checksum::Segment,
}

/// The UDP datagram in Ethernet frame `frame`, if it holds a whole one:
/// IPv4 (options allowed) with a right header checksum, not a fragment,
/// from a single host (not 0.0.0.0, a broadcast or a multicast address),
/// with IP and UDP lengths that agree and fit the frame (the checksum
/// module's reading, `checksum::locate`). Its UDP checksum is
/// [`udp_checksum_ok`]'s business.
pub fn udp_datagram(frame: &[u8]) -> Option<Datagram> {
    // Most frames `netd` is given are TCP (a bulk transfer's data or
    // acknowledgements): the IPv4 protocol byte, read first, spares them
    // `locate` here (which `checksum::verify` runs on them next anyway).
    if frame.get(ETHERNET_HEADER_BYTES + 9) != Some(&UDP) {
        return None;
    }
    let checksum::Contents::Segment(segment) = checksum::locate(frame) else { return None };
    if segment.protocol != UDP {
        return None;
    }
    // `locate` saw an IPv4 header of at least 20 bytes before the segment,
    // and the segment (at least a UDP header) within the frame.
    if checksum::finish(checksum::sum(&frame[ETHERNET_HEADER_BYTES..segment.start])) != 0 {
        return None;
    }
    let address = |at: usize| -> [u8; 4] { [frame[at], frame[at + 1], frame[at + 2], frame[at + 3]] };
    let ip = ETHERNET_HEADER_BYTES;
    let (from, to) = (address(ip + 12), address(ip + 16));
    if from == [0; 4] || from == [255; 4] || from[0] >> 4 == 0xe {
        return None;
    }
    let port = |at: usize| u16::from_be_bytes([frame[segment.start + at], frame[segment.start + at + 1]]);
    let payload = segment.start + UDP_HEADER_BYTES..segment.start + segment.len;
    Some(Datagram { from: (from, port(0)), to: (to, port(2)), payload, segment })
}

/// The sender of the ARP packet (a request or a reply, Ethernet and IPv4)
/// in Ethernet frame `frame`: its IPv4 address and its MAC. `None` for
/// anything else, and for a sender with no address yet (0.0.0.0) or a
/// group MAC (multicast or broadcast: no single host has it).
pub fn arp_sender(frame: &[u8]) -> Option<([u8; 4], [u8; 6])> {
    // Checked first, as words (a slice compare is a library call), since
    // every frame that comes is asked.
    if ether_type(frame)? != ARP {
        return None;
    }
    let arp = frame.get(ETHERNET_HEADER_BYTES..ETHERNET_HEADER_BYTES + 28)?;
    // Hardware type 1 (Ethernet), protocol type IPv4, address lengths 6
    // and 4, then the operation (1 request, 2 reply).
    let word = |at: usize| u16::from_be_bytes([arp[at], arp[at + 1]]);
    if (word(0), word(2), word(4)) != (1, 0x0800, 0x0604) || !matches!(word(6), 1 | 2) {
        return None;
    }
    let mac: [u8; 6] = arp[8..14].try_into().ok()?;
    let address: [u8; 4] = arp[14..18].try_into().ok()?;
    if address == [0; 4] || mac[0] & 1 != 0 {
        return None;
    }
    Some((address, mac))
}

/// The sender of an ARP packet in `frame` that may teach this host where a
/// neighbour is, as smoltcp's own cache learns: the frame is for this
/// host's MAC `mac` (or broadcast), the packet asks for or answers about
/// this host's address, and its sender is another host of the lease's
/// subnet `(address, prefix length)` ([`arp_sender`]'s rules too). A
/// gratuitous announcement, or a request for another host, teaches
/// nothing.
pub fn arp_neighbor(frame: &[u8], (address, prefix): ([u8; 4], u8), mac: [u8; 6]) -> Option<([u8; 4], [u8; 6])> {
    let (sender, sender_mac) = arp_sender(frame)?;
    let for_us = frame[..6] == mac || frame[..6] == [0xff; 6];
    let target = &frame[ETHERNET_HEADER_BYTES + 24..ETHERNET_HEADER_BYTES + 28];
    let mask = subnet_mask(prefix);
    let same_subnet = u32::from_be_bytes(sender) & mask == u32::from_be_bytes(address) & mask;
    let neighbor = same_subnet && sender != address && !addressed_to(sender, (address, prefix));
    (for_us && target == address && neighbor).then_some((sender, sender_mac))
}

/// The address a datagram to `destination` is handed to on the link: the
/// destination itself if it is in the subnet `(address, prefix length)`,
/// else the `router`. `None` where the stack must decide: broadcast,
/// multicast, loopback or unspecified destinations, this host's own
/// address, an off-link one with no router, a prefix longer than 30.
pub fn next_hop(destination: [u8; 4], (address, prefix): ([u8; 4], u8), router: Option<[u8; 4]>) -> Option<[u8; 4]> {
    if prefix > 30 {
        return None;
    }
    let to = u32::from_be_bytes(destination);
    let mask = subnet_mask(prefix);
    let own = u32::from_be_bytes(address);
    let special = to == 0 || to == u32::MAX || to >> 28 == 0xe || to >> 24 == 127 || to == own;
    if special {
        return None;
    }
    if to & mask == own & mask {
        // The subnet's own broadcast address (all host bits set) too.
        return (to | mask != u32::MAX).then_some(destination);
    }
    router
}

/// The mask of a prefix of `prefix` bits (at most 32).
fn subnet_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

/// Whether a datagram to `to` is for this host, at `(address, prefix
/// length)`: its own address, the limited broadcast, or its subnet's
/// broadcast (for a prefix of at most 30).
pub fn addressed_to(to: [u8; 4], (address, prefix): ([u8; 4], u8)) -> bool {
    let mask = subnet_mask(prefix);
    let subnet_broadcast = prefix <= 30 && u32::from_be_bytes(to) == u32::from_be_bytes(address) | !mask;
    to == address || to == [255; 4] || subnet_broadcast
}

/// How long a learnt neighbour is used (smoltcp forgets its own after a
/// minute too, and then asks again: the answer is learnt anew).
pub const NEIGHBOR_MICROS: u64 = 60_000_000;

/// A neighbour: its IPv4 address, its MAC, and when it was last heard
/// from (uptime in microseconds).
type Neighbor = ([u8; 4], [u8; 6], u64);

/// The neighbours heard from: a few IPv4 addresses and their MACs, each
/// with when it was last heard.
#[derive(Clone, Debug)]
pub struct Neighbors<const N: usize> {
    entries: [Option<Neighbor>; N],
}

impl<const N: usize> Neighbors<N> {
    pub const fn new() -> Self {
        Neighbors { entries: [None; N] }
    }
}

impl<const N: usize> Default for Neighbors<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Neighbors<N> {
    /// Notes that `address` is at `mac` at uptime `now`: the entry for the
    /// address, else a free one, else the one heard from longest ago.
    pub fn learn(&mut self, address: [u8; 4], mac: [u8; 6], now: u64) {
        let at = self
            .entries
            .iter()
            .position(|entry| entry.is_some_and(|(known, ..)| known == address))
            .or_else(|| self.entries.iter().position(Option::is_none))
            .or_else(|| (0..N).min_by_key(|&index| self.entries[index].map_or(0, |(.., heard)| heard)));
        if let Some(at) = at {
            self.entries[at] = Some((address, mac, now));
        }
    }

    /// The MAC of `address` if it was heard from in the last
    /// [`NEIGHBOR_MICROS`] before `now`.
    pub fn find(&self, address: [u8; 4], now: u64) -> Option<[u8; 6]> {
        self.entries.iter().flatten().find_map(|&(known, mac, heard)| {
            (known == address && now.saturating_sub(heard) < NEIGHBOR_MICROS).then_some(mac)
        })
    }

    /// Forgets every neighbour (the address or its lease changed).
    pub fn clear(&mut self) {
        self.entries = [None; N];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_hops() {
        let lease = ([10, 0, 2, 15], 24);
        let router = Some([10, 0, 2, 2]);
        assert_eq!(next_hop([10, 0, 2, 3], lease, router), Some([10, 0, 2, 3]));
        assert_eq!(next_hop([192, 0, 2, 1], lease, router), router);
        assert_eq!(next_hop([192, 0, 2, 1], lease, None), None);
        for special in [[10, 0, 2, 255], [255; 4], [0; 4], [224, 0, 0, 251], [127, 0, 0, 1], [10, 0, 2, 15]] {
            assert_eq!(next_hop(special, lease, router), None, "{special:?}");
        }
        // A /0 lease: everything but the special ones is on the link.
        assert_eq!(next_hop([192, 0, 2, 1], ([10, 0, 2, 15], 0), router), Some([192, 0, 2, 1]));
        assert_eq!(next_hop([10, 0, 2, 3], ([10, 0, 2, 15], 31), router), None);
    }

    #[test]
    fn addressed_to_this_host() {
        let lease = ([10, 0, 2, 15], 24);
        for to in [[10, 0, 2, 15], [255; 4], [10, 0, 2, 255]] {
            assert!(addressed_to(to, lease), "{to:?}");
        }
        for to in [[10, 0, 2, 16], [10, 0, 3, 255], [0; 4], [224, 0, 0, 1]] {
            assert!(!addressed_to(to, lease), "{to:?}");
        }
        // A /31 or /32 has no subnet broadcast; a /0's is the limited one.
        assert!(!addressed_to([10, 0, 2, 15 | 1], ([10, 0, 2, 14], 31)));
        assert!(addressed_to([255; 4], ([10, 0, 2, 15], 0)));
    }

    #[test]
    fn neighbors_are_learnt_replaced_and_forgotten() {
        let mut neighbors = Neighbors::<2>::new();
        let (a, b, c) = ([10, 0, 2, 2], [10, 0, 2, 3], [10, 0, 2, 4]);
        neighbors.learn(a, [2; 6], 100);
        neighbors.learn(b, [3; 6], 200);
        assert_eq!(neighbors.find(a, 300), Some([2; 6]));
        // Heard again with a new MAC: the entry changes, none is taken.
        neighbors.learn(a, [9; 6], 400);
        assert_eq!(neighbors.find(a, 400), Some([9; 6]));
        // Full: the one heard from longest ago (b) goes.
        neighbors.learn(c, [4; 6], 500);
        assert_eq!(neighbors.find(b, 500), None);
        assert_eq!(neighbors.find(c, 500), Some([4; 6]));
        assert_eq!(neighbors.find(a, 400 + NEIGHBOR_MICROS - 1), Some([9; 6]));
        assert_eq!(neighbors.find(a, 400 + NEIGHBOR_MICROS), None);
        neighbors.clear();
        assert_eq!(neighbors.find(c, 500), None);
    }

    #[test]
    fn udp_datagrams_are_read_whole_or_not_at_all() {
        let headers = UdpHeaders {
            source_mac: [2; 6],
            destination_mac: [4; 6],
            source: ([10, 0, 2, 2], 7),
            destination: ([10, 0, 2, 15], 49152),
            identification: 9,
        };
        let mut frame = [0u8; UDP_PAYLOAD_AT + 5];
        frame[UDP_PAYLOAD_AT..].copy_from_slice(b"hello");
        let end = write_udp(&mut frame, &headers, 5).unwrap();
        let read = udp_datagram(&frame[..end]).unwrap();
        assert_eq!((read.from, read.to, &frame[read.payload]), (headers.source, headers.destination, &b"hello"[..]));
        // Padded to the Ethernet minimum: the IP length counts, not the frame's.
        let mut padded = [0u8; 60];
        padded[..end].copy_from_slice(&frame[..end]);
        assert_eq!(udp_datagram(&padded).map(|datagram| datagram.payload), Some(UDP_PAYLOAD_AT..end));
        let changed = |at: usize, value: u8| {
            let mut copy = frame;
            copy[at] = value;
            udp_datagram(&copy)
        };
        // IHL 4, version 6, TCP, more fragments, a fragment offset, a
        // header checksum off by one, a UDP length off by one, a total
        // length past the frame.
        for (at, value) in [(14, 0x44), (14, 0x65), (23, 6), (20, 0x60), (21, 1), (25, frame[25] ^ 1), (39, 12)] {
            assert_eq!(changed(at, value), None, "byte {at} = {value:#x}");
        }
        assert_eq!(udp_datagram(&frame[..end - 1]), None);
        for source in [[0; 4], [255; 4], [224, 0, 0, 1]] {
            let mut copy = frame;
            write_udp(&mut copy, &UdpHeaders { source: (source, 7), ..headers }, 5).unwrap();
            assert_eq!(udp_datagram(&copy), None, "{source:?}");
        }
    }

    #[test]
    fn arp_neighbors_are_learnt_only_from_packets_about_this_host() {
        const OWN: ([u8; 4], u8) = ([10, 0, 2, 15], 24);
        const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
        let gateway = ([10, 0, 2, 2], [0x52, 0x55, 10, 0, 2, 2]);
        let packet = |destination: [u8; 6], sender: [u8; 4], target: [u8; 4]| {
            let mut frame = [0u8; 42];
            frame[..6].copy_from_slice(&destination);
            frame[6..12].copy_from_slice(&gateway.1);
            frame[12..14].copy_from_slice(&ARP.to_be_bytes());
            frame[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
            frame[22..28].copy_from_slice(&gateway.1);
            frame[28..32].copy_from_slice(&sender);
            frame[38..42].copy_from_slice(&target);
            frame
        };
        // The gateway's answer to this host, or its request for it.
        assert_eq!(arp_neighbor(&packet(MAC, gateway.0, OWN.0), OWN, MAC), Some(gateway));
        assert_eq!(arp_neighbor(&packet([0xff; 6], gateway.0, OWN.0), OWN, MAC), Some(gateway));
        // Gratuitous, for another host, to another MAC, from outside the
        // subnet, from this host's own address or the subnet's broadcast.
        assert_eq!(arp_neighbor(&packet(MAC, gateway.0, gateway.0), OWN, MAC), None);
        assert_eq!(arp_neighbor(&packet(MAC, gateway.0, [10, 0, 2, 3]), OWN, MAC), None);
        assert_eq!(arp_neighbor(&packet([2; 6], gateway.0, OWN.0), OWN, MAC), None);
        assert_eq!(arp_neighbor(&packet(MAC, [192, 0, 2, 1], OWN.0), OWN, MAC), None);
        assert_eq!(arp_neighbor(&packet(MAC, OWN.0, OWN.0), OWN, MAC), None);
        assert_eq!(arp_neighbor(&packet(MAC, [10, 0, 2, 255], OWN.0), OWN, MAC), None);
    }

    #[test]
    fn arp_senders() {
        let mut frame = [0u8; 42];
        frame[12..14].copy_from_slice(&ARP.to_be_bytes());
        frame[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        frame[22..28].copy_from_slice(&[0x52, 0x55, 10, 0, 2, 2]);
        frame[28..32].copy_from_slice(&[10, 0, 2, 2]);
        assert_eq!(arp_sender(&frame), Some(([10, 0, 2, 2], [0x52, 0x55, 10, 0, 2, 2])));
        assert_eq!(arp_sender(&frame[..41]), None);
        let changed = |at: usize, value: u8| {
            let mut copy = frame;
            copy[at] = value;
            arp_sender(&copy)
        };
        // A request counts too; other operations, types and lengths not.
        assert!(changed(21, 1).is_some());
        for (at, value) in [(21, 3), (20, 1), (13, 0), (15, 6), (16, 0x86), (18, 8), (19, 16)] {
            assert_eq!(changed(at, value), None, "byte {at} = {value}");
        }
        // A group MAC or no address yet.
        assert_eq!(changed(22, 0x01), None);
        let mut unaddressed = frame;
        unaddressed[28..32].fill(0);
        assert_eq!(arp_sender(&unaddressed), None);
    }
}
