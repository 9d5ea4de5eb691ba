//! `netd`'s pool of sockets beside smoltcp's socket set, which holds
//! only the ones in use.
//!
//! smoltcp walks every socket in its set on each poll (to send what is
//! due) and each time it is asked for its next deadline: with the whole
//! pool (8 TCP and 4 UDP sockets) in the set, a quiet server paid for 12
//! idle sockets twice in every round of its loop. A socket whose slot is
//! free and that has nothing left to send (a TCP socket closed with its
//! last RST out, a UDP socket unbound) is moved out of the set into a
//! second one that nothing polls, parked; it goes back the first time it
//! is asked for mutably. (Kept in a set of their own, over a static, the
//! parked sockets stay off the server's stack.)
//! A parked socket reads as what it is (closed, unbound), so code that
//! only looks need not care where it is. (A move resets what smoltcp
//! keeps beside each socket, such as its wait for an ARP answer; only
//! idle sockets move, which have none.)

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp, AnySocket};

/// Where one pool socket is.
#[derive(Clone, Copy)]
enum Place {
    /// In the polled set, under this handle.
    Live(SocketHandle),
    /// In the parked set: closed, talking to no one.
    Parked(SocketHandle),
}

/// smoltcp's socket set (the DHCP and DNS clients' sockets stay in it)
/// and the pool's `TCP` stream and `UDP` datagram sockets, by slot.
pub struct Sockets<'a, const TCP: usize, const UDP: usize> {
    /// What the interface polls. Its own sockets (a DHCP client, say) go
    /// in before it is handed over; after that only this type adds or
    /// removes anything in it, or a pool socket's handle goes stale.
    pub set: SocketSet<'a>,
    /// The pool's sockets not in use.
    parked: SocketSet<'a>,
    tcp: [Place; TCP],
    udp: [Place; UDP],
    /// A bit per slot whose socket is live (TCP slots first): parking
    /// visits only those.
    live: u32,
}

/// The bit of slot `slot` in [`Sockets::live`].
const fn bit(slot: usize) -> u32 {
    1 << slot
}

impl<'a, const TCP: usize, const UDP: usize> Sockets<'a, TCP, UDP> {
    /// `set`, and the pool's sockets, all parked in `parked` (which must
    /// have room for all of them, as `set` must besides its own).
    pub fn new(
        set: SocketSet<'a>,
        mut parked: SocketSet<'a>,
        mut tcp: impl FnMut() -> tcp::Socket<'a>,
        mut udp: impl FnMut() -> udp::Socket<'a>,
    ) -> Self {
        let tcp = core::array::from_fn(|_| Place::Parked(parked.add(tcp())));
        let udp = core::array::from_fn(|_| Place::Parked(parked.add(udp())));
        const { assert!(TCP + UDP <= u32::BITS as usize) };
        Sockets { set, parked, tcp, udp, live: 0 }
    }

    /// A bit per slot (TCP slots first) whose socket is in the polled set:
    /// any other is parked, closed and bound to no port.
    pub fn live_slots(&self) -> u32 {
        self.live
    }

    /// The TCP socket of slot `slot`, to look at.
    pub fn tcp(&self, slot: usize) -> &tcp::Socket<'a> {
        match self.tcp[slot] {
            Place::Live(handle) => self.set.get(handle),
            Place::Parked(handle) => self.parked.get(handle),
        }
    }

    /// The TCP socket of slot `slot`, in the polled set.
    pub fn tcp_mut(&mut self, slot: usize) -> &mut tcp::Socket<'a> {
        self.live |= bit(slot);
        let handle = live(&mut self.set, &mut self.parked, &mut self.tcp[slot]);
        self.set.get_mut(handle)
    }

    /// The UDP socket `datagram` (its slot - `TCP`), to look at.
    pub fn udp(&self, datagram: usize) -> &udp::Socket<'a> {
        match self.udp[datagram] {
            Place::Live(handle) => self.set.get(handle),
            Place::Parked(handle) => self.parked.get(handle),
        }
    }

    /// The UDP socket `datagram`, in the polled set.
    pub fn udp_mut(&mut self, datagram: usize) -> &mut udp::Socket<'a> {
        self.live |= bit(TCP + datagram);
        let handle = live(&mut self.set, &mut self.parked, &mut self.udp[datagram]);
        self.set.get_mut(handle)
    }

    /// Parks each socket in the polled set whose slot `free` says is free
    /// (slots number the TCP sockets first, then the UDP ones) and that
    /// has nothing left to do. A TCP socket aborted with a peer stays
    /// until smoltcp has sent its RST (which forgets the peer).
    pub fn park_idle(&mut self, free: impl Fn(usize) -> bool) {
        let mut live = self.live;
        while live != 0 {
            let slot = live.trailing_zeros() as usize;
            live &= !bit(slot);
            if !free(slot) {
                continue;
            }
            let (place, idle) = match slot.checked_sub(TCP) {
                None => {
                    let place = &mut self.tcp[slot];
                    let Place::Live(handle) = *place else { continue };
                    let socket = self.set.get::<tcp::Socket>(handle);
                    (place, socket.state() == tcp::State::Closed && socket.remote_endpoint().is_none())
                }
                Some(datagram) => {
                    let place = &mut self.udp[datagram];
                    let Place::Live(handle) = *place else { continue };
                    (place, !self.set.get::<udp::Socket>(handle).is_open())
                }
            };
            if let (true, Place::Live(handle)) = (idle, *place) {
                *place = Place::Parked(self.parked.add(self.set.remove(handle)));
                self.live &= !bit(slot);
            }
        }
    }
}

