//! The TCP and UDP checksums of IPv4 frames (RFC 1071's Internet
//! checksum over the pseudo-header and the segment), done by `netd`'s
//! device layer instead of by smoltcp: the way a NIC with checksum
//! offload would, and fast.
//!
//! QEMU's user network offers virtio-net no checksum offload (its peer
//! has no virtio header), so the guest must compute every TCP and UDP
//! checksum itself. smoltcp's own loop costs about 3 instructions per
//! byte on the Cortex-A7 (`docs/benchmarks.md`); [`sum`] adds aligned
//! 32-bit words into a 64-bit accumulator, eight at a time, for well under
//! one. `netd` tells smoltcp that the device checks TCP and UDP
//! checksums, calls [`fill`] on each frame it sends and [`verify`] on each
//! one it receives, and drops a frame that fails.
//!
//! [`verify`] passes a frame only if it is not IPv4 TCP or UDP (ARP,
//! ICMP: smoltcp checks those), or if its transport checksum is right (a
//! UDP checksum of zero means "none" in IPv4). An IPv4 fragment fails:
//! `netd` does not reassemble, and a fragment's checksum covers a whole
//! it cannot see. So does a TCP or UDP packet too short or too long for
//! its frame, so nothing smoltcp reads past what was checked.
//! The IPv4 header's own checksum stays smoltcp's.

use zerocopy::FromBytes;

/// Ethernet header bytes, and where its EtherType is.
const ETHERNET_HEADER_BYTES: usize = 14;
const ETHER_TYPE_AT: usize = 12;
/// EtherType of IPv4.
const IPV4: u16 = 0x0800;
/// IP protocol numbers.
const TCP: u8 = 6;
const UDP: u8 = 17;
/// IPv4's "more fragments" flag and fragment offset, in the word at
/// byte 6 of its header.
const FRAGMENT_BITS: u16 = 0x3fff;

/// The smallest TCP and UDP headers, and where each keeps its checksum.
const TCP_HEADER_BYTES: usize = 20;
const TCP_CHECKSUM_AT: usize = 16;
const UDP_HEADER_BYTES: usize = 8;
const UDP_CHECKSUM_AT: usize = 6;

/// The ones' complement sum of `data` as big-endian 16-bit words (a last
/// odd byte is the high half of a word), not yet folded to 16 bits.
/// Adding two such sums is summing the concatenation when the first has
/// an even length.
pub fn sum(data: &[u8]) -> u32 {
    if data.as_ptr().addr().is_multiple_of(2) {
        return even_sum(data);
    }
    // Bytes before the first 4-byte-aligned one, then aligned words,
    // then what is left.
    let head = data.as_ptr().align_offset(4).min(data.len());
    let words = (data.len() - head) / 4;
    let (start, rest) = data.split_at(head);
    let (body, tail) = rest.split_at(words * 4);
    let mut total = u64::from(bytes_sum(start, 0));
    // `body` starts 4-aligned and holds whole words, so this cast cannot
    // fail; if it somehow did, the bytes are summed one by one instead.
    match <[u32]>::ref_from_bytes(body) {
        Ok(body) => {
            // Native (little-endian) words: each holds two byte-swapped
            // 16-bit words of the data. Their sum, folded and swapped,
            // is the sum of the data's words counted from `body`'s start.
            let folded = fold64(words_sum(body));
            let native_first = u16::from_ne_bytes(folded.to_be_bytes());
            // An odd `head` puts `body`'s words one byte off the data's.
            let body_sum = if head.is_multiple_of(2) { native_first } else { native_first.swap_bytes() };
            total += u64::from(body_sum);
        }
        Err(_) => total += u64::from(bytes_sum(body, head)),
    }
    total += u64::from(bytes_sum(tail, head + words * 4));
    u32::from(fold64(total))
}

