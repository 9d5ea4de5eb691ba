//! Which app owns which of the network server's sockets, and what each
//! connection is in.
//!
//! `netd` has a fixed pool of sockets (`tessera_servers::net::POOL_SOCKETS`
//! TCP ones, then `UDP_SOCKETS` UDP ones, each with its own buffers); an
//! open socket is a [`Kind`]: a TCP stream, a TCP listener or a UDP
//! socket, and is opened in the part of the pool of its protocol
//! ([`SocketTable::open_in`]). [`SocketTable`] says, for each pool slot,
//! whether it is free, open for an app, or closing (the app let it go and
//! the stack is finishing the connection: the slot is not reused until
//! the stack is done). An app names its sockets by its own numbers,
//! `0..MAX_SOCKETS`: the lowest number free in that app, so numbers are
//! meaningful only with the app's badge, and no app can name another's
//! socket. An app has at most [`MAX_SOCKETS`] open; the next open, or one
//! when the pool is empty, is `OutOfMemory`.
//!
//! [`Phase`] is what the app is told about a connection
//! (`tessera_abi::app::net::state`), derived from the TCP states the stack
//! goes through ([`Phase::observe`]): a connection that ends before it was
//! made was refused, one that ends without the peer's FIN after it was
//! made was reset.
//!
//! A listener's connection ([`SocketTable::accept`]) stays in the
//! listener's slot and becomes a stream under a new number; the listener
//! goes on in another free slot under its old number (if there is one:
//! smoltcp's listening socket is the connection once a SYN comes, so a
//! port has one connection waiting at a time).

use core::ops::Range;

use tessera_abi::app::net::{state, MAX_SOCKETS, UDP_PEERS};
use tessera_abi::Error;

/// The TCP states (RFC 793), as `netd` reads them from its stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// No connection.
    Closed,
    /// Waiting for a connection.
    Listen,
    /// Our SYN sent, waiting for the answer.
    SynSent,
    /// A SYN received and answered.
    SynReceived,
    /// Connected.
    Established,
    /// We closed; our FIN not yet acknowledged.
    FinWait1,
    /// We closed; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed (its FIN came); we may still send.
    CloseWait,
    /// Both closed at once.
    Closing,
    /// The peer closed, then we did; waiting for the last acknowledgement.
    LastAck,
    /// Both closed; waiting out stray segments.
    TimeWait,
}

/// What an app is told about a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Being made.
    Connecting,
    /// Made: bytes go both ways.
    Established,
    /// The peer finished sending (its FIN came); what it sent can still be
    /// received.
    Closed,
    /// Ended by the peer (or the stack) without a FIN after it was made.
    Reset,
    /// Ended before it was made: refused, or given up.
    Refused,
}

impl Phase {
    /// Its number in the protocol (`tessera_abi::app::net::state`).
    pub const fn code(self) -> u32 {
        match self {
            Phase::Connecting => state::CONNECTING,
            Phase::Established => state::ESTABLISHED,
            Phase::Closed => state::CLOSED,
            Phase::Reset => state::RESET,
            Phase::Refused => state::REFUSED,
        }
    }

    /// The phase after the stack was seen in `tcp`. `Closed`, `Reset`
    /// and `Refused` are final.
    pub fn observe(self, tcp: TcpState) -> Phase {
        use TcpState as T;
        match (self, tcp) {
            (Phase::Closed | Phase::Reset | Phase::Refused, _) => self,
            (_, T::CloseWait | T::Closing | T::LastAck | T::TimeWait) => Phase::Closed,
            (_, T::Established | T::FinWait1 | T::FinWait2) => Phase::Established,
            (Phase::Connecting, T::Listen | T::SynSent | T::SynReceived) => Phase::Connecting,
            (Phase::Connecting, T::Closed) => Phase::Refused,
            // Back to an opening state after it was made: the stack
            // dropped the connection.
            (Phase::Established, T::Closed | T::Listen | T::SynSent | T::SynReceived) => Phase::Reset,
        }
    }
}