/// The handle in `set` of the socket at `place`, moved there from
/// `parked` if it was parked.
fn live<'a>(set: &mut SocketSet<'a>, parked: &mut SocketSet<'a>, place: &mut Place) -> SocketHandle {
    let handle = match *place {
        Place::Live(handle) => handle,
        Place::Parked(handle) => set.add(parked.remove(handle).upcast()),
    };
    *place = Place::Live(handle);
    handle
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec;
    use std::vec::Vec;

    use smoltcp::iface::{Config, Interface, SocketStorage};
    use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
    use smoltcp::time::Instant;
    use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpProtocol, Ipv4Packet, TcpPacket};

    use super::*;

    /// A pool of 4 TCP and 2 UDP sockets beside one socket of the set's
    /// own, over leaked buffers.
    fn pool() -> Sockets<'static, 4, 2> {
        let storage = |count| Vec::leak((0..count).map(|_| SocketStorage::EMPTY).collect::<Vec<_>>());
        let bytes = || Vec::leak(vec![0u8; 1024]);
        let records = || Vec::leak(vec![udp::PacketMetadata::EMPTY; 4]);
        let datagrams =
            || udp::Socket::new(udp::PacketBuffer::new(records(), bytes()), udp::PacketBuffer::new(records(), bytes()));
        let mut set = SocketSet::new(storage(1 + 6));
        set.add(datagrams());
        let streams = || tcp::Socket::new(tcp::SocketBuffer::new(bytes()), tcp::SocketBuffer::new(bytes()));
        Sockets::new(set, SocketSet::new(storage(6)), streams, datagrams)
    }

    fn in_set(pool: &Sockets<'static, 4, 2>) -> usize {
        pool.set.iter().count()
    }

    #[test]
    fn the_pool_starts_parked_and_reads_closed() {
        let pool = pool();
        assert_eq!(in_set(&pool), 1);
        for slot in 0..4 {
            assert_eq!(pool.tcp(slot).state(), tcp::State::Closed);
        }
        assert!(!pool.udp(0).is_open() && !pool.udp(1).is_open());
    }

    #[test]
    fn a_socket_asked_for_mutably_joins_the_set_and_leaves_once_idle_and_free() {
        let mut pool = pool();
        pool.tcp_mut(2).listen(80).unwrap();
        assert_eq!(in_set(&pool), 2);
        assert!(pool.tcp(2).is_listening());
        // Listening: not idle, whatever its slot.
        pool.park_idle(|_| true);
        assert_eq!(in_set(&pool), 2);
        pool.tcp_mut(2).abort();
        // Idle, but its slot is still taken.
        pool.park_idle(|_| false);
        assert_eq!(in_set(&pool), 2);
        pool.park_idle(|slot| slot == 2);
        assert_eq!(in_set(&pool), 1);
        assert_eq!(pool.tcp(2).state(), tcp::State::Closed);
        // And back, with what it had kept.
        pool.tcp_mut(2).listen(81).unwrap();
        assert_eq!((in_set(&pool), pool.tcp(2).listen_endpoint().port), (2, 81));
    }

    #[test]
    fn a_udp_socket_is_idle_once_unbound() {
        let mut pool = pool();
        pool.udp_mut(1).bind(7).unwrap();
        // UDP slots follow the TCP ones.
        pool.park_idle(|slot| slot == 5);
        assert_eq!(in_set(&pool), 2);
        pool.udp_mut(1).close();
        pool.park_idle(|slot| slot == 4);
        assert_eq!(in_set(&pool), 2);
        pool.park_idle(|slot| slot == 5);
        assert_eq!(in_set(&pool), 1);
        assert!(!pool.udp(1).is_open());
    }

    /// An IP device that keeps what is sent and receives nothing.
    #[derive(Default)]
    struct Wire {
        sent: Vec<Vec<u8>>,
    }

    struct Sent<'a>(&'a mut Vec<Vec<u8>>);
    struct Nothing;

    impl TxToken for Sent<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut frame = vec![0; len];
            let result = f(&mut frame);
            self.0.push(frame);
            result
        }
    }

    impl RxToken for Nothing {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            f(&[])
        }
    }

    impl Device for Wire {
        type RxToken<'a> = Nothing;
        type TxToken<'a> = Sent<'a>;

        fn receive(&mut self, _: Instant) -> Option<(Nothing, Sent<'_>)> {
            None
        }

        fn transmit(&mut self, _: Instant) -> Option<Sent<'_>> {
            Some(Sent(&mut self.sent))
        }

        fn capabilities(&self) -> DeviceCapabilities {
            let mut capabilities = DeviceCapabilities::default();
            capabilities.medium = Medium::Ip;
            capabilities.max_transmission_unit = 1500;
            capabilities
        }
    }

    /// Whether `frame` is an IPv4 TCP segment with RST set.
    fn is_reset(frame: &[u8]) -> bool {
        let Ok(ip) = Ipv4Packet::new_checked(frame) else { return false };
        ip.next_header() == IpProtocol::Tcp && TcpPacket::new_checked(ip.payload()).is_ok_and(|tcp| tcp.rst())
    }

    #[test]
    fn an_aborted_connection_stays_in_the_set_until_its_reset_is_sent() {
        let mut wire = Wire::default();
        let mut interface = Interface::new(Config::new(HardwareAddress::Ip), &mut wire, Instant::ZERO);
        interface.update_ip_addrs(|addresses| addresses.push(IpCidr::new(IpAddress::v4(10, 0, 2, 15), 24)).unwrap());
        let mut pool = pool();
        let remote = (IpAddress::v4(10, 0, 2, 2), 7);
        pool.tcp_mut(0).connect(interface.context(), remote, 49152).unwrap();
        // The SYN goes.
        interface.poll(Instant::ZERO, &mut wire, &mut pool.set);
        assert_eq!(wire.sent.len(), 1);
        pool.tcp_mut(0).abort();
        // Closed, but its RST is still to go: parked now, it never would.
        pool.park_idle(|_| true);
        assert_eq!(in_set(&pool), 2);
        interface.poll(Instant::from_millis(1), &mut wire, &mut pool.set);
        assert!(wire.sent.last().is_some_and(|frame| is_reset(frame)), "{:?}", wire.sent);
        pool.park_idle(|_| true);
        assert_eq!(in_set(&pool), 1);
    }

    /// Random uses of random sockets, and parking with random slots free:
    /// every socket can always be read and used, the set holds the set's
    /// own socket and exactly the pool's sockets that were used since
    /// they were last idle with a free slot, and an idle socket with a
    /// free slot never stays.
    #[test]
    fn the_set_holds_exactly_the_sockets_in_use() {
        let mut rng = tessera_testing::Rng::new(0x009a_4ce7);
        for _ in 0..100 {
            let mut pool = pool();
            let mut live = [false; 6];
            for _ in 0..100 {
                let slot = rng.below(6);
                let port = 1 + rng.below(3) as u16;
                match (rng.below(5), slot.checked_sub(4)) {
                    (0, None) => {
                        let _ = pool.tcp_mut(slot).listen(port);
                        live[slot] = true;
                    }
                    (1, None) => {
                        pool.tcp_mut(slot).abort();
                        live[slot] = true;
                    }
                    (0, Some(datagram)) => {
                        let _ = pool.udp_mut(datagram).bind(port);
                        live[slot] = true;
                    }
                    (1, Some(datagram)) => {
                        pool.udp_mut(datagram).close();
                        live[slot] = true;
                    }
                    (2 | 3, _) => {
                        let free = rng.below(64);
                        pool.park_idle(|slot| free & 1 << slot != 0);
                        for (slot, live) in live.iter_mut().enumerate() {
                            let idle = match slot.checked_sub(4) {
                                None => pool.tcp(slot).state() == tcp::State::Closed,
                                Some(datagram) => !pool.udp(datagram).is_open(),
                            };
                            if free & 1 << slot != 0 && idle {
                                *live = false;
                            }
                        }
                    }
                    _ => {
                        // Looking does not move a socket.
                        let _ = (pool.tcp(slot % 4).state(), pool.udp(slot % 2).is_open());
                    }
                }
                assert_eq!(in_set(&pool), 1 + live.iter().filter(|&&live| live).count());
            }
        }
    }
}