/// [`sum`] of `data` that starts at an even address, as every TCP and UDP
/// segment in a frame does (the Ethernet and IPv4 headers have even
/// lengths; the buffers are word-aligned): its 16-bit units all lie at
/// even addresses, so they are summed as the CPU reads them (RFC 1071's
/// byte-order independence: the folded sum of native units, byte-swapped
/// on a little-endian CPU, is the sum of the big-endian ones). Two bytes
/// before the first aligned word, the words, then up to three bytes; a
/// last odd byte is a unit's first byte, the second zero. Without `sum`'s
/// general head and tail (byte by byte, through iterators) a call takes
/// about 33 instructions besides the words' instead of about 50, and
/// `netd` makes one or two a frame (traced, stop 30).
fn even_sum(data: &[u8]) -> u32 {
    let unit = |first: u8, second: u8| u32::from(u16::from_ne_bytes([first, second]));
    let (head, rest) =
        if data.as_ptr().addr() % 4 == 2 && data.len() >= 2 { data.split_at(2) } else { (&[][..], data) };
    let words = rest.len() / 4;
    let (body, tail) = rest.split_at(words * 4);
    // At most four units: no overflow.
    let mut small = match *head {
        [first, second] => unit(first, second),
        _ => 0,
    };
    small += match *tail {
        [first] => unit(first, 0),
        [first, second] => unit(first, second),
        [first, second, third] => unit(first, second) + unit(third, 0),
        _ => 0,
    };
    let body = match <[u32]>::ref_from_bytes(body) {
        Ok(body) => words_sum(body),
        // `body` starts 4-aligned and holds whole words, so this cannot
        // fail; if it somehow did, its units are summed one by one.
        Err(_) => body.chunks_exact(2).map(|pair| u64::from(unit(pair[0], pair[1]))).sum(),
    };
    // Into 32 bits, carries added back, then 16 (each step's result is
    // small enough for the next to leave no carry).
    let total = (body as u32).carrying_add((body >> 32) as u32, false);
    let total = total.0.carrying_add(small, total.1);
    let total = total.0 + u32::from(total.1);
    let total = (total & 0xffff) + (total >> 16);
    let total = (total & 0xffff) + (total >> 16);
    u32::from(u16::from_ne_bytes((total as u16).to_be_bytes()))
}

/// The sum of `words` as 32-bit numbers, carries kept (in the high half)
/// or added back in: the same once folded to 16 bits. On the A7 the
/// runtime's `adcs` loop (`tessera_rt::checksum`, about half the
/// instructions; `qemu:cpu-state` checks it against a plain sum);
/// elsewhere a 64-bit total.
#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
fn words_sum(words: &[u32]) -> u64 {
    u64::from(tessera_rt::checksum::ones_sum(words))
}

#[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
fn words_sum(words: &[u32]) -> u64 {
    let mut accumulator: u64 = 0;
    let mut chunks = words.chunks_exact(8);
    for chunk in &mut chunks {
        let pair = |a: u32, b: u32| u64::from(a) + u64::from(b);
        accumulator +=
            pair(chunk[0], chunk[1]) + pair(chunk[2], chunk[3]) + pair(chunk[4], chunk[5]) + pair(chunk[6], chunk[7]);
    }
    for &word in chunks.remainder() {
        accumulator += u64::from(word);
    }
    accumulator
}

/// `sum` folded into 16 bits, with its carries added back.
fn fold64(mut value: u64) -> u16 {
    while value > 0xffff {
        value = (value & 0xffff) + (value >> 16);
    }
    value as u16
}

/// The sum of `bytes`, the first of which is byte `offset` of the data
/// (even offsets are high halves).
fn bytes_sum(bytes: &[u8], offset: usize) -> u32 {
    bytes
        .iter()
        .enumerate()
        .map(|(index, &byte)| if (offset + index).is_multiple_of(2) { u32::from(byte) << 8 } else { u32::from(byte) })
        .sum()
}

/// The checksum field's value for data whose [`sum`]s add to `total`:
/// the ones' complement of the folded sum.
pub fn finish(total: u32) -> u16 {
    !fold64(u64::from(total))
}

/// A TCP or UDP segment inside an IPv4 frame, located (also what
/// `frame::udp_datagram` reads a datagram from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Where the segment starts in the frame and how long it is.
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// Its protocol.
    pub(crate) protocol: u8,
    /// The pseudo-header's sum: addresses, protocol, length.
    pub(crate) pseudo: u32,
}

impl Segment {
    /// Where the checksum field is, from the segment's start.
    fn checksum_at(&self) -> usize {
        if self.protocol == TCP {
            TCP_CHECKSUM_AT
        } else {
            UDP_CHECKSUM_AT
        }
    }
}

/// What is in a frame, for the checksums.
pub(crate) enum Contents {
    /// Not IPv4 TCP or UDP: not this module's business.
    Other,
    /// A TCP or UDP segment.
    Segment(Segment),
    /// IPv4 TCP or UDP that cannot be checked: a fragment, or lengths
    /// that do not fit the frame.
    Unchecked,
}