/// What an open socket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A TCP connection (made by a connect, or taken from a listener).
    Stream,
    /// A TCP socket listening on a server port.
    Listener,
    /// A UDP socket.
    Datagram,
}

/// One slot of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Nobody's: the next open may take it.
    Free,
    /// App `client`'s socket number `socket`.
    Open {
        /// The owner's client number.
        client: u32,
        /// The owner's number for it.
        socket: u32,
        /// What it is.
        kind: Kind,
        /// What the owner is told about it (streams; `Connecting` for the
        /// others).
        phase: Phase,
    },
    /// Closed by its owner (or taken back when the owner ended); the stack
    /// is finishing the connection. It still counts against the owner's
    /// [`MAX_SOCKETS`] ([`SocketTable::held_by`]), so an app cannot hold
    /// more of the pool by closing connections that linger.
    Closing {
        /// The owner's client number.
        client: u32,
    },
}

/// The owners of a pool of `POOL` sockets (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketTable<const POOL: usize> {
    slots: [Slot; POOL],
    /// A bit per slot that is not [`Slot::Free`] (see [`Self::busy`]).
    busy: u32,
}

impl<const POOL: usize> Default for SocketTable<POOL> {
    fn default() -> Self {
        SocketTable::new()
    }
}

impl<const POOL: usize> SocketTable<POOL> {
    /// Every slot free.
    pub const fn new() -> SocketTable<POOL> {
        // `busy` has a bit per slot.
        assert!(POOL <= u32::BITS as usize);
        SocketTable { slots: [Slot::Free; POOL], busy: 0 }
    }

    /// A bit per slot in use (open or closing): bit `i` for slot `i`. The
    /// network server's loop visits only those.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Slot `index`.
    pub fn slot(&self, index: usize) -> Option<Slot> {
        self.slots.get(index).copied()
    }

    /// How many sockets app `client` has open.
    pub fn open_by(&self, client: u32) -> usize {
        self.slots.iter().filter(|slot| matches!(slot, Slot::Open { client: owner, .. } if *owner == client)).count()
    }

    /// How many slots app `client` holds: open, or closing (its
    /// connections the stack is still finishing).
    pub fn held_by(&self, client: u32) -> usize {
        self.slots
            .iter()
            .filter(|slot| {
                matches!(slot, Slot::Open { client: owner, .. } | Slot::Closing { client: owner } if *owner == client)
            })
            .count()
    }

    /// Opens a stream for app `client` anywhere in the pool (see
    /// [`open_in`](Self::open_in)).
    pub fn open(&mut self, client: u32) -> Result<(u32, usize), Error> {
        self.open_in(client, Kind::Stream, 0..POOL)
    }

    /// The lowest number app `client` has free.
    fn free_number(&self, client: u32) -> Option<u32> {
        (0..MAX_SOCKETS).find(|&number| self.find(client, number).is_none())
    }

    /// Opens a socket of `kind` for app `client` in the pool slots `slots`:
    /// its number (the lowest the app has free) and the slot, now
    /// `Connecting`. `OutOfMemory` if the app has [`MAX_SOCKETS`] open or
    /// no slot there is free.
    pub fn open_in(&mut self, client: u32, kind: Kind, slots: Range<usize>) -> Result<(u32, usize), Error> {
        let socket = self.free_number(client).ok_or(Error::OutOfMemory)?;
        let index = self.free_slot(slots).ok_or(Error::OutOfMemory)?;
        self.slots[index] = Slot::Open { client, socket, kind, phase: Phase::Connecting };
        self.busy |= 1 << index;
        Ok((socket, index))
    }

    /// The first free slot among `slots`.
    fn free_slot(&self, slots: Range<usize>) -> Option<usize> {
        slots.into_iter().find(|&index| self.slots.get(index) == Some(&Slot::Free))
    }

    /// How many slots of `slots` are free.
    pub fn free_in(&self, slots: Range<usize>) -> usize {
        slots.filter(|&index| self.slots.get(index) == Some(&Slot::Free)).count()
    }

