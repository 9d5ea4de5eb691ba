//! The datagrams waiting in `netd`'s UDP sockets for their apps: what
//! `netd`'s device layer steers there as frames come ([`Steering`]: each
//! datagram whole, with its sender, the stack never sees it), and what
//! `RECEIVE_FROM` and deliveries take, oldest first (docs/network.md,
//! "Apps' datagrams past the stack").
//!
//! The bytes are a ring over the socket's receive buffer in which a
//! datagram is never split: one that does not fit before the buffer's end
//! starts again at its beginning, if there is room there. No division
//! (smoltcp's rings take their positions modulo the capacity, which on the
//! Cortex-A7 is a library call each time).

use crate::frame;

/// A datagram's sender: its IPv4 address and port.
pub type From = ([u8; 4], u16);

/// Where one datagram lies in the buffer, and who sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    start: u16,
    len: u16,
    from: ([u8; 4], u16),
    /// It went back to the buffer's start because it did not fit before
    /// its end: the first of a new lap.
    lap: bool,
}

/// At most `N` datagrams in `bytes` (at most 64 KiB).
#[derive(Debug)]
pub struct Datagrams<'a, const N: usize> {
    bytes: &'a mut [u8],
    records: [Record; N],
    /// The oldest record, and how many there are.
    first: usize,
    count: usize,
    /// Where the next datagram's bytes go (past the newest one's).
    end: usize,
    /// The newest datagrams are a lap ahead of the oldest: they lie from
    /// the buffer's start up to `end`, before the oldest's bytes. (Told
    /// by this flag, not by where `end` is: empty datagrams make `end`
    /// equal the oldest's start either way.)
    wrapped: bool,
}

impl Record {
    const EMPTY: Record = Record { start: 0, len: 0, from: ([0; 4], 0), lap: false };
}

impl<'a, const N: usize> Datagrams<'a, N> {
    /// An empty queue over `bytes` (cut to 64 KiB).
    pub fn new(bytes: &'a mut [u8]) -> Self {
        let len = bytes.len().min(usize::from(u16::MAX));
        Datagrams { bytes: &mut bytes[..len], records: [Record::EMPTY; N], first: 0, count: 0, end: 0, wrapped: false }
    }

    /// A queue with no room at all (until [`Datagrams::new`] gives it
    /// some).
    pub const fn new_empty() -> Self {
        Datagrams { bytes: &mut [], records: [Record::EMPTY; N], first: 0, count: 0, end: 0, wrapped: false }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Datagrams waiting.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Adds a datagram from `from` at the back; `false` (nothing added) if
    /// `N` are waiting or its bytes do not fit in one piece.
    pub fn push(&mut self, from: From, payload: &[u8]) -> bool {
        if self.count == N {
            return false;
        }
        let len = payload.len();
        let oldest = usize::from(self.records[self.first].start);
        let (start, lap) = if self.count == 0 {
            // Empty: from the start, the whole buffer free.
            (0, false)
        } else if self.wrapped {
            // Free: between the newest's end and the oldest's start.
            if oldest - self.end < len {
                return false;
            }
            (self.end, false)
        } else if self.bytes.len() - self.end >= len {
            // Used: oldest..end; free: end..capacity, then 0..oldest.
            (self.end, false)
        } else if oldest >= len {
            (0, true)
        } else {
            return false;
        };
        let Some(room) = self.bytes.get_mut(start..start + len) else { return false };
        room.copy_from_slice(payload);
        let at = (self.first + self.count) % N;
        self.records[at] = Record { start: start as u16, len: len as u16, from, lap };
        self.count += 1;
        self.end = start + len;
        self.wrapped |= lap;
        true
    }

    /// The oldest datagram and its sender.
    pub fn first(&self) -> Option<(From, &[u8])> {
        if self.count == 0 {
            return None;
        }
        let record = self.records[self.first];
        let start = usize::from(record.start);
        Some((record.from, &self.bytes[start..start + usize::from(record.len)]))
    }

    /// Drops the oldest datagram; says whether there was one.
    pub fn pop(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        self.first = if self.first + 1 == N { 0 } else { self.first + 1 };
        self.count -= 1;
        if self.count == 0 {
            self.clear();
        } else if self.records[self.first].lap {
            // The oldest is now the new lap's first: one lap again.
            self.wrapped = false;
        }
        true
    }

    /// Drops every datagram (the socket closed, or has a new owner).
    pub fn clear(&mut self) {
        self.first = 0;
        self.count = 0;
        self.end = 0;
        self.wrapped = false;
    }
}

/// The apps' UDP sockets as the device layer sees them: `S` sockets,
/// each with its local port and a queue of at most `N` datagrams. A
/// datagram for one of those ports goes straight into its queue as it
/// comes.
#[derive(Debug)]
pub struct Steering<'a, const S: usize, const N: usize> {
    /// Each socket's local port; 0: none (closed).
    ports: [u16; S],
    /// Each socket's datagrams, oldest first.
    pub queues: [Datagrams<'a, N>; S],
    /// This host's address and prefix length while it has a lease (no
    /// datagram is steered without one).
    pub own: Option<([u8; 4], u8)>,
    /// This host's MAC: a frame for another (a NIC that hears every frame
    /// on the link) is not steered.
    pub mac: [u8; 6],
    /// A bit per queue a datagram came to since the server last looked.
    pub arrived: u32,
    /// Datagrams dropped because their socket's queue was full.
    pub overflowed: u32,
}

impl<const S: usize, const N: usize> Default for Steering<'_, S, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const S: usize, const N: usize> Steering<'a, S, N> {
    // A bit per socket in `arrived`.
    const FITS: () = assert!(S <= 32);