#[inline(always)]
fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Finds the TCP or UDP segment in Ethernet frame `frame`.
pub(crate) fn locate(frame: &[u8]) -> Contents {
    // The Ethernet header and the smallest IPv4 header as one array, so
    // the reads below need no bounds checks (a frame shorter than that is
    // not IPv4 TCP or UDP).
    let Some(Ok(head)) = frame.get(..ETHERNET_HEADER_BYTES + 20).map(<&[u8; ETHERNET_HEADER_BYTES + 20]>::try_from)
    else {
        return Contents::Other;
    };
    let word = |at: usize| u16::from_be_bytes([head[at], head[at + 1]]);
    let protocol = head[ETHERNET_HEADER_BYTES + 9];
    if word(ETHER_TYPE_AT) != IPV4 || (protocol != TCP && protocol != UDP) {
        return Contents::Other;
    }
    let ip = ETHERNET_HEADER_BYTES;
    let version = head[ip];
    let header = usize::from(version & 0x0f) * 4;
    let total = usize::from(word(ip + 2));
    let fragment = word(ip + 6) & FRAGMENT_BITS != 0;
    if version >> 4 != 4 || header < 20 || total < header || total > frame.len() - ip || fragment {
        return Contents::Unchecked;
    }
    let len = total - header;
    let smallest = if protocol == TCP { TCP_HEADER_BYTES } else { UDP_HEADER_BYTES };
    // UDP states its own length too; it must be the IP payload's.
    if len < smallest || (protocol == UDP && usize::from(be16(frame, ip + header + 4)) != len) {
        return Contents::Unchecked;
    }
    // Source and destination addresses are bytes 12..20: four words,
    // added as they are (a call of `sum` for 8 bytes cost more than this),
    // written out (at opt-level "s" an array of them was a loop through
    // the stack, about 60 instructions more a frame).
    let addresses =
        u32::from(word(ip + 12)) + u32::from(word(ip + 14)) + u32::from(word(ip + 16)) + u32::from(word(ip + 18));
    let pseudo = addresses + u32::from(protocol) + len as u32;
    Contents::Segment(Segment { start: ETHERNET_HEADER_BYTES + header, len, protocol, pseudo })
}

/// Computes and writes the TCP or UDP checksum of Ethernet frame `frame`
/// (whatever its checksum field held); returns whether it did (a frame
/// that is not IPv4 TCP or UDP is left alone).
pub fn fill(frame: &mut [u8]) -> bool {
    let Contents::Segment(segment) = locate(frame) else { return false };
    let at = segment.start + segment.checksum_at();
    frame[at..at + 2].fill(0);
    let mut checksum = finish(segment.pseudo + sum(&frame[segment.start..segment.start + segment.len]));
    // In UDP zero means "no checksum": a computed zero is sent as all
    // ones, its equal in ones' complement.
    if segment.protocol == UDP && checksum == 0 {
        checksum = 0xffff;
    }
    frame[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
    true
}

/// Whether Ethernet frame `frame` may go to the stack: it is not IPv4
/// TCP or UDP, or its checksum is right.
pub fn verify(frame: &[u8]) -> bool {
    match locate(frame) {
        Contents::Other => true,
        Contents::Unchecked => false,
        Contents::Segment(segment) => segment_ok(frame, &segment),
    }
}

/// Whether the checksum of `segment`, located in `frame`, is right (a UDP
/// checksum of zero: none, so right).
pub(crate) fn segment_ok(frame: &[u8], segment: &Segment) -> bool {
    let at = segment.start + segment.checksum_at();
    if segment.protocol == UDP && be16(frame, at) == 0 {
        return true;
    }
    // With the checksum field included, a right sum folds to all ones.
    fold64(u64::from(segment.pseudo + sum(&frame[segment.start..segment.start + segment.len]))) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071's definition, word by word.
    fn reference(data: &[u8]) -> u16 {
        let mut total: u32 = 0;
        for pair in data.chunks(2) {
            total += u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
        }
        fold64(u64::from(total))
    }

    #[test]
    fn rfc_1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(fold64(u64::from(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))), 0xddf2);
    }

    #[test]
    fn sum_matches_the_definition_at_every_alignment_and_length() {
        // Aligned, so that the starts below take both paths (even and odd
        // addresses) and every start within a word.
        #[repr(align(8))]
        struct Aligned([u8; 300]);
        let aligned = Aligned(core::array::from_fn(|index| (index * 37 + 11) as u8));
        let data = &aligned.0;
        for start in 0..8 {
            for len in 0..data.len() - start {
                let slice = &data[start..start + len];
                assert_eq!(fold64(u64::from(sum(slice))), reference(slice), "start {start} len {len}");
            }
        }
    }

    #[test]
    fn sums_of_all_ones_do_not_overflow() {
        let data = [0xff_u8; 1500];
        assert_eq!(fold64(u64::from(sum(&data))), reference(&data));
    }
}