    /// How many sockets app `client` has open in `slots`.
    pub fn open_in_range(&self, client: u32, slots: Range<usize>) -> usize {
        slots
            .filter(
                |&index| matches!(self.slots.get(index), Some(Slot::Open { client: owner, .. }) if *owner == client),
            )
            .count()
    }

    /// Whether app `client` may take one more slot of `slots` when
    /// `waiting` other apps hold none there and are each promised one
    /// (every registered app is sure of a first socket): its first socket
    /// needs one free slot, any further one must leave a free slot for
    /// each of the `waiting`.
    pub fn may_take(&self, client: u32, slots: Range<usize>, waiting: usize) -> bool {
        let free = self.free_in(slots.clone());
        if self.open_in_range(client, slots) == 0 {
            free >= 1
        } else {
            free > waiting
        }
    }

    /// The slot of app `client`'s socket `socket`, if it has that one open.
    pub fn find(&self, client: u32, socket: u32) -> Option<usize> {
        // Only a slot in use can hold it: visit those, lowest first as a
        // scan would (`netd` looks a socket up at every request, with
        // most of the pool free).
        let mut busy = self.busy;
        while busy != 0 {
            let index = busy.trailing_zeros() as usize;
            busy &= busy - 1;
            if let Some(Slot::Open { client: owner, socket: number, .. }) = self.slots.get(index) {
                if *owner == client && *number == socket {
                    return Some(index);
                }
            }
        }
        None
    }

    /// The slot and kind of app `client`'s socket `socket`.
    pub fn find_kind(&self, client: u32, socket: u32) -> Option<(usize, Kind)> {
        let index = self.find(client, socket)?;
        match self.slots[index] {
            Slot::Open { kind, .. } => Some((index, kind)),
            _ => None,
        }
    }

    /// App `client` takes the connection its listener `listener` holds:
    /// the listener's slot becomes a stream under the app's lowest free
    /// number, `Established`, and the listener moves to the first free
    /// slot of `slots` under its number. Returns the stream's number and
    /// slot, and the listener's new slot (`None`: no slot was free, the
    /// listener is closed and its number free). `InvalidArgument` if
    /// `listener` is not a listener of the app's, `OutOfMemory` if the app
    /// has no number free for the stream (nothing changes then).
    pub fn accept(
        &mut self,
        client: u32,
        listener: u32,
        slots: Range<usize>,
    ) -> Result<((u32, usize), Option<usize>), Error> {
        let (index, kind) = self.find_kind(client, listener).ok_or(Error::InvalidArgument)?;
        if kind != Kind::Listener {
            return Err(Error::InvalidArgument);
        }
        let stream = (0..MAX_SOCKETS)
            .find(|&number| number != listener && self.find(client, number).is_none())
            .ok_or(Error::OutOfMemory)?;
        self.slots[index] = Slot::Open { client, socket: stream, kind: Kind::Stream, phase: Phase::Established };
        self.busy |= 1 << index;
        let moved = self.free_slot(slots);
        if let Some(to) = moved {
            self.slots[to] = Slot::Open { client, socket: listener, kind: Kind::Listener, phase: Phase::Connecting };
            self.busy |= 1 << to;
        }
        Ok(((stream, index), moved))
    }

    /// Records that the stack was seen in `tcp` for slot `index` (an open
    /// one; others are left as they are); returns its phase now.
    pub fn observe(&mut self, index: usize, tcp: TcpState) -> Option<Phase> {
        match self.slots.get_mut(index)? {
            Slot::Open { kind: Kind::Stream, phase, .. } => {
                *phase = phase.observe(tcp);
                Some(*phase)
            }
            Slot::Open { phase, .. } => Some(*phase),
            _ => None,
        }
    }

    /// App `client` closes its socket `socket`: the slot is closing and the
    /// number free. Returns the slot, or `None` if the app has no such
    /// socket.
    pub fn close(&mut self, client: u32, socket: u32) -> Option<usize> {
        let index = self.find(client, socket)?;
        self.slots[index] = Slot::Closing { client };
        Some(index)
    }