    /// No socket open, no room in any queue yet (`queues` gets each its
    /// buffer), no lease.
    pub const fn new() -> Self {
        let () = Self::FITS;
        Steering {
            ports: [0; S],
            queues: [const { Datagrams::new_empty() }; S],
            own: None,
            mac: [0; 6],
            arrived: 0,
            overflowed: 0,
        }
    }

    /// Socket `socket` now has local port `port`, and an empty queue
    /// (nothing of a former owner's is left in it).
    pub fn open(&mut self, socket: usize, port: u16) {
        self.ports[socket] = port;
        self.queues[socket].clear();
    }

    /// Socket `socket` is closed: its port takes nothing more, and what
    /// waited is dropped.
    pub fn close(&mut self, socket: usize) {
        self.open(socket, 0);
    }

    /// Puts the datagram in Ethernet frame `frame` into its socket's
    /// queue if it is a whole UDP datagram (`frame::udp_datagram`) for this
    /// host (its MAC or broadcast, `frame::addressed_to`) and an open
    /// socket's port, with a right checksum, from another host; says
    /// whether it was for such a socket (queued, dropped with its queue
    /// full, or dropped for its checksum or its sender). A frame it does
    /// not take is the stack's, its checksum unchecked.
    pub fn steer(&mut self, frame: &[u8]) -> bool {
        let Some(own) = self.own else { return false };
        let Some(datagram) = frame::udp_datagram(frame) else { return false };
        if frame[..6] != self.mac && frame[..6] != [0xff; 6] {
            return false;
        }
        let (to, port) = datagram.to;
        let socket = self.ports.iter().position(|&bound| bound == port && port != 0);
        let Some(socket) = socket.filter(|_| frame::addressed_to(to, own)) else { return false };
        // Dropped: a wrong checksum, or a sender that is this host or a
        // broadcast (no host sends from those; an answer to it would go
        // to the whole subnet).
        if !frame::udp_checksum_ok(frame, &datagram) || frame::addressed_to(datagram.from.0, own) {
            return true;
        }
        if self.queues[socket].push(datagram.from, &frame[datagram.payload]) {
            self.arrived |= 1 << socket;
        } else {
            self.overflowed = self.overflowed.saturating_add(1);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::collections::VecDeque;
    use std::vec::Vec;

    const FROM: From = ([10, 0, 2, 2], 7);

    #[test]
    fn an_empty_queue_takes_any_datagram_that_fits() {
        let mut bytes = [0u8; 100];
        let mut queue = Datagrams::<4>::new(&mut bytes);
        assert!(queue.first().is_none() && !queue.pop());
        assert!(queue.push(FROM, &[1; 100]));
        // Full to the last byte: an empty datagram still fits.
        assert!(queue.push(FROM, &[]));
        assert_eq!(queue.first(), Some((FROM, &[1u8; 100][..])));
        assert!(queue.pop());
        assert_eq!(queue.first(), Some((FROM, &[][..])));
        assert!(queue.pop() && queue.is_empty());
        assert!(!queue.push(FROM, &[2; 101]));
        assert!(queue.is_empty());
    }

    #[test]
    fn an_empty_datagram_blocks_nothing() {
        let mut bytes = [0u8; 10];
        let mut queue = Datagrams::<4>::new(&mut bytes);
        assert!(queue.push(FROM, &[]));
        assert!(queue.push(FROM, &[1; 6]));
        assert!(queue.push(FROM, &[2; 4]));
        assert!(queue.pop() && queue.pop());
        // The empty one at the end, then one that goes round to the start.
        assert!(queue.push(FROM, &[]));
        assert!(queue.push(FROM, &[3; 5]));
        assert_eq!(queue.len(), 3);
        assert!(queue.pop() && queue.pop());
        assert_eq!(queue.first(), Some((FROM, &[3u8; 5][..])));
        assert!(queue.push(FROM, &[4; 5]));
    }

    #[test]
    fn a_datagram_is_never_split_and_wraps_whole() {
        let mut bytes = [0u8; 10];
        let mut queue = Datagrams::<4>::new(&mut bytes);
        assert!(queue.push(([1; 4], 1), &[1; 4]));
        assert!(queue.push(([2; 4], 2), &[2; 4]));
        // 2 bytes left at the end, none at the start.
        assert!(!queue.push(FROM, &[3; 3]));
        assert!(queue.pop());
        // Now 4 at the start: it goes there whole.
        assert!(queue.push(([3; 4], 3), &[3; 3]));
        // Wrapped: one byte between its end and the oldest.
        assert!(!queue.push(FROM, &[4; 2]));
        assert!(queue.push(([4; 4], 4), &[4; 1]));
        assert_eq!(queue.first(), Some((([2; 4], 2), &[2u8; 4][..])));
        assert!(queue.pop());
        assert_eq!(queue.first(), Some((([3; 4], 3), &[3u8; 3][..])));
        assert!(queue.pop());
        assert_eq!(queue.first(), Some((([4; 4], 4), &[4u8; 1][..])));
        queue.clear();
        assert!(queue.is_empty() && queue.push(FROM, &[5; 10]));
    }

    /// Random pushes and pops against a plain queue: what comes out is
    /// what went in, in order; a push is refused only when the records are
    /// full or the bytes in use leave less than it needs; nothing is ever
    /// refused to an empty queue that it fits.
    #[test]
    fn random_operations_keep_order_and_refuse_only_when_full() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        for capacity in [1, 7, 64, 2048] {
            let mut bytes = std::vec![0u8; capacity];
            let mut queue = Datagrams::<8>::new(&mut bytes);
            let mut model: VecDeque<(From, Vec<u8>)> = VecDeque::new();
            for step in 0..20_000 {
                if next(3) == 0 {
                    let expected = model.pop_front();
                    assert_eq!(queue.first().map(|(from, bytes)| (from, bytes.to_vec())), expected.clone());
                    assert_eq!(queue.pop(), expected.is_some());
                } else {
                    // Empty datagrams often: anyone may send them.
                    let len = if next(4) == 0 { 0 } else { next(capacity / 2 + 2) };
                    let from = ([step as u8; 4], step as u16);
                    let payload: Vec<u8> = (0..len).map(|index| (index + step) as u8).collect();
                    let used: usize = model.iter().map(|(_, bytes)| bytes.len()).sum();
                    let pushed = queue.push(from, &payload);
                    if model.len() == 8 || used + len > capacity {
                        assert!(!pushed, "more than fits was taken");
                    }
                    // Room is whole: with no byte in use (only empty
                    // datagrams waiting), half the buffer always fits.
                    if model.len() < 8 && used == 0 && len <= capacity / 2 {
                        assert!(pushed, "{len} bytes refused with none in use");
                    }
                    if pushed {
                        model.push_back((from, payload));
                    } else {
                        assert!(!model.is_empty() || len > capacity, "an empty queue refused {len} bytes");
                    }
                }
                assert_eq!(queue.len(), model.len());
            }
        }
    }

    fn datagram(to: ([u8; 4], u16), payload: &[u8]) -> Vec<u8> {
        let headers = frame::UdpHeaders {
            source_mac: [2; 6],
            destination_mac: [4; 6],
            source: FROM,
            destination: to,
            identification: 1,
        };
        let mut out = std::vec![0u8; frame::UDP_PAYLOAD_AT + payload.len()];
        out[frame::UDP_PAYLOAD_AT..].copy_from_slice(payload);
        frame::write_udp(&mut out, &headers, payload.len()).unwrap();
        out
    }

    #[test]
    fn datagrams_go_to_their_open_socket_only() {
        const OWN: [u8; 4] = [10, 0, 2, 15];
        let (mut first, mut second) = ([0u8; 64], [0u8; 64]);
        let mut steering = Steering::<2, 2>::new();
        steering.mac = [4; 6];
        let [a, b] = &mut steering.queues;
        *a = Datagrams::new(&mut first);
        *b = Datagrams::new(&mut second);
        steering.open(1, 5000);
        // No lease yet: nothing is steered.
        assert!(!steering.steer(&datagram((OWN, 5000), b"early")));
        steering.own = Some((OWN, 24));
        assert!(steering.steer(&datagram((OWN, 5000), b"one")));
        assert_eq!(steering.queues[1].first(), Some((FROM, &b"one"[..])));
        assert!(steering.queues[0].is_empty());
        assert_eq!(steering.arrived, 0b10);
        // The subnet's broadcast counts; another host, another port, port
        // 0 or a frame that is no datagram do not.
        assert!(steering.steer(&datagram(([10, 0, 2, 255], 5000), b"two")));
        for other in [datagram(([10, 0, 2, 16], 5000), b"x"), datagram((OWN, 5001), b"x"), datagram((OWN, 0), b"x")] {
            assert!(!steering.steer(&other));
        }
        assert!(!steering.steer(&[0u8; 60]));
        // For another MAC: the stack's (which drops it).
        let mut elsewhere = datagram((OWN, 5000), b"x");
        elsewhere[..6].fill(6);
        assert!(!steering.steer(&elsewhere));

        // Full (two records): taken, dropped, counted.
        assert!(steering.steer(&datagram((OWN, 5000), b"three")));
        assert_eq!((steering.queues[1].len(), steering.overflowed), (2, 1));
        assert!(steering.queues[1].pop());
        // A wrong checksum: taken (it was for the socket) and dropped, with
        // room to spare.
        let mut damaged = datagram((OWN, 5000), b"bad");
        *damaged.last_mut().unwrap() ^= 1;
        assert!(steering.steer(&damaged));
        assert_eq!((steering.queues[1].len(), steering.overflowed), (1, 1));
        // From the subnet's broadcast address or this host's own: dropped.
        for sender in [[10, 0, 2, 255], OWN] {
            let mut forged = datagram((OWN, 5000), b"forged");
            let headers = frame::UdpHeaders {
                source_mac: [2; 6],
                destination_mac: [4; 6],
                source: (sender, 53),
                destination: (OWN, 5000),
                identification: 1,
            };
            frame::write_udp(&mut forged, &headers, 6).unwrap();
            assert!(steering.steer(&forged));
            assert_eq!(steering.queues[1].len(), 1, "{sender:?}");
        }
        // Closed: its port takes nothing, and what waited is gone; opened
        // again (a new owner), it starts empty.
        steering.close(1);
        assert!(steering.queues[1].is_empty());
        assert!(!steering.steer(&datagram((OWN, 5000), b"four")));
        steering.open(1, 5000);
        assert!(steering.queues[1].is_empty());
        assert!(steering.steer(&datagram((OWN, 5000), b"five")));
        assert_eq!(steering.queues[1].first(), Some((FROM, &b"five"[..])));
    }
}