    /// Frees slot `index` at once (an open that failed before the stack
    /// did anything with it, or a closing slot the stack is done with).
    pub fn free(&mut self, index: usize) {
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Slot::Free;
            self.busy &= !(1 << index);
        }
    }

    /// Closes every socket of app `client` (it ended or was registered
    /// again), calling `each` with each slot.
    pub fn close_all(&mut self, client: u32, mut each: impl FnMut(usize)) {
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if matches!(slot, Slot::Open { client: owner, .. } if *owner == client) {
                *slot = Slot::Closing { client };
                each(index);
            }
        }
    }

    /// The slots that are closing.
    pub fn closing(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().enumerate().filter(|(_, slot)| matches!(slot, Slot::Closing { .. })).map(|(index, _)| index)
    }

    /// The slot app `client` must give up before it takes one more: if it
    /// holds [`MAX_SOCKETS`] slots ([`held_by`](Self::held_by)), the one of
    /// its closing ones that was closed first (`closed_at`: when each slot
    /// was closed); `None` if it holds fewer, or none of them is closing
    /// (then all its numbers are taken, and the open is refused).
    pub fn to_give_up(&self, client: u32, closed_at: &[u64; POOL]) -> Option<usize> {
        if self.held_by(client) < MAX_SOCKETS as usize {
            return None;
        }
        (0..POOL).filter(|&index| self.slots[index] == Slot::Closing { client }).min_by_key(|&index| closed_at[index])
    }

    /// The open slots.
    pub fn open_slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().enumerate().filter(|(_, slot)| matches!(slot, Slot::Open { .. })).map(|(index, _)| index)
    }
}

/// The latest hosts that sent to a UDP server socket, which it may
/// answer (`tessera_abi::app::net::UDP_PEERS` of them, the oldest
/// forgotten first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peers {
    peers: [Option<([u8; 4], u16)>; UDP_PEERS],
    next: usize,
}

impl Peers {
    /// None yet.
    pub const fn new() -> Peers {
        Peers { peers: [None; UDP_PEERS], next: 0 }
    }

    /// `address`:`port` sent a datagram.
    pub fn heard(&mut self, address: [u8; 4], port: u16) {
        if self.contains(address, port) {
            return;
        }
        self.peers[self.next] = Some((address, port));
        self.next = (self.next + 1) % UDP_PEERS;
    }

    /// Whether `address`:`port` is one of the latest senders.
    pub fn contains(&self, address: [u8; 4], port: u16) -> bool {
        self.peers.contains(&Some((address, port)))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    const ALL: [TcpState; 11] = [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
    ];

    fn through(states: &[TcpState]) -> Phase {
        states.iter().fold(Phase::Connecting, |phase, &tcp| phase.observe(tcp))
    }

    #[test]
    fn phases_follow_the_connection() {
        use TcpState as T;
        assert_eq!(through(&[T::SynSent]), Phase::Connecting);
        assert_eq!(through(&[T::SynSent, T::Established]), Phase::Established);
        // The peer answers, sends and closes before netd looks.
        assert_eq!(through(&[T::SynSent, T::CloseWait]), Phase::Closed);
        assert_eq!(through(&[T::SynSent, T::Established, T::CloseWait, T::Closed]), Phase::Closed);
        // A RST to the SYN (what QEMU's user network sends when nothing
        // listens on the host), or the stack giving up.
        assert_eq!(through(&[T::SynSent, T::Closed]), Phase::Refused);
        assert_eq!(through(&[T::SynSent, T::Closed, T::Established]), Phase::Refused);
        assert_eq!(through(&[T::SynSent, T::Established, T::Closed]), Phase::Reset);
        assert_eq!(through(&[T::Established, T::SynSent]), Phase::Reset);
        assert_eq!(through(&[T::Established, T::Closed, T::CloseWait]), Phase::Reset);
        for phase in [Phase::Closed, Phase::Reset, Phase::Refused] {
            assert!(ALL.iter().all(|&tcp| phase.observe(tcp) == phase), "{phase:?} is final");
        }
        let codes: Vec<u32> = [Phase::Connecting, Phase::Established, Phase::Closed, Phase::Reset, Phase::Refused]
            .map(Phase::code)
            .into();
        assert_eq!(codes, [state::CONNECTING, state::ESTABLISHED, state::CLOSED, state::RESET, state::REFUSED]);
    }

    /// An app's closed connections that linger count against its
    /// sockets: it gives up its own oldest before it takes another slot,
    /// so closing does not let it hold more of the pool (or take others').
    #[test]
    fn closing_slots_count_against_their_owner() {
        let mut table = SocketTable::<8>::new();
        let mut closed_at = [0u64; 8];
        for _ in 0..MAX_SOCKETS {
            table.open(1).unwrap();
        }
        table.open(2).unwrap();
        assert_eq!(table.to_give_up(1, &closed_at), None, "all open: its numbers are taken instead");
        for (socket, at) in [(2, 30), (0, 10), (3, 20)] {
            let slot = table.close(1, socket).unwrap();
            closed_at[slot] = at;
        }
        table.close(2, 0).unwrap();
        assert_eq!((table.open_by(1), table.held_by(1), table.held_by(2)), (1, 4, 1));
        // Socket 0 was closed first (slot 0): that one goes.
        assert_eq!(table.to_give_up(1, &closed_at), Some(0));
        table.free(0);
        assert_eq!(table.to_give_up(1, &closed_at), None);
        assert_eq!(table.closing().count(), 3, "app 2's closing slot is never app 1's to give up");
        assert_eq!(table.to_give_up(2, &closed_at), None);
    }

    #[test]
    fn numbers_are_per_app_and_bounded() {
        let mut table = SocketTable::<6>::new();
        assert_eq!(table.open(1), Ok((0, 0)));
        assert_eq!(table.open(2), Ok((0, 1)));
        assert_eq!(table.open(1), Ok((1, 2)));
        assert_eq!(table.find(1, 1), Some(2));
        assert_eq!(table.find(2, 1), None, "app 2 has no socket 1");
        assert_eq!(table.find(3, 0), None);
        assert_eq!(table.open(1), Ok((2, 3)));
        assert_eq!(table.open(1), Ok((3, 4)));
        assert_eq!(table.open_by(1), 4);
        assert_eq!(table.open(1), Err(Error::OutOfMemory), "a fifth socket");
        // Closing frees the number but not the slot.
        assert_eq!(table.close(1, 1), Some(2));
        assert_eq!(table.close(1, 1), None);
        assert_eq!(table.slot(2), Some(Slot::Closing { client: 1 }));
        assert_eq!(table.open(1), Ok((1, 5)));
        assert_eq!(table.open(2), Err(Error::OutOfMemory), "the pool is empty");
        assert_eq!(table.closing().collect::<Vec<_>>(), [2]);
        table.free(2);
        assert_eq!(table.open(2), Ok((1, 2)));
        let mut closed = Vec::new();
        table.close_all(1, |index| closed.push(index));
        assert_eq!(closed, [0, 3, 4, 5]);
        assert_eq!(table.open_by(1), 0);
        assert_eq!(table.open_slots().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(table.observe(1, TcpState::Established), Some(Phase::Established));
        assert_eq!(table.observe(0, TcpState::Established), None, "closing slots have no phase");
        assert_eq!(table.observe(99, TcpState::Established), None);
        assert_eq!(table.find(2, 0), Some(1), "observing keeps the owner");
    }

    #[test]
    fn peers_are_the_latest_senders() {
        let mut peers = Peers::new();
        assert!(!peers.contains([10, 0, 2, 2], 7));
        peers.heard([10, 0, 2, 2], 7);
        peers.heard([10, 0, 2, 2], 7);
        assert!(peers.contains([10, 0, 2, 2], 7));
        assert!(!peers.contains([10, 0, 2, 2], 8), "another port of the same host");
        for port in 1..=UDP_PEERS as u16 {
            peers.heard([10, 0, 2, 9], port);
        }
        assert!(!peers.contains([10, 0, 2, 2], 7), "the oldest went first");
        assert!((1..=UDP_PEERS as u16).all(|port| peers.contains([10, 0, 2, 9], port)));
    }

    #[test]
    fn kinds_open_in_their_part_of_the_pool() {
        let mut table = SocketTable::<6>::new();
        // Slots 0..4 are TCP, 4..6 UDP.
        assert_eq!(table.open_in(1, Kind::Datagram, 4..6), Ok((0, 4)));
        assert_eq!(table.open_in(1, Kind::Listener, 0..4), Ok((1, 0)));
        assert_eq!(table.find_kind(1, 0), Some((4, Kind::Datagram)));
        assert_eq!(table.find_kind(1, 1), Some((0, Kind::Listener)));
        assert_eq!(table.open_in(2, Kind::Datagram, 4..6), Ok((0, 5)));
        assert_eq!(table.open_in(2, Kind::Datagram, 4..6), Err(Error::OutOfMemory), "the UDP part is full");
        assert_eq!(table.open_in(2, Kind::Datagram, 4..99), Err(Error::OutOfMemory), "slots beyond the pool");
        // Only streams follow TCP states.
        assert_eq!(table.observe(0, TcpState::Closed), Some(Phase::Connecting));
        assert_eq!(table.observe(4, TcpState::Established), Some(Phase::Connecting));
    }

    #[test]
    fn every_app_is_sure_of_a_first_socket() {
        let mut table = SocketTable::<4>::new();
        // Apps 2 and 3 are registered and hold nothing: app 1 may take
        // two slots and no more.
        assert!(table.may_take(1, 0..4, 2));
        table.open_in(1, Kind::Stream, 0..4).unwrap();
        assert!(table.may_take(1, 0..4, 2), "3 free, 2 promised");
        table.open_in(1, Kind::Stream, 0..4).unwrap();
        assert!(!table.may_take(1, 0..4, 2), "2 free, both promised");
        assert_eq!((table.free_in(0..4), table.open_in_range(1, 0..4)), (2, 2));
        // A waiting app's first socket is its own.
        assert!(table.may_take(2, 0..4, 1));
        table.open_in(2, Kind::Stream, 0..4).unwrap();
        assert!(table.may_take(3, 0..4, 0));
        table.open_in(3, Kind::Stream, 0..4).unwrap();
        assert!(!table.may_take(3, 0..4, 0), "the pool is full");
        assert!(!table.may_take(4, 0..4, 0), "even a first needs a free slot");
        // Other parts of the pool do not count.
        assert_eq!(table.open_in_range(1, 2..4), 0);
    }

    #[test]
    fn accepting_moves_the_listener() {
        let mut table = SocketTable::<4>::new();
        assert_eq!(table.open_in(1, Kind::Listener, 0..4), Ok((0, 0)));
        assert_eq!(table.accept(1, 0, 0..4), Ok(((1, 0), Some(1))));
        assert_eq!(
            table.slot(0),
            Some(Slot::Open { client: 1, socket: 1, kind: Kind::Stream, phase: Phase::Established })
        );
        assert_eq!(table.find_kind(1, 0), Some((1, Kind::Listener)));
        // Not a listener, not the app's, or no such socket.
        assert_eq!(table.accept(1, 1, 0..4), Err(Error::InvalidArgument));
        assert_eq!(table.accept(2, 0, 0..4), Err(Error::InvalidArgument));
        assert_eq!(table.accept(1, 3, 0..4), Err(Error::InvalidArgument));
        // The pool fills: the last accept closes the listener.
        assert_eq!(table.accept(1, 0, 0..4), Ok(((2, 1), Some(2))));
        assert_eq!(table.open(2), Ok((0, 3)));
        assert_eq!(table.accept(1, 0, 0..4), Ok(((3, 2), None)));
        assert_eq!(table.find(1, 0), None, "the listener is closed");
        assert_eq!(table.open_by(1), 3);
        // No number left for the stream: nothing changes.
        let mut full = SocketTable::<8>::new();
        full.open_in(1, Kind::Listener, 0..8).unwrap();
        for _ in 1..MAX_SOCKETS {
            full.open(1).unwrap();
        }
        let before = full;
        assert_eq!(full.accept(1, 0, 0..8), Err(Error::OutOfMemory));
        assert_eq!(full, before);
    }

    /// Random opens, closes, observations and frees against a plain model:
    /// an app never holds more than `MAX_SOCKETS`, never two sockets with
    /// one number, and always finds exactly what it opened.
    #[test]
    fn the_table_agrees_with_a_model() {
        let mut rng = tessera_testing::Rng::new(0x5eed_7ab1e);
        for _ in 0..200 {
            let mut table = SocketTable::<8>::new();
            // (client, socket, slot) of every open socket; closing slots.
            let mut open: Vec<(u32, u32, usize)> = Vec::new();
            let mut closing: Vec<usize> = Vec::new();
            for _ in 0..200 {
                let client = 1 + rng.below(4) as u32;
                match rng.below(5) {
                    0 | 1 => {
                        let result = table.open(client);
                        let mine = open.iter().filter(|(owner, _, _)| *owner == client).count();
                        let full = open.len() + closing.len() == 8;
                        match result {
                            Ok((socket, slot)) => {
                                assert!(mine < MAX_SOCKETS as usize && !full);
                                assert!(!open.iter().any(|&(o, s, _)| o == client && s == socket));
                                assert!(!open.iter().any(|&(_, _, used)| used == slot) && !closing.contains(&slot));
                                let lowest =
                                    (0..MAX_SOCKETS).find(|n| !open.iter().any(|&(o, s, _)| o == client && s == *n));
                                assert_eq!(Some(socket), lowest);
                                open.push((client, socket, slot));
                            }
                            Err(error) => {
                                assert_eq!(error, Error::OutOfMemory);
                                assert!(mine == MAX_SOCKETS as usize || full);
                            }
                        }
                    }
                    2 => {
                        let socket = rng.below(5) as u32;
                        let at = open.iter().position(|&(o, s, _)| o == client && s == socket);
                        assert_eq!(table.close(client, socket), at.map(|at| open[at].2));
                        if let Some(at) = at {
                            closing.push(open.remove(at).2);
                        }
                    }
                    3 => {
                        if !closing.is_empty() {
                            let slot = closing.remove(rng.below(closing.len()));
                            table.free(slot);
                        }
                    }
                    _ => {
                        let slot = rng.below(8);
                        let tcp = ALL[rng.below(ALL.len())];
                        let phase = table.observe(slot, tcp);
                        assert_eq!(phase.is_some(), open.iter().any(|&(_, _, used)| used == slot));
                    }
                }
                for &(owner, socket, slot) in &open {
                    assert_eq!(table.find(owner, socket), Some(slot));
                }
                for owner in 1..=4 {
                    for socket in 0..5 {
                        if !open.iter().any(|&(o, s, _)| o == owner && s == socket) {
                            assert_eq!(table.find(owner, socket), None, "only an open socket is found");
                        }
                    }
                }
                let in_use = open.iter().map(|&(_, _, slot)| slot).chain(closing.iter().copied());
                assert_eq!(table.busy(), in_use.fold(0, |mask, slot| mask | 1 << slot), "busy: open or closing");
                let mut listed: Vec<usize> = table.closing().collect();
                let mut expected = closing.clone();
                listed.sort_unstable();
                expected.sort_unstable();
                assert_eq!(listed, expected);
                for client in 1..=4 {
                    assert!(table.open_by(client) <= MAX_SOCKETS as usize);
                }
            }
        }
    }
}
