//! The network server (docs/network.md): it alone holds the NIC, QEMU
//! virt's `virtio-net-device` on a virtio-mmio transport, driven with
//! `virtio-drivers`' no-alloc raw driver (`VirtIONetRaw`), and runs the
//! TCP/IP stack `smoltcp` over it. It configures the interface with DHCPv4
//! (QEMU's user network gives 10.0.2.15/24), answers ARP and ICMP echo
//! requests (the interface does both), and serves apps TCP connections to
//! the addresses their manifests allow. Its facts and budgets are `net` in
//! the servers library (`userland/servers/src/lib.rs`).
//!
//! # Protocol
//!
//! `tessera_abi::app::net`, decoded (with every limit, and who may ask) by
//! `tessera_net_core::protocol`. Badge 0 is `init`, `1..=16` the app `init`
//! registered as that client number:
//!
//! - from `init`: `REGISTER_APP` (the client number, and the app's transfer
//!   window, a 16 KiB frame whose start holds the app's policy: its
//!   ComponentId and the IPv4 literals of its `AllowedConnections`,
//!   `tessera_net_core::registration`) and `UNREGISTER_APP` (the app
//!   ended: its sockets are aborted);
//! - from apps: `TCP_CONNECT` (only to a listed literal: anything else is
//!   `PermissionDenied`, one log line `netd: denied app N (ComponentId)
//!   connect to A:P: not in AllowedConnections` and a record in a ring of
//!   64 with a count of those dropped, `tessera_net_core::denials`),
//!   `STATUS`, `SEND`, `RECEIVE` (bytes through the window) and `CLOSE`.
//!   Sockets are numbers scoped to the app (at most 4 open,
//!   `tessera_net_core::sockets`); the fifth, or one when the pool of
//!   `net::POOL_SOCKETS` is empty, is `OutOfMemory`.
//!
//! A malformed request gets an error answer; nothing a client sends ends
//! the server. Any capability a request brings is deleted, but the window
//! of a `REGISTER_APP` it accepts.
//!
//! # Needs
//!
//! The device region of the virtio-mmio page that holds the network
//! device (`READ`, `WRITE`, `INSPECT`; it drives the first transport on it
//! whose device ID is 1), `net::DMA_BYTES` of untyped memory (moved to
//! it), from which it makes the one frame the device's queues and buffers
//! live in, `net::SOCKET_FRAMES` blocks of `net::SOCKET_MEMORY_BYTES` of
//! untyped memory for the TCP sockets' buffers (frames mapped from
//! `net::SOCKETS_AT`), `net::UDP_MEMORY_BYTES` for the UDP sockets' (at
//! `net::UDP_AT`), the receiving side of its endpoint and a copy to make
//! socket capabilities from, and, if it is to sleep until a frame comes,
//! the device's interrupt and a notification. Runs until its process is
//! ended.
//!
//! # Loop
//!
//! It waits for a request, or for the device's interrupt (a notification
//! bound to its receive), until the stack's next timer (at most 1 s);
//! without the interrupt it polls, at most `net::POLL_MICROS` and at least
//! `net::POLL_MIN_MICROS` apart. It works out the request's answer or
//! acknowledges the interrupt, then hands received frames to the stack and
//! lets the stack send, unless the request only read the stack's state and
//! the stack is not due; the answer goes out with the next wait (one
//! `ReplyReceive`), a `CLOSE`'s at once. The sockets' buffers (`net::SOCKET_BUFFER_BYTES`
//! each way per TCP socket) are in their frames, the stack's socket slots
//! (smoltcp's set holds only the sockets in use: `tessera_net_core::pool`)
//! and the server's tables are statics it takes once at start; everything
//! else lives on its stack or in the DMA frame: no heap.
//!
//! The last app's window stays mapped between requests (only `init` can
//! take it back, docs/network.md); a socket holder's own frame is mapped
//! only while its request is answered.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::fmt;

use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use tessera_abi::NOTIFIED_BADGE;
use tessera_net_core::delivery::Delivery;
use tessera_net_core::denials::{Attempt, Denial, Denials, LineLimit, Reason};
use tessera_net_core::dns::MAX_QUERY_BYTES;
use tessera_net_core::frame::{self, UdpHeaders};
use tessera_net_core::pool::Sockets;
use tessera_net_core::protocol::{decode, split_label, Caller, Request};
use tessera_net_core::queue::Datagrams;
use tessera_net_core::registration::Registration;
use tessera_net_core::registration::Transport;
use tessera_net_core::resolver::{Lookup, Resolved, MAX_SERVERS};
use tessera_net_core::sockets::{Kind, Peers, Phase, Slot, SocketTable, TcpState};
use tessera_rt::{
    cap_delete, cap_derive, cap_info, cap_object, cap_revoke, find_initial_capability, for_each_initial_capability,
    interrupt_ack, interrupt_bind, notification_bind, println, receive, reply, reply_receive_timeout, signal,
    sleep_micros, unmap, uptime_micros, Error, Handle, Mapping, Message, ObjectType, Received, Rights, Timeout,
};
use tessera_servers::net::{
    address_word, CLOSE_LINGER_MICROS, CONNECTION_TIMEOUT_SECS, CUT, DELIVERED, DELIVERS, DELIVERY_AT,
    DELIVERY_RECORD_AT, DMA_BYTES, MAX_CLIENTS, MAX_NAME_BYTES, MAX_SOCKETS, POLL_MICROS, POLL_MIN_MICROS,
    POOL_SOCKETS, READY, RECEIVED, SOCKET_BADGE, SOCKET_BUFFER_BYTES, SOCKET_FRAMES, SOCKET_MEMORY_BYTES,
    STATUS_DELIVERED, UDP_BUFFER_BYTES, UDP_DATAGRAMS, UDP_MEMORY_BYTES, UDP_SOCKETS, UDP_SOCKETS_PER_APP,
    WINDOW_BYTES, WINDOW_MAPPED_AT,
};
use virtio::Nic;

tessera_rt::entry!(main);

/// The stack's clock: microseconds since boot.
fn now() -> Instant {
    instant(uptime_micros())
}

/// `micros` (of uptime) as smoltcp's time.
fn instant(micros: u64) -> Instant {
    Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
}

/// The seed of the stack's random numbers (DHCP transaction IDs, TCP
/// initial sequence numbers), of DNS query IDs and of the first local
/// ports: `random`, 32 bits `init` drew from the Pluton security server's
/// generator for this process's start argument (0 if it had none), mixed
/// with the uptime and the MAC through SplitMix64's finaliser. Without
/// them it is guessable: it differs between devices and a little between
/// boots, no more.
fn random_seed(random: u32, mac: [u8; 6]) -> u64 {
    let [a, b, c, d, e, f] = mac;
    let mut seed = uptime_micros() ^ u64::from_be_bytes([0, 0, a, b, c, d, e, f]).rotate_left(29);
    seed ^= u64::from(random) << 32 | u64::from(random.rotate_left(16));
    seed = (seed ^ (seed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    seed = (seed ^ (seed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    seed ^ (seed >> 31)
}

/// The socket buffers `start` maps: the TCP pool's and the UDP pool's.
type Buffers = ([&'static mut SocketBuffers; SOCKET_FRAMES], &'static mut UdpBuffers);

/// Finds the device region and the three blocks of untyped memory `init`
/// gave (told apart by size), starts the device and maps the socket
/// buffers; returns the device, its transport's physical address and the
/// buffers.
fn start() -> Result<(Nic, u32, Buffers), &'static str> {
    let (mut region, mut dma, mut datagrams) = (None, None, None);
    let (mut buffers, mut found) = ([Handle::NULL; SOCKET_FRAMES], 0);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::DeviceRegion if info.rights.contains(Rights::READ | Rights::WRITE) => {
            region.get_or_insert(handle);
        }
        ObjectType::Untyped => match cap_object(handle) {
            Ok((_, DMA_BYTES)) => dma = Some(handle),
            Ok((_, SOCKET_MEMORY_BYTES)) if found < SOCKET_FRAMES => {
                buffers[found] = handle;
                found += 1;
            }
            Ok((_, UDP_MEMORY_BYTES)) => datagrams = Some(handle),
            _ => {}
        },
        _ => {}
    });
    let region = region.ok_or("needs the virtio-mmio page of the network device")?;
    let dma = dma.ok_or("needs untyped memory for the device's queues and buffers")?;
    if found < SOCKET_FRAMES {
        return Err("needs untyped memory for the socket buffers");
    }
    let datagrams = datagrams.ok_or("needs untyped memory for the UDP buffers")?;
    let (address, transport) = virtio::find_device(region)?;
    let pool = virtio::Pool::new(dma)?;
    let nic = Nic::new(transport, pool).map_err(|_| "the virtio network device did not start")?;
    Ok((nic, address, socket_memory::take(buffers, datagrams)?))
}

/// Puts a DHCP lease into effect (or takes it away: `None`) and says so.
fn configure(interface: &mut Interface, lease: Option<&dhcpv4::Config>) {
    interface.update_ip_addrs(|addresses| {
        addresses.clear();
        if let Some(lease) = lease {
            // Cannot fail: the list was just emptied.
            let _ = addresses.push(IpCidr::Ipv4(lease.address));
        }
    });
    let routes = interface.routes_mut();
    match lease.and_then(|lease| lease.router) {
        // Cannot fail: this is the table's only route.
        Some(router) => {
            let _ = routes.add_default_ipv4_route(router);
        }
        None => {
            routes.remove_default_ipv4_route();
        }
    }
    let Some(lease) = lease else {
        println!("netd: the DHCP lease is gone; no address until a new one");
        return;
    };
    match (lease.router, lease.dns_servers.first()) {
        (Some(gateway), Some(dns)) => println!("netd: {}, gateway {}, DNS {} (DHCP)", lease.address, gateway, dns),
        (Some(gateway), None) => println!("netd: {}, gateway {}, no DNS server (DHCP)", lease.address, gateway),
        (None, Some(dns)) => println!("netd: {}, no gateway, DNS {} (DHCP)", lease.address, dns),
        (None, None) => println!("netd: {}, no gateway, no DNS server (DHCP)", lease.address),
    }
}

/// One frame of socket buffers: a receive and a send buffer for each of
/// its share of the pool's TCP sockets.
type SocketBuffers = [[u8; SOCKET_BUFFER_BYTES]; 2 * POOL_SOCKETS / SOCKET_FRAMES];
// Every TCP socket gets its two buffers from the frames (`main`).
const _: () = assert!((2 * POOL_SOCKETS).is_multiple_of(SOCKET_FRAMES));
/// The UDP buffers: a receive and a send buffer per UDP socket.
type UdpBuffers = [[u8; UDP_BUFFER_BYTES]; 2 * UDP_SOCKETS];

/// The socket buffers' memory, with the `unsafe` code that hands it out.
#[allow(unsafe_code)]
mod socket_memory {
    use core::sync::atomic::{AtomicBool, Ordering};

    use tessera_rt::{map, retype, Handle, ObjectType, Rights};
    use tessera_servers::net::{SOCKETS_AT, SOCKET_FRAMES, SOCKET_MEMORY_BYTES, UDP_AT, UDP_MEMORY_BYTES};

    use super::{Buffers, SocketBuffers, UdpBuffers};

    // The buffers fill their frames exactly, and the frames do not overlap.
    const _: () = assert!(core::mem::size_of::<SocketBuffers>() == SOCKET_MEMORY_BYTES as usize);
    const _: () = assert!(core::mem::size_of::<UdpBuffers>() == UDP_MEMORY_BYTES as usize);
    const _: () = assert!(SOCKETS_AT + SOCKET_FRAMES as u32 * SOCKET_MEMORY_BYTES <= UDP_AT);

    /// Set once the buffers are handed out.
    static TAKEN: AtomicBool = AtomicBool::new(false);

    /// Makes one frame of `bytes` from `untyped` (zeroed by `Retype`) and
    /// maps it read-write at `at` for the rest of the process.
    fn map_frame(untyped: Handle, bytes: u32, at: u32) -> Result<(), &'static str> {
        let frame =
            retype(untyped, ObjectType::Frame, bytes).map_err(|_| "too little untyped memory for socket buffers")?;
        map(frame, at, Rights::READ | Rights::WRITE).map_err(|_| "cannot map socket buffers")
    }

    /// Maps the TCP buffers' frames (from `tcp`) one after the other from
    /// `SOCKETS_AT` and the UDP buffers' (from `udp`) at `UDP_AT` for the
    /// rest of the process, and hands them out, once.
    pub fn take(tcp: [Handle; SOCKET_FRAMES], udp: Handle) -> Result<Buffers, &'static str> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return Err("the socket buffers are taken");
        }
        let at = |index: usize| SOCKETS_AT + index as u32 * SOCKET_MEMORY_BYTES;
        for (index, &frame) in tcp.iter().enumerate() {
            map_frame(frame, SOCKET_MEMORY_BYTES, at(index))?;
        }
        map_frame(udp, UDP_MEMORY_BYTES, UDP_AT)?;
        // SAFETY: each frame is mapped read-write at its address for
        // exactly its buffers' size, and stays mapped: the server never
        // unmaps them or deletes their capabilities (if `init` revoked one,
        // an access would fault and end this process, not reach other
        // memory). Nothing else in the process uses those addresses, the
        // ranges do not overlap (the TCP frames follow one another, the
        // UDP frame comes after them: asserted above), the bytes are zeroed
        // (valid `u8` arrays, aligned to 1), and `TAKEN` makes these the
        // only references ever made.
        unsafe {
            let tcp = core::array::from_fn(|index| &mut *(at(index) as *mut SocketBuffers));
            Ok((tcp, &mut *(UDP_AT as *mut UdpBuffers)))
        }
    }
}

/// The socket sets' slots: first the polled set's (the DHCP client's, the
/// DNS client's and room for the whole pool), then the parked set's (room
/// for the whole pool; `tessera_net_core::pool`).
static SOCKET_STORAGE: spin::Mutex<[SocketStorage<'static>; 2 + 2 * SLOTS]> =
    spin::Mutex::new([SocketStorage::EMPTY; 2 + 2 * SLOTS]);

/// The pool's slots: the TCP sockets', then the UDP sockets'.
const SLOTS: usize = POOL_SOCKETS + UDP_SOCKETS;
/// The TCP sockets' slots.
const TCP_SLOTS: core::ops::Range<usize> = 0..POOL_SOCKETS;
/// The UDP sockets' slots.
const UDP_SLOTS: core::ops::Range<usize> = POOL_SOCKETS..SLOTS;

/// The UDP sockets' records of the datagrams they send (where each is in
/// the buffer, and its peer). What they receive is steered past the
/// stack into queues of the device layer's (`virtio::Steering`).
static UDP_METADATA: spin::Mutex<[[udp::PacketMetadata; UDP_DATAGRAMS]; UDP_SOCKETS]> =
    spin::Mutex::new([[udp::PacketMetadata::EMPTY; UDP_DATAGRAMS]; UDP_SOCKETS]);

/// Datagrams the DNS client's socket holds each way.
const DNS_DATAGRAMS: usize = 4;
/// The longest DNS answer read whole (answers to queries without EDNS
/// are at most 512 bytes; longer ones are cut and fail to decode).
const DNS_ANSWER_BYTES: usize = 1024;

/// The DNS client's UDP socket buffers.
struct DnsBuffers {
    receive_metadata: [udp::PacketMetadata; DNS_DATAGRAMS],
    receive: [u8; 2 * DNS_ANSWER_BYTES],
    send_metadata: [udp::PacketMetadata; DNS_DATAGRAMS],
    send: [u8; DNS_DATAGRAMS * MAX_QUERY_BYTES],
}

static DNS_BUFFERS: spin::Mutex<DnsBuffers> = spin::Mutex::new(DnsBuffers {
    receive_metadata: [udp::PacketMetadata::EMPTY; DNS_DATAGRAMS],
    receive: [0; 2 * DNS_ANSWER_BYTES],
    send_metadata: [udp::PacketMetadata::EMPTY; DNS_DATAGRAMS],
    send: [0; DNS_DATAGRAMS * MAX_QUERY_BYTES],
});

/// What the server knows of its clients: too big for its stack, so a
/// static taken once at start.
static BOOK: spin::Mutex<Book> = spin::Mutex::new(Book::new());

/// What a socket offers, as far as an app waiting on it cares.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Readiness {
    receive: bool,
    send: bool,
    /// A stream's TCP state (a connection made, refused, closed, a
    /// listener's caller); `None` for a datagram socket.
    state: Option<tcp::State>,
}

/// What an app whose request found nothing to do yet waits on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Its socket in this slot, as it was when the app asked.
    Socket { slot: usize, seen: Readiness },
    /// Its lookup.
    Lookup,
}

/// A registered app.
#[derive(Clone, Copy)]
struct Client {
    registration: Registration,
    /// Its transfer window (a copy of `init`'s capability; revoked with
    /// the app's memory).
    window: Handle,
    /// Its readiness notification (`SIGNAL`; `tessera_abi::app::net::READY`).
    ready: Handle,
}

/// The registered apps, who owns which socket, what was resolved for
/// whom, and the denials.
struct Book {
    /// By client number - 1.
    clients: [Option<Client>; MAX_CLIENTS as usize],
    /// The addresses resolved for each client, by client number - 1.
    resolved: [Resolved; MAX_CLIENTS as usize],
    /// Each client's lookup, under way or ended and not yet collected.
    lookups: [Option<Lookup>; MAX_CLIENTS as usize],
    /// What each client whose last request found nothing to do yet waits
    /// on: its readiness notification is signalled once that changed.
    waits: [Option<Wait>; MAX_CLIENTS as usize],
    /// The datagram each client was offered or given in its window.
    deliveries: [Delivery; MAX_CLIENTS as usize],
    table: SocketTable<SLOTS>,
    /// When each closing slot was closed (microseconds since boot).
    closed_at: [u64; SLOTS],
    /// Who sent to each UDP socket lately (by UDP slot - `POOL_SOCKETS`).
    peers: [Peers; UDP_SOCKETS],
    /// Whether each UDP socket is bound to a server port.
    server_port: [bool; UDP_SOCKETS],
    /// Datagrams dropped because they came to a client socket from an
    /// address its app may not send to.
    dropped_datagrams: u32,
    /// Each slot's parent of the capabilities `DELEGATE` made for it.
    socket_caps: [Option<Handle>; SLOTS],
    /// Each slot's generation (in its capabilities' badge).
    generations: [u8; SLOTS],
    /// How many denial lines each client put on the console lately.
    line_limits: [LineLimit; MAX_CLIENTS as usize],
    denials: Denials,
    /// A bit per client (by number - 1) with a `waits` entry: the loop
    /// visits only those.
    waiting: u32,
    /// A bit per client (by number - 1) with a `lookups` entry: the loop
    /// visits only those.
    looking: u32,
    /// A bit per client whose line limit holds back denial lines it has
    /// yet to count on the console.
    hiding: u32,
}

// `waiting`, `looking` and `hiding` have a bit per client.
const _: () = assert!(MAX_CLIENTS <= u32::BITS);

/// The indices of the bits set in `mask`, lowest first.
fn bits(mut mask: u32) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        let index = mask.trailing_zeros() as usize;
        mask &= mask.checked_sub(1)?;
        Some(index)
    })
}

impl Book {
    const fn new() -> Book {
        Book {
            clients: [None; MAX_CLIENTS as usize],
            resolved: [Resolved::new(); MAX_CLIENTS as usize],
            lookups: [None; MAX_CLIENTS as usize],
            waits: [None; MAX_CLIENTS as usize],
            deliveries: [Delivery::Off; MAX_CLIENTS as usize],
            table: SocketTable::new(),
            closed_at: [0; SLOTS],
            peers: [Peers::new(); UDP_SOCKETS],
            server_port: [false; UDP_SOCKETS],
            dropped_datagrams: 0,
            socket_caps: [None; SLOTS],
            generations: [0; SLOTS],
            line_limits: [LineLimit::new(); MAX_CLIENTS as usize],
            denials: Denials::new(),
            waiting: 0,
            looking: 0,
            hiding: 0,
        }
    }

    /// Sets the lookup of the client at `index` (its number - 1).
    fn set_lookup(&mut self, index: usize, lookup: Option<Lookup>) {
        self.lookups[index] = lookup;
        self.looking = if lookup.is_some() { self.looking | 1 << index } else { self.looking & !(1 << index) };
    }

    /// Sets what the client at `index` (its number - 1) waits on.
    fn set_wait(&mut self, index: usize, wait: Option<Wait>) {
        self.waits[index] = wait;
        self.waiting = if wait.is_some() { self.waiting | 1 << index } else { self.waiting & !(1 << index) };
    }
}

/// The stack's TCP state as the table names it.
fn tcp_state(state: tcp::State) -> TcpState {
    match state {
        tcp::State::Closed => TcpState::Closed,
        tcp::State::Listen => TcpState::Listen,
        tcp::State::SynSent => TcpState::SynSent,
        tcp::State::SynReceived => TcpState::SynReceived,
        tcp::State::Established => TcpState::Established,
        tcp::State::FinWait1 => TcpState::FinWait1,
        tcp::State::FinWait2 => TcpState::FinWait2,
        tcp::State::CloseWait => TcpState::CloseWait,
        tcp::State::Closing => TcpState::Closing,
        tcp::State::LastAck => TcpState::LastAck,
        tcp::State::TimeWait => TcpState::TimeWait,
    }
}

/// IPv4 addresses, for a log line: the first four, then how many more.
struct Addresses<'a>(&'a [[u8; 4]]);

impl fmt::Display for Addresses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (index, [a, b, c, d]) in self.0.iter().take(4).enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            write!(f, "{separator}{a}.{b}.{c}.{d}")?;
        }
        match self.0.len() {
            0..=4 => Ok(()),
            more => write!(f, " and {} more", more - 4),
        }
    }
}

/// An app's names, for a log line: the first four, then how many more.
struct Names<'a>(&'a Registration);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.name_count() == 0 {
            return f.write_str("none");
        }
        for (index, name) in self.0.names().take(4).enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            // Registered names are ASCII host names.
            write!(f, "{separator}{}", core::str::from_utf8(name).unwrap_or("?"))?;
        }
        match self.0.name_count() {
            0..=4 => Ok(()),
            more => write!(f, " and {} more", more - 4),
        }
    }
}

/// The app window mapped at `WINDOW_MAPPED_AT` between requests: the last
/// app's that asked, so a run of requests from one app (a bulk transfer)
/// maps it once instead of mapping and unmapping it for each (two
/// syscalls). Another app's request, a holder's frame, or the app's
/// unregistration (`forget`) unmaps it.
///
/// Only `init` can take the mapping away under `netd`: `netd`'s window
/// capability is a child of the one `init` keeps (the app holds a copy
/// with no rights, so revoking it changes nothing here: `hostile` tries),
/// and `init` revokes it only with the app's memory, once the app has
/// ended and can make no more requests, and after it has unregistered the
/// app here (a delivery writes the window outside the app's requests).
struct Windows {
    mapped: Option<(Handle, Mapping)>,
}

impl Windows {
    /// Runs `work` on `window`. With `keep` (an app's own window, which
    /// `netd` holds read-write) it is mapped read-write and stays mapped
    /// after; otherwise it is mapped with `rights` for the time `work`
    /// takes.
    fn with<R>(
        &mut self,
        window: Handle,
        rights: Rights,
        keep: bool,
        work: impl FnOnce(&Mapping) -> R,
    ) -> Result<R, Error> {
        let mapping = self.open(window, rights, keep)?;
        let result = work(&mapping);
        if !keep {
            let _ = unmap(window);
        }
        Ok(result)
    }

    /// `window` mapped for `with` (one copy of this for every kind of
    /// work: the server's text must stay within its frames).
    #[inline(never)]
    fn open(&mut self, window: Handle, rights: Rights, keep: bool) -> Result<Mapping, Error> {
        if let Some((handle, mapping)) = self.mapped {
            if handle == window && keep {
                return Ok(mapping);
            }
            let _ = unmap(handle);
            self.mapped = None;
        }
        let rights = if keep { Rights::READ | Rights::WRITE } else { rights };
        let mapping = Mapping::new(window, WINDOW_MAPPED_AT, rights)?;
        if keep {
            self.mapped = Some((window, mapping));
        }
        Ok(mapping)
    }

    /// Unmaps `window` if it is the one mapped.
    fn forget(&mut self, window: Handle) {
        if self.mapped.is_some_and(|(handle, _)| handle == window) {
            let _ = unmap(window);
            self.mapped = None;
        }
    }
}

/// The server: the device, the stack and its book.
struct Server<'a> {
    nic: Nic,
    interface: Interface,
    /// The set and the pool's sockets (TCP by slot, UDP by slot -
    /// `POOL_SOCKETS`).
    sockets: Sockets<'a, POOL_SOCKETS, UDP_SOCKETS>,
    dhcp: SocketHandle,
    /// A copy of its own endpoint (`SEND`, `GRANT`, `DERIVE`) that socket
    /// capabilities are made from.
    own_endpoint: Handle,
    /// Whether the device's interrupt wakes it (else it polls).
    interrupt_driven: bool,
    /// The app window kept mapped between requests.
    windows: Windows,
    /// The DNS client's socket, and its local port.
    dns: SocketHandle,
    dns_port: u16,
    book: &'a mut Book,
    leased: bool,
    /// The DNS server `init` configured (`net.dns=`), asked first.
    configured_dns: Option<([u8; 4], u16)>,
    /// The DNS servers of the DHCP lease.
    leased_dns: [Option<[u8; 4]>; MAX_SERVERS - 1],
    /// The state of the generator of DNS query IDs (xorshift64).
    ids: u64,
    /// The next local port to try (49152..=65535).
    next_port: u16,
    /// The lease's router, while it holds (where datagrams sent directly
    /// go off the subnet: `send_to`; the address and prefix are
    /// `nic.steering.own`).
    router: Option<[u8; 4]>,
    /// The uptime at the end of the last round of the loop.
    time: u64,
    /// The request just performed sent its datagram directly: the stack
    /// has nothing new to do.
    sent_directly: bool,
}

/// The longest an interrupt-driven server waits without a frame or a
/// request before it looks at its own timers.
const IDLE_MICROS: u32 = 1_000_000;

/// The DHCP client's port (RFC 2131), which the stack's DHCP socket uses.
const DHCP_CLIENT_PORT: u16 = 68;

/// The first local port, and the number of them.
const EPHEMERAL_PORTS: (u16, u16) = (49152, 16384);

/// Writes a delivery record into `window`: `rest` (words 1 to 3), then,
/// last, `first` (word 0, which says what the rest is: the app reads the
/// rest only once that word says so).
fn write_record(window: &Mapping, first: u32, rest: [u32; 3]) {
    for (at, word) in (4..).step_by(4).zip(rest) {
        window.write_u32((DELIVERY_RECORD_AT + at) as u32, word);
    }
    core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
    window.write_u32(DELIVERY_RECORD_AT as u32, first);
}

fn reply_words(words: [u32; 4]) -> Message {
    Message::new(0, words)
}

impl Server<'_> {
    /// Hands frames to the stack and lets it send; acts on the DHCP
    /// client's news; follows the pool's connections; then signals the
    /// waiting apps if anything may have changed for them. `time` is the
    /// uptime now (read once per round of the loop: each read is a
    /// syscall).
    fn poll(&mut self, time: u64) {
        let polled = self.interface.poll(instant(time), &mut self.nic, &mut self.sockets.set);
        let changed = polled == PollResult::SocketStateChanged || self.nic.steering.arrived != 0;
        self.nic.steering.arrived = 0;
        match self.sockets.set.get_mut::<dhcpv4::Socket>(self.dhcp).poll() {
            Some(dhcpv4::Event::Configured(lease)) => {
                configure(&mut self.interface, Some(&lease));
                self.router = lease.router.map(|router| router.octets());
                self.nic.steering.own = Some((lease.address.address().octets(), lease.address.prefix_len()));
                self.nic.neighbors.clear();
                self.leased = true;
                self.leased_dns = [None; MAX_SERVERS - 1];
                for (slot, server) in self.leased_dns.iter_mut().zip(&lease.dns_servers) {
                    *slot = Some(server.octets());
                }
            }
            // The client says so once at start too, with nothing to undo.
            Some(dhcpv4::Event::Deconfigured) if self.leased => {
                configure(&mut self.interface, None);
                self.router = None;
                self.nic.steering.own = None;
                self.leased = false;
                self.leased_dns = [None; MAX_SERVERS - 1];
            }
            Some(dhcpv4::Event::Deconfigured) | None => {}
        }
        let looked_up = self.poll_dns(time);
        for index in bits(self.book.hiding) {
            let hidden = self.book.line_limits[index].flush(time);
            if hidden > 0 {
                self.book.hiding &= !(1 << index);
                println!("netd: app {}: {} more denials not shown (the ring keeps the last 64)", index + 1, hidden);
            }
        }
        // Only the slots in use: a free slot's socket may be parked (left
        // there), and a free UDP slot has nothing to do.
        let busy = self.book.table.busy();
        for slot in bits(busy).take_while(|&slot| slot < POOL_SOCKETS) {
            match self.book.table.slot(slot) {
                Some(Slot::Open { .. }) => {
                    self.book.table.observe(slot, tcp_state(self.sockets.tcp(slot).state()));
                }
                // Done, or lingering too long: the slot serves again.
                Some(Slot::Closing { .. }) => {
                    let lingered = time.saturating_sub(self.book.closed_at[slot]) > CLOSE_LINGER_MICROS;
                    if !self.sockets.tcp(slot).is_open() || lingered {
                        self.sockets.tcp_mut(slot).abort();
                        self.book.table.free(slot);
                    }
                }
                _ => {}
            }
        }
        // A UDP socket is done when it is closed.
        for slot in bits(busy).skip_while(|&slot| slot < POOL_SOCKETS) {
            if matches!(self.book.table.slot(slot), Some(Slot::Closing { .. })) {
                self.book.table.free(slot);
            }
        }
        if changed || looked_up {
            self.wake_waiting(looked_up);
        }
        let table = &self.book.table;
        self.sockets.park_idle(|slot| table.slot(slot) == Some(Slot::Free));
    }

    /// What socket slot `slot` offers now, to tell whether it changed.
    fn readiness(&self, slot: usize) -> Readiness {
        if slot < POOL_SOCKETS {
            let socket = self.sockets.tcp(slot);
            Readiness { receive: socket.can_recv(), send: socket.can_send(), state: Some(socket.state()) }
        } else {
            let datagram = slot - POOL_SOCKETS;
            let receive = !self.nic.steering.queues[datagram].is_empty();
            Readiness { receive, send: self.sockets.udp(datagram).can_send(), state: None }
        }
    }

    /// Signals the readiness notification of each waiting app whose
    /// socket changed since it asked, or whose lookup may have moved on
    /// (`looked_up`). Only those: another app's traffic wakes nobody.
    fn wake_waiting(&mut self, looked_up: bool) {
        for index in bits(self.book.waiting) {
            let ready = match self.book.waits[index] {
                Some(Wait::Socket { slot, seen }) => self.readiness(slot) != seen,
                Some(Wait::Lookup) => looked_up,
                None => false,
            };
            if let (true, Some(client)) = (ready, self.book.clients[index]) {
                match self.book.deliveries[index].offered() {
                    Some(slot) if slot < POOL_SOCKETS => self.tell_state(index, slot, client.window),
                    Some(slot) => self.deliver(index, slot, client.window),
                    None => {}
                }
                let _ = signal(client.ready, READY);
                self.book.set_wait(index, None);
            }
        }
    }

    /// Logs and keeps a denial of client `client`'s `attempt`.
    fn deny(&mut self, client: u32, attempt: Attempt) -> Error {
        self.deny_because(client, attempt, Reason::NotListed)
    }

    /// Logs and keeps a denial of client `client`'s `attempt` for `reason`.
    fn deny_because(&mut self, client: u32, attempt: Attempt, reason: Reason) -> Error {
        let Some(app) = &self.book.clients[client as usize - 1] else { return Error::PermissionDenied };
        let denial = Denial { client, component_id: app.registration.component_id(), attempt, reason };
        // Every denial is recorded; the console gets a few a second per app.
        let (index, limit) = (client as usize - 1, &mut self.book.line_limits[client as usize - 1]);
        let lines = limit.denial(uptime_micros());
        self.book.hiding =
            if limit.hiding() { self.book.hiding | 1 << index } else { self.book.hiding & !(1 << index) };
        if lines.hidden_before > 0 {
            println!(
                "netd: app {}: {} more denials not shown (the ring keeps the last 64)",
                client, lines.hidden_before
            );
        }
        if lines.show {
            println!("netd: {}", denial);
        }
        self.book.denials.record(denial);
        Error::PermissionDenied
    }

    /// How long to wait for a request before polling again, at uptime
    /// `time`.
    fn delay_micros(&mut self, time: u64) -> u32 {
        // Frames wake it: only the stack's timers (and the server's own,
        // lookups and lingering closes, checked once a second at least)
        // need a timeout.
        if self.interrupt_driven {
            let delay = self.interface.poll_delay(instant(time), &self.sockets.set);
            let micros = delay.map_or(u64::from(IDLE_MICROS), |delay| delay.total_micros());
            return micros.clamp(u64::from(POLL_MIN_MICROS), u64::from(IDLE_MICROS)) as u32;
        }
        // Frames arrive unannounced (no interrupt), so never longer than
        // `POLL_MICROS`; and never less than `POLL_MIN_MICROS`, even if the
        // stack has work due at once (say, a frame waiting for a transmit
        // buffer): at the servers' priority a loop that did not wait would
        // keep every app from running.
        // While a connection has bytes in flight, their acknowledgements
        // are what lets it go on: poll at the shortest interval then.
        let busy = (0..POOL_SOCKETS).any(|slot| {
            let socket = self.sockets.tcp(slot);
            socket.is_open() && socket.may_send() && socket.send_queue() > 0
        });
        if busy {
            return POLL_MIN_MICROS;
        }
        let delay = self.interface.poll_delay(instant(time), &self.sockets.set);
        let micros = delay.map_or(u64::from(POLL_MICROS), |delay| delay.total_micros());
        micros.clamp(u64::from(POLL_MIN_MICROS), u64::from(POLL_MICROS)) as u32
    }

    /// Answers one request (module docs); the error is the answer's label.
    /// Says too whether the request only read the stack's state: a
    /// stream's `STATUS`, or a `RECEIVE_FROM` (taking a datagram from a UDP
    /// socket's buffer sends nothing; a stream's `RECEIVE` is not one: the
    /// window it opens may need announcing), or a request that does not
    /// decode (it changed nothing). Anything else is taken to change it.
    fn answer(&mut self, request: &Received) -> (Result<Message, Error>, bool) {
        let message = &request.message;
        let (label, took) = split_label(message.label);
        // Any request of an app, even one that does not decode, ends what
        // it was offered; the datagram delivered to it leaves its socket
        // if the app says it took it.
        if let Ok(Caller::App(client)) = Caller::from_badge(request.badge) {
            let delivery = &mut self.book.deliveries[client as usize - 1];
            if let Some(datagram) = delivery.request(took).and_then(|slot| slot.checked_sub(POOL_SOCKETS)) {
                self.nic.steering.queues[datagram].pop();
            }
        }
        let (caller, decoded) = match decode(label, message.words, message.caps, request.badge) {
            Ok(decoded) => decoded,
            // A malformed request changed nothing: no reason to poll the
            // stack before its due time (a client sending garbage would
            // otherwise buy a poll, at this server's priority, with each).
            Err(error) => return (Err(error), true),
        };
        let read_only = matches!(decoded, Request::Status { .. } | Request::ReceiveFrom { .. });
        let result = self.perform(request, caller, decoded);
        (result, read_only || core::mem::take(&mut self.sent_directly))
    }

    /// Performs a decoded request (`answer`).
    fn perform(&mut self, request: &Received, caller: Caller, decoded: Request) -> Result<Message, Error> {
        let message = &request.message;
        match (caller, decoded) {
            (Caller::Init, Request::RegisterApp { client }) => {
                let (ready, window) = (Handle(message.words[2]), Handle(message.words[3]));
                self.register(client, window, ready).map(|()| reply_words([0; 4]))
            }
            (Caller::Init, Request::UnregisterApp { client }) => {
                self.unregister(client);
                Ok(reply_words([0; 4]))
            }
            (Caller::Init, Request::SetResolver { address: [a, b, c, d], port }) => {
                self.configured_dns = Some(([a, b, c, d], port));
                println!("netd: asks the DNS server at {}.{}.{}.{}:{} first (net.dns)", a, b, c, d, port);
                Ok(reply_words([0; 4]))
            }
            (Caller::App(client), request) => {
                let mut answer = self.app_request(client, request, None);
                // Nothing to do yet (word 0 is 0: no bytes moved, no room,
                // still connecting, no connection or datagram waiting, the
                // lookup under way): the app may wait for its notification.
                let nothing_yet = matches!(
                    request,
                    Request::Send { .. }
                        | Request::Receive { .. }
                        | Request::Status { .. }
                        | Request::TcpAccept { .. }
                        | Request::SendTo { .. }
                        | Request::ReceiveFrom { .. }
                        | Request::Lookup { .. }
                );
                // The socket the app will wait on. A connection just begun
                // cannot be made yet: the app waits for its notification
                // before it asks (`STATUS`).
                // A datagram sent with nothing to receive yet: the app is
                // likely to wait for the answer next (word 1 tells it the
                // wait is noted).
                let waited_on = match (request, &answer) {
                    (Request::TcpConnect { .. }, Ok(reply)) => Some(reply.words[0]),
                    (Request::SendTo { socket, .. }, Ok(reply)) if reply.words[0] == 1 => Some(socket),
                    _ if nothing_yet && answer.as_ref().is_ok_and(|reply| reply.words[0] == 0) => {
                        Some(message.words[0])
                    }
                    _ => None,
                };
                // What the socket offers now (once: each look at a
                // socket costs); a datagram sent while one waits to be
                // received is no wait.
                let sent_datagram =
                    matches!((request, &answer), (Request::SendTo { .. }, Ok(reply)) if reply.words[0] == 1);
                let seen = waited_on
                    .filter(|_| !matches!(request, Request::Lookup { .. }))
                    .and_then(|socket| self.book.table.find(client, socket))
                    .map(|slot| (slot, self.readiness(slot)))
                    .filter(|(_, seen)| !sent_datagram || !seen.receive);
                if waited_on.is_some() && (seen.is_some() || !sent_datagram) {
                    let wait = match request {
                        Request::Lookup { .. } => Some(Wait::Lookup),
                        _ => seen.map(|(slot, seen)| Wait::Socket { slot, seen }),
                    };
                    self.book.set_wait(client as usize - 1, wait);
                    // A datagram queued, or none to receive: the next one
                    // to come may be delivered into the window; a
                    // connection begun: its state when it changes.
                    let (noted, flags) = match (request, &mut answer) {
                        (Request::SendTo { .. }, Ok(reply)) if reply.words[0] == 1 => (true, Some(&mut reply.words[1])),
                        (Request::TcpConnect { .. }, Ok(reply)) => (false, Some(&mut reply.words[1])),
                        (Request::ReceiveFrom { .. }, Ok(reply)) if reply.words[3] & RECEIVED == 0 => {
                            (false, Some(&mut reply.words[3]))
                        }
                        _ => (false, None),
                    };
                    if let Some(flags) = flags {
                        if noted {
                            *flags = tessera_servers::net::WAIT_NOTED;
                        }
                        if let Some(Wait::Socket { slot, .. }) = wait {
                            if self.offer(client, slot) {
                                *flags |= DELIVERS;
                            }
                        }
                    }
                }
                answer
            }
            (Caller::Socket { slot, generation }, request) => {
                let frame = (message.caps == 1).then_some(Handle(message.words[3]));
                self.holder_request(slot as usize, generation, request, frame)
            }
            // `decode` lets `init` make only its own requests.
            (Caller::Init, _) => Err(Error::PermissionDenied),
        }
    }

    /// `REGISTER_APP`: reads the app's policy from its window and records
    /// it as client `client`, replacing (and aborting the sockets of) any
    /// app registered under that number before.
    fn register(&mut self, client: u32, window: Handle, ready: Handle) -> Result<(), Error> {
        let info = cap_info(window)?;
        if info.kind != ObjectType::Frame || !info.rights.contains(Rights::READ | Rights::WRITE | Rights::INSPECT) {
            return Err(Error::WrongType);
        }
        let info = cap_info(ready)?;
        if info.kind != ObjectType::Notification || !info.rights.contains(Rights::SIGNAL) {
            return Err(Error::WrongType);
        }
        let (_, size) = cap_object(window)?;
        if size as usize != WINDOW_BYTES {
            return Err(Error::InvalidArgument);
        }
        let record =
            self.windows.with(window, Rights::READ, false, |mapping| Registration::decode(mapping.as_bytes()))?;
        let registration = record.map_err(|error| {
            println!("netd: app {} not registered: {}", client, error);
            Error::InvalidArgument
        })?;
        self.unregister(client);
        self.book.clients[client as usize - 1] = Some(Client { registration, window, ready });
        println!(
            "netd: app {} ({}) registered: may connect to {}; may look up {}; entries ignored: {}",
            client,
            registration.component_id(),
            Addresses(registration.literals()),
            Names(&registration),
            registration.ignored()
        );
        Ok(())
    }

    /// `UNREGISTER_APP` (and a registration again): forgets client
    /// `client`'s window and aborts its sockets.
    fn unregister(&mut self, client: u32) {
        let index = client as usize - 1;
        let Some(old) = self.book.clients[index].take() else { return };
        self.windows.forget(old.window);
        let _ = cap_delete(old.window);
        let _ = cap_delete(old.ready);
        self.book.set_wait(index, None);
        self.book.deliveries[index] = Delivery::Off;
        self.book.resolved[index] = Resolved::new();
        self.book.set_lookup(index, None);
        for slot in 0..SLOTS {
            if matches!(self.book.table.slot(slot), Some(Slot::Open { client: owner, .. }) if owner == client) {
                self.forget_capability(slot);
            }
        }
        let (sockets, steering, time) = (&mut self.sockets, &mut self.nic.steering, uptime_micros());
        let closed_at = &mut self.book.closed_at;
        self.book.table.close_all(client, |slot| {
            match slot.checked_sub(POOL_SOCKETS) {
                None => sockets.tcp_mut(slot).abort(),
                Some(datagram) => {
                    sockets.udp_mut(datagram).close();
                    steering.close(datagram);
                }
            }
            closed_at[slot] = time;
        });
    }

    /// A local port no pool socket uses.
    fn local_port(&mut self) -> u16 {
        let (first, count) = EPHEMERAL_PORTS;
        loop {
            let port = self.next_port;
            self.next_port = first + (self.next_port - first + 1) % count;
            // A parked socket is bound to no port: only live ones count.
            let used = bits(self.sockets.live_slots()).any(|slot| match slot.checked_sub(POOL_SOCKETS) {
                None => {
                    let socket = self.sockets.tcp(slot);
                    socket.local_endpoint().is_some_and(|local| local.port == port)
                        || socket.listen_endpoint().port == port
                }
                Some(datagram) => self.sockets.udp(datagram).endpoint().port == port,
            });
            // Not the DNS client's port (an app's socket there would take
            // every answer), nor a port an app is granted to serve on.
            let reserved = port == self.dns_port
                || self.book.clients.iter().flatten().any(|app| {
                    app.registration.serves(Transport::Tcp, port) || app.registration.serves(Transport::Udp, port)
                });
            // At most `SLOTS` ports are in use, 16 x 16 granted, one DNS:
            // far fewer than the 16,384 it walks, so this ends.
            if !used && !reserved {
                return port;
            }
        }
    }

    /// The pool slot of app `client`'s stream `socket` and its phase now
    /// (`InvalidArgument` if the app has no such stream: a listener or a
    /// UDP socket is not one).
    fn socket_of(&mut self, client: u32, socket: u32) -> Result<(usize, Phase), Error> {
        let slot = match self.book.table.find_kind(client, socket) {
            Some((slot, Kind::Stream)) => slot,
            _ => return Err(Error::InvalidArgument),
        };
        let state = tcp_state(self.sockets.tcp(slot).state());
        let phase = self.book.table.observe(slot, state).ok_or(Error::InvalidArgument)?;
        Ok((slot, phase))
    }

    /// Whether an app other than `client` listens on TCP port `port`
    /// (transport `Tcp`) or has a UDP socket bound to it (`Udp`).
    fn port_taken(&self, client: u32, transport: Transport, port: u16) -> bool {
        self.book.table.open_slots().any(|slot| {
            let Some(Slot::Open { client: owner, kind, .. }) = self.book.table.slot(slot) else { return false };
            if owner == client {
                return false;
            }
            match (transport, kind, slot.checked_sub(POOL_SOCKETS)) {
                (Transport::Tcp, Kind::Listener, None) => self.sockets.tcp(slot).listen_endpoint().port == port,
                (Transport::Udp, Kind::Datagram, Some(datagram)) => self.sockets.udp(datagram).endpoint().port == port,
                _ => false,
            }
        })
    }

    /// Whether app `client` may use `port` as a server port of
    /// `transport`: granted, and no other app's. A denial is logged.
    fn check_server_port(&mut self, client: u32, transport: Transport, port: u16) -> Result<(), Error> {
        let attempt = match transport {
            Transport::Tcp => Attempt::Listen { port },
            Transport::Udp => Attempt::Bind { port },
        };
        let granted =
            self.book.clients[client as usize - 1].as_ref().is_some_and(|app| app.registration.serves(transport, port));
        if !granted {
            return Err(self.deny_because(client, attempt, Reason::PortNotGranted));
        }
        // Nor the DNS client's port, nor the DHCP client's: an app's socket
        // there would take the answers to the server's own queries (and
        // its datagrams are steered before the stack sees them).
        if transport == Transport::Udp && (port == self.dns_port || port == DHCP_CLIENT_PORT) {
            return Err(self.deny_because(client, attempt, Reason::Reserved));
        }
        if self.port_taken(client, transport, port) {
            return Err(self.deny_because(client, attempt, Reason::PortTaken));
        }
        Ok(())
    }

    /// How many registered apps other than `client` hold no socket in
    /// their part of the pool for `transport` and are promised one: for
    /// TCP every registered app, for UDP those with UDP server ports.
    fn waiting(&self, client: u32, transport: Transport) -> usize {
        let slots = match transport {
            Transport::Tcp => TCP_SLOTS,
            Transport::Udp => UDP_SLOTS,
        };
        // TCP for an app that may connect somewhere or listen; UDP for one
        // with UDP server ports.
        let promised = |app: &Client| {
            let registration = &app.registration;
            match transport {
                Transport::Tcp => {
                    !registration.literals().is_empty()
                        || registration.name_count() > 0
                        || !registration.server_ports(Transport::Tcp).is_empty()
                }
                Transport::Udp => !registration.server_ports(Transport::Udp).is_empty(),
            }
        };
        (1..=MAX_CLIENTS)
            .filter(|&other| other != client)
            .filter(|&other| self.book.clients[other as usize - 1].as_ref().is_some_and(promised))
            .filter(|&other| self.book.table.open_in_range(other, slots.clone()) == 0)
            .count()
    }

    /// Frees the TCP slot of the connection closed longest ago that has
    /// nothing left to send (aborting it loses no bytes: its FIN is out,
    /// the stack waits for the peer's), or any, `even_unsent`, if there is
    /// one.
    fn reclaim_closing(&mut self, even_unsent: bool) {
        let oldest = self
            .book
            .table
            .closing()
            .filter(|&slot| TCP_SLOTS.contains(&slot))
            .filter(|&slot| even_unsent || self.sockets.tcp(slot).send_queue() == 0)
            .min_by_key(|&slot| self.book.closed_at[slot]);
        if let Some(slot) = oldest {
            self.sockets.tcp_mut(slot).abort();
            self.book.table.free(slot);
        }
    }

    /// Keeps app `client` within its [`MAX_SOCKETS`] slots, its closing
    /// connections counted, before it takes one more: it gives up the
    /// slot of its own connection closed longest ago (aborted, unsent
    /// bytes and all: it closed it, or its earlier run did, under the same
    /// client number), never another client's.
    fn within_budget(&mut self, client: u32) {
        if let Some(slot) = self.book.table.to_give_up(client, &self.book.closed_at) {
            if TCP_SLOTS.contains(&slot) {
                self.sockets.tcp_mut(slot).abort();
            }
            self.book.table.free(slot);
        }
    }

    /// Opens a TCP socket of `kind` for app `client`, within its budget
    /// ([`MAX_SOCKETS`]) and leaving a socket for each registered app that
    /// has none (every app is sure of a first one); a closing connection
    /// with nothing left to send gives its slot up when none is free.
    /// `OutOfMemory` otherwise.
    fn open_tcp(&mut self, client: u32, kind: Kind) -> Result<(u32, usize), Error> {
        if self.book.table.open_by(client) >= MAX_SOCKETS as usize {
            return Err(Error::OutOfMemory);
        }
        self.within_budget(client);
        // Reclaiming frees closing slots only, so the apps still waiting
        // for a first socket stay the same.
        let waiting = self.waiting(client, Transport::Tcp);
        if self.book.table.free_in(TCP_SLOTS) <= waiting {
            self.reclaim_closing(false);
        }
        // An app's first socket is promised: if nothing is free it takes
        // the slot of the connection closed longest ago, bytes and all
        // (closing connections, anyone's, cannot keep it out).
        let first = self.book.table.open_in_range(client, TCP_SLOTS) == 0;
        if first && self.book.table.free_in(TCP_SLOTS) == 0 {
            self.reclaim_closing(true);
        }
        if !self.book.table.may_take(client, TCP_SLOTS, waiting) {
            return Err(Error::OutOfMemory);
        }
        self.book.table.open_in(client, kind, TCP_SLOTS)
    }

    /// `TCP_LISTEN`: a listener on `port` for app `client`.
    fn listen(&mut self, client: u32, port: u16) -> Result<Message, Error> {
        self.check_server_port(client, Transport::Tcp, port)?;
        let (number, slot) = self.open_tcp(client, Kind::Listener)?;
        let socket = self.sockets.tcp_mut(slot);
        socket.abort();
        if socket.listen(port).is_err() {
            self.book.table.free(slot);
            return Err(Error::InvalidArgument);
        }
        Ok(reply_words([number, 0, 0, 0]))
    }

    /// `TCP_ACCEPT` on app `client`'s listener `listener`.
    fn accept(&mut self, client: u32, listener: u32) -> Result<Message, Error> {
        let slot = match self.book.table.find_kind(client, listener) {
            Some((slot, Kind::Listener)) => slot,
            _ => return Err(Error::InvalidArgument),
        };
        let socket = self.sockets.tcp(slot);
        let port = socket.listen_endpoint().port;
        // Nothing yet, or a SYN being answered; a connection that ended
        // before it was taken goes back to listening.
        match socket.state() {
            tcp::State::Listen | tcp::State::SynReceived => return Ok(reply_words([0; 4])),
            tcp::State::Closed | tcp::State::TimeWait => {
                let socket = self.sockets.tcp_mut(slot);
                socket.abort();
                let _ = socket.listen(port);
                return Ok(reply_words([0; 4]));
            }
            _ => {}
        }
        let peer = socket.remote_endpoint();
        // The listener goes on in another slot: one more for this app.
        self.within_budget(client);
        // Reclaiming frees closing slots only, so the apps still waiting
        // for a first socket stay the same.
        let waiting = self.waiting(client, Transport::Tcp);
        if self.book.table.free_in(TCP_SLOTS) <= waiting {
            self.reclaim_closing(false);
        }
        if !self.book.table.may_take(client, TCP_SLOTS, waiting) {
            return Err(Error::OutOfMemory);
        }
        let ((stream, _), moved) = self.book.table.accept(client, listener, TCP_SLOTS)?;
        // Its slot is the connection's now: no listener capability may
        // name it.
        self.forget_capability(slot);
        let mut listening = moved.is_some();
        if let Some(to) = moved {
            let socket = self.sockets.tcp_mut(to);
            socket.abort();
            if socket.listen(port).is_err() {
                self.book.table.free(to);
                listening = false;
            }
        }
        let (address, peer_port) = match peer {
            Some(IpEndpoint { addr: IpAddress::Ipv4(address), port }) => (address_word(address.octets()), port),
            None => (0, 0),
        };
        Ok(reply_words([if listening { 1 } else { 2 }, stream, address, u32::from(peer_port)]))
    }

    /// `UDP_BIND`: a UDP socket for app `client` on `port` (0: a free one).
    fn bind(&mut self, client: u32, port: u16) -> Result<Message, Error> {
        if port != 0 {
            self.check_server_port(client, Transport::Udp, port)?;
        }
        // Half the UDP pool at most, so one app cannot hold all of it.
        let held = UDP_SLOTS.filter(
            |&slot| matches!(self.book.table.slot(slot), Some(Slot::Open { client: owner, .. }) if owner == client),
        );
        if held.count() >= UDP_SOCKETS_PER_APP {
            return Err(Error::OutOfMemory);
        }
        if !self.book.table.may_take(client, UDP_SLOTS, self.waiting(client, Transport::Udp)) {
            return Err(Error::OutOfMemory);
        }
        let (number, slot) = self.book.table.open_in(client, Kind::Datagram, UDP_SLOTS)?;
        let datagram = slot - POOL_SOCKETS;
        let local = if port == 0 { self.local_port() } else { port };
        let socket = self.sockets.udp_mut(datagram);
        socket.close();
        if socket.bind(local).is_err() {
            self.book.table.free(slot);
            return Err(Error::InvalidArgument);
        }
        self.nic.steering.open(datagram, local);
        self.book.peers[datagram] = Peers::new();
        self.book.server_port[datagram] = port != 0;
        Ok(reply_words([number, 0, 0, 0]))
    }

    /// The UDP socket index of app `client`'s socket `socket`.
    fn datagram_of(&self, client: u32, socket: u32) -> Result<usize, Error> {
        match self.book.table.find_kind(client, socket) {
            Some((slot, Kind::Datagram)) => slot.checked_sub(POOL_SOCKETS).ok_or(Error::InvalidArgument),
            _ => Err(Error::InvalidArgument),
        }
    }

    /// Whether app `client` may send to (and a client socket hear from)
    /// `address`: a listed literal, or one resolved for it.
    fn may_reach(&self, client: u32, address: [u8; 4]) -> bool {
        let index = client as usize - 1;
        let listed = self.book.clients[index].as_ref().is_some_and(|app| app.registration.allows(address));
        listed || self.book.resolved[index].contains(address)
    }

    /// `SEND_TO`: one datagram of the window's first `len` bytes.
    fn send_to(
        &mut self,
        client: u32,
        socket: u32,
        to: ([u8; 4], u16),
        len: usize,
        (window, keep): (Handle, bool),
    ) -> Result<Message, Error> {
        let (address, port) = to;
        let datagram = self.datagram_of(client, socket)?;
        let answering = self.book.server_port[datagram] && self.book.peers[datagram].contains(address, port);
        if !answering && !self.may_reach(client, address) {
            return Err(self.deny(client, Attempt::SendTo { address, port }));
        }
        if !self.leased {
            return Err(Error::NotFound);
        }
        let socket = self.sockets.udp_mut(datagram);
        // Straight to the device when the next hop's MAC is known and
        // nothing of this socket's waits in the stack (they keep their
        // order); else through the stack, which finds the MAC (ARP).
        let local = socket.endpoint().port;
        let hop = self.nic.steering.own.and_then(|own| Some((own.0, frame::next_hop(address, own, self.router)?)));
        let mac = hop.and_then(|(own, hop)| Some((own, self.nic.neighbors.find(hop, self.time)?)));
        if let (Some((own, mac)), 0, true) = (mac, socket.send_queue(), local != 0) {
            let headers = UdpHeaders {
                source_mac: [0; 6],
                destination_mac: mac,
                source: (own, local),
                destination: (address, port),
                identification: 0,
            };
            let nic = &mut self.nic;
            let sent = self.windows.with(window, Rights::READ, keep, |window| {
                nic.send_datagram(headers, |frame| {
                    let bytes = &window.as_bytes()[..len];
                    if let Some(room) = frame.get_mut(..len) {
                        room.copy_from_slice(bytes);
                    }
                    len
                })
            })?;
            if sent {
                self.sent_directly = true;
                return Ok(reply_words([1, 0, 0, 0]));
            }
        }
        let socket = self.sockets.udp_mut(datagram);
        let [a, b, c, d] = address;
        let to = IpEndpoint::new(IpAddress::v4(a, b, c, d), port);
        let sent =
            self.windows.with(window, Rights::READ, keep, |window| socket.send_slice(&window.as_bytes()[..len], to))?;
        match sent {
            Ok(()) => Ok(reply_words([1, 0, 0, 0])),
            Err(udp::SendError::BufferFull) => Ok(reply_words([0; 4])),
            Err(udp::SendError::Unaddressable) => Err(Error::InvalidArgument),
        }
    }

    /// The sender of the first datagram of UDP socket `datagram` (by
    /// slot - `POOL_SOCKETS`) of app `client`, if one is waiting. A client
    /// socket drops (and counts) datagrams from addresses the app may not
    /// reach first; a server socket records the sender as a peer it may
    /// answer.
    fn first_datagram(&mut self, client: u32, datagram: usize) -> Option<([u8; 4], u16)> {
        let server = self.book.server_port[datagram];
        loop {
            let ((from, port), _) = self.nic.steering.queues[datagram].first()?;
            if !server && !self.may_reach(client, from) {
                self.nic.steering.queues[datagram].pop();
                self.book.dropped_datagrams = self.book.dropped_datagrams.saturating_add(1);
                continue;
            }
            if server {
                self.book.peers[datagram].heard(from, port);
            }
            return Some((from, port));
        }
    }

    /// `RECEIVE_FROM`: the next datagram for app `client`'s socket, at most
    /// `len` bytes of it, into the window (`first_datagram`).
    fn receive_from(
        &mut self,
        client: u32,
        socket: u32,
        len: usize,
        (window, keep): (Handle, bool),
    ) -> Result<Message, Error> {
        let datagram = self.datagram_of(client, socket)?;
        let Some((from, port)) = self.first_datagram(client, datagram) else { return Ok(reply_words([0; 4])) };
        let queue = &mut self.nic.steering.queues[datagram];
        let received = self.windows.with(window, Rights::READ | Rights::WRITE, keep, |window| {
            let (_, bytes) = queue.first()?;
            let take = bytes.len().min(len);
            window.write_bytes(0, &bytes[..take]);
            let cut = bytes.len() > take;
            queue.pop();
            Some((take, cut))
        })?;
        let Some((count, cut)) = received else { return Ok(reply_words([0; 4])) };
        let flags = RECEIVED | if cut { CUT } else { 0 };
        Ok(reply_words([count as u32, address_word(from), u32::from(port), flags]))
    }

    /// Offers app `client` the next datagram of socket slot `slot` in its
    /// window, or for a stream its state when it changes
    /// (`tessera_net_core::delivery`): a socket that was not handed out (a
    /// holder could take its datagrams meanwhile). Clears the window's
    /// delivery record; says whether it offered.
    fn offer(&mut self, client: u32, slot: usize) -> bool {
        let index = client as usize - 1;
        let handed_out = self.book.socket_caps[slot].is_some();
        let Some(app) = self.book.clients[index] else { return false };
        if handed_out {
            return false;
        }
        let cleared = self.windows.with(app.window, Rights::READ | Rights::WRITE, true, |window| {
            window.write_u32(DELIVERY_RECORD_AT as u32, 0);
        });
        if cleared.is_ok() {
            self.book.deliveries[index].offer(slot);
        }
        cleared.is_ok()
    }

    /// Writes the state of stream slot `slot`, offered to the client at
    /// `index` (its number - 1), into its `window`'s delivery record, as
    /// `STATUS` would answer it.
    fn tell_state(&mut self, index: usize, slot: usize, window: Handle) {
        let Some(Slot::Open { socket: number, phase, .. }) = self.book.table.slot(slot) else { return };
        let socket = self.sockets.tcp(slot);
        let room = socket.send_capacity() - socket.send_queue();
        let record = [phase.code(), socket.recv_queue() as u32, room as u32];
        let told = self.windows.with(window, Rights::READ | Rights::WRITE, true, |window| {
            write_record(window, STATUS_DELIVERED | number, record);
        });
        if told.is_ok() {
            self.book.deliveries[index].told(slot);
        }
    }

    /// Delivers the first datagram of socket slot `slot`, offered to the
    /// client at `index` (its number - 1), into its `window`: the bytes at
    /// `DELIVERY_AT`, then the record (`DELIVERY_RECORD_AT`). The datagram
    /// stays the socket's first until the app says it took it.
    fn deliver(&mut self, index: usize, slot: usize, window: Handle) {
        let (client, datagram) = (index as u32 + 1, slot - POOL_SOCKETS);
        let Some(Slot::Open { socket: number, .. }) = self.book.table.slot(slot) else { return };
        let Some((from, port)) = self.first_datagram(client, datagram) else { return };
        let queue = &self.nic.steering.queues[datagram];
        let delivered = self.windows.with(window, Rights::READ | Rights::WRITE, true, |window| {
            let Some((_, bytes)) = queue.first() else { return false };
            if bytes.len() > DELIVERY_RECORD_AT - DELIVERY_AT {
                return false;
            }
            window.write_bytes(DELIVERY_AT as u32, bytes);
            write_record(window, DELIVERED | number, [bytes.len() as u32, address_word(from), u32::from(port)]);
            true
        });
        if delivered == Ok(true) {
            self.book.deliveries[index].made(slot);
        }
    }

    /// `DELEGATE`: a capability for app `client`'s socket `socket`, in
    /// the answer. Made from the socket's own parent capability (one per
    /// socket, badged with its slot and generation), so closing the socket
    /// revokes every copy, wherever it went.
    fn delegate(&mut self, client: u32, socket: u32) -> Result<Message, Error> {
        let slot = self.book.table.find(client, socket).ok_or(Error::InvalidArgument)?;
        let parent = match self.book.socket_caps[slot] {
            Some(parent) => parent,
            None => {
                let badge = SOCKET_BADGE | u32::from(self.book.generations[slot]) << 8 | slot as u32;
                let parent = cap_derive(self.own_endpoint, Rights::SEND | Rights::GRANT, badge)?;
                self.book.socket_caps[slot] = Some(parent);
                parent
            }
        };
        // The reply hands the caller a child of `parent`.
        Ok(Message::with_capability(0, [0; 3], parent))
    }

    /// Revokes every capability made for slot `slot` and moves its
    /// generation on: a capability for what the slot held before names
    /// nothing after.
    fn forget_capability(&mut self, slot: usize) {
        if let Some(parent) = self.book.socket_caps.get_mut(slot).and_then(Option::take) {
            let _ = cap_revoke(parent);
            let _ = cap_delete(parent);
        }
        if let Some(generation) = self.book.generations.get_mut(slot) {
            *generation = generation.wrapping_add(1);
        }
    }

    /// A request on a socket capability for slot `slot` of `generation`:
    /// its owner's request on that socket, with the holder's `frame` for
    /// the bytes. `InvalidArgument` if the slot holds another socket now,
    /// or the frame is not one the holder can lend.
    fn holder_request(
        &mut self,
        slot: usize,
        generation: u32,
        request: Request,
        frame: Option<Handle>,
    ) -> Result<Message, Error> {
        if self.book.generations.get(slot).map(|&current| u32::from(current)) != Some(generation) {
            return Err(Error::InvalidArgument);
        }
        let Some(Slot::Open { client, socket, .. }) = self.book.table.slot(slot) else {
            return Err(Error::InvalidArgument);
        };
        if let Some(frame) = frame {
            let info = cap_info(frame)?;
            let (_, bytes) = cap_object(frame)?;
            let needed = match request {
                Request::Send { len, .. } | Request::Receive { len, .. } | Request::ReceiveFrom { len, .. } => len,
                Request::SendTo { len, .. } => len,
                _ => 0,
            };
            let usable = info.kind == ObjectType::Frame && info.rights.contains(Rights::READ | Rights::WRITE);
            if !usable || bytes as usize > WINDOW_BYTES || (bytes as usize) < needed {
                return Err(Error::InvalidArgument);
            }
        }
        let request = match request {
            Request::Status { .. } => Request::Status { socket },
            Request::Send { len, .. } => Request::Send { socket, len },
            Request::Receive { len, .. } => Request::Receive { socket, len },
            Request::Close { .. } => Request::Close { socket },
            Request::Shutdown { .. } => Request::Shutdown { socket },
            Request::SendTo { address, port, len, .. } => Request::SendTo { socket, address, port, len },
            Request::ReceiveFrom { len, .. } => Request::ReceiveFrom { socket, len },
            // `decode` gives holders only the requests above.
            _ => return Err(Error::PermissionDenied),
        };
        self.app_request(client, request, frame)
    }

    /// An app's request (module docs).
    fn app_request(&mut self, client: u32, request: Request, frame: Option<Handle>) -> Result<Message, Error> {
        let index = client as usize - 1;
        let app = self.book.clients[index].as_ref().ok_or(Error::PermissionDenied)?;
        // A socket capability's holder brings its own frame; only an app's
        // own window stays mapped after the request.
        let window = frame.unwrap_or(app.window);
        let keep = frame.is_none();
        match request {
            Request::TcpConnect { address, port } => {
                // A listed literal, or an address this server resolved for
                // this app from a listed name.
                if !app.registration.allows(address) && !self.book.resolved[index].contains(address) {
                    return Err(self.deny(client, Attempt::Connect { address, port }));
                }
                let (number, slot) = self.open_tcp(client, Kind::Stream)?;
                let local = self.local_port();
                let socket = self.sockets.tcp_mut(slot);
                let remote = (IpAddress::v4(address[0], address[1], address[2], address[3]), port);
                match socket.connect(self.interface.context(), remote, local) {
                    Ok(()) => Ok(reply_words([number, 0, 0, 0])),
                    Err(_) => {
                        self.book.table.free(slot);
                        // Without a lease the stack has no address to
                        // connect from: the app may try again.
                        Err(if self.leased { Error::InvalidArgument } else { Error::NotFound })
                    }
                }
            }
            Request::Status { socket } => {
                let (slot, phase) = self.socket_of(client, socket)?;
                let socket = self.sockets.tcp(slot);
                let room = socket.send_capacity() - socket.send_queue();
                Ok(reply_words([phase.code(), socket.recv_queue() as u32, room as u32, 0]))
            }
            Request::Send { socket, len } => {
                let (slot, phase) = self.socket_of(client, socket)?;
                let socket = self.sockets.tcp_mut(slot);
                // Made and no longer sending (reset, or closed after the
                // peer's FIN): no byte will ever go.
                if !socket.may_send() && phase != Phase::Connecting {
                    return Err(Error::PeerGone);
                }
                if !socket.can_send() {
                    return Ok(reply_words([0, phase.code(), 0, 0]));
                }
                let sent = self.windows.with(window, Rights::READ, keep, |window| {
                    socket.send_slice(&window.as_bytes()[..len]).unwrap_or(0)
                })?;
                Ok(reply_words([sent as u32, phase.code(), 0, 0]))
            }
            Request::Receive { socket, len } => {
                let (slot, phase) = self.socket_of(client, socket)?;
                let socket = self.sockets.tcp_mut(slot);
                if !socket.can_recv() {
                    return Ok(reply_words([0, phase.code(), 0, 0]));
                }
                let received = self.windows.with(window, Rights::READ | Rights::WRITE, keep, |window| {
                    // The buffer is a ring: its bytes may be in two pieces.
                    let mut copied = 0;
                    for _ in 0..2 {
                        let taken = socket.recv(|bytes| {
                            let take = bytes.len().min(len - copied);
                            window.write_bytes(copied as u32, &bytes[..take]);
                            (take, take)
                        });
                        copied += taken.unwrap_or(0);
                    }
                    copied
                })?;
                Ok(reply_words([received as u32, phase.code(), 0, 0]))
            }
            Request::Close { socket } => {
                let slot = self.book.table.close(client, socket).ok_or(Error::InvalidArgument)?;
                self.forget_capability(slot);
                self.book.closed_at[slot] = uptime_micros();
                match slot.checked_sub(POOL_SOCKETS) {
                    None => self.sockets.tcp_mut(slot).close(),
                    Some(datagram) => {
                        self.sockets.udp_mut(datagram).close();
                        self.nic.steering.close(datagram);
                    }
                }
                Ok(reply_words([0; 4]))
            }
            Request::Shutdown { socket } => {
                let (slot, _) = self.socket_of(client, socket)?;
                // smoltcp's close is a half-close: a FIN after what is
                // queued; receiving goes on.
                self.sockets.tcp_mut(slot).close();
                Ok(reply_words([0; 4]))
            }
            Request::TcpListen { port } => self.listen(client, port),
            Request::TcpAccept { socket } => self.accept(client, socket),
            Request::UdpBind { port } => self.bind(client, port),
            Request::SendTo { socket, address, port, len } => {
                self.send_to(client, socket, (address, port), len, (window, keep))
            }
            Request::ReceiveFrom { socket, len } => self.receive_from(client, socket, len, (window, keep)),
            Request::Delegate { socket } => self.delegate(client, socket),
            Request::Lookup { len } => {
                let mut name = [0u8; MAX_NAME_BYTES];
                self.windows.with(window, Rights::READ, keep, |window| {
                    name[..len].copy_from_slice(&window.as_bytes()[..len])
                })?;
                let name = &name[..len];
                // Refused before any query goes out.
                match app.registration.name_index(name) {
                    Some(listed) => self.lookup(client, listed),
                    None => Err(self.deny(client, Attempt::lookup(name))),
                }
            }
            // `decode` gives apps only their own requests.
            Request::RegisterApp { .. } | Request::UnregisterApp { .. } | Request::SetResolver { .. } => {
                Err(Error::PermissionDenied)
            }
        }
    }
}

fn main(given: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("netd: needs an endpoint to receive on");
        return 1;
    };
    let Some(own_endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::SEND | Rights::DERIVE) else {
        println!("netd: needs a copy of its endpoint to make socket capabilities from");
        return 1;
    };
    let (mut nic, address, (buffers, datagram_buffers)) = match start() {
        Ok(started) => started,
        Err(reason) => {
            println!("netd: {}", reason);
            return 1;
        }
    };
    let (Some(storage), Some(book), Some(dns_buffers), Some(udp_metadata)) =
        (SOCKET_STORAGE.try_lock(), BOOK.try_lock(), DNS_BUFFERS.try_lock(), UDP_METADATA.try_lock())
    else {
        println!("netd: its statics are taken");
        return 1;
    };
    // Taken for the rest of the process.
    let (storage, book) = (spin::MutexGuard::leak(storage), spin::MutexGuard::leak(book));
    let (dns_buffers, udp_metadata) = (spin::MutexGuard::leak(dns_buffers), spin::MutexGuard::leak(udp_metadata));
    let mac = nic.mac_address();
    let [a, b, c, d, e, f] = mac;
    // The device's interrupt, bound to a notification bound to this
    // process: a frame then ends the wait for a request. Without both (or
    // if the kernel refuses), it polls.
    let interrupt = match (
        find_initial_capability(ObjectType::Interrupt, Rights::empty()),
        find_initial_capability(ObjectType::Notification, Rights::WAIT | Rights::SIGNAL),
    ) {
        (Some(interrupt), Some(notification)) => interrupt_bind(interrupt, notification, 0)
            .and_then(|()| notification_bind(notification))
            .map(|()| interrupt)
            .ok(),
        _ => None,
    };
    let how = if interrupt.is_some() { "interrupt-driven" } else { "polled" };
    println!(
        "netd: the virtio network device at {:#010x}, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {}; asking DHCP",
        address, a, b, c, d, e, f, how
    );
    let seed = random_seed(given.argument, mac);
    if given.argument == 0 {
        println!("netd: no random seed from the Pluton security server: the stack's numbers are guessable");
    }
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    config.random_seed = seed;
    let interface = Interface::new(config, &mut nic, now());
    let (storage, parked) = storage.split_at_mut(2 + SLOTS);
    let mut sockets = SocketSet::new(storage);
    let dhcp = sockets.add(dhcpv4::Socket::new());
    // The buffers are sized for the pool: none is missing (an empty one
    // would give a socket that holds nothing).
    let mut pieces = buffers.into_iter().flat_map(|frame| frame.iter_mut());
    let tcp = || {
        let mut piece = || pieces.next().map_or(&mut [][..], |piece| &mut piece[..]);
        let (receive, send) = (piece(), piece());
        let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(receive), tcp::SocketBuffer::new(send));
        socket.set_timeout(Some(Duration::from_secs(CONNECTION_TIMEOUT_SECS)));
        socket
    };
    // Each UDP socket's receive buffer holds its queue; the stack's
    // socket only sends (`virtio::Steering`).
    let (receives, sends) = datagram_buffers.split_at_mut(UDP_SOCKETS);
    for (queue, buffer) in nic.steering.queues.iter_mut().zip(receives) {
        *queue = Datagrams::new(&mut buffer[..]);
    }
    let (mut pieces, mut records) = (sends.iter_mut(), udp_metadata.iter_mut());
    let udp = || {
        let send = pieces.next().map_or(&mut [][..], |piece| &mut piece[..]);
        let sent = records.next().map_or(&mut [][..], |record| &mut record[..]);
        udp::Socket::new(udp::PacketBuffer::new(&mut [][..], &mut [][..]), udp::PacketBuffer::new(sent, send))
    };
    let (first, count) = EPHEMERAL_PORTS;
    let next_port = first + (seed % u64::from(count)) as u16;
    let DnsBuffers { receive_metadata, receive: received, send_metadata, send: sent } = dns_buffers;
    let mut dns_socket = udp::Socket::new(
        udp::PacketBuffer::new(&mut receive_metadata[..], &mut received[..]),
        udp::PacketBuffer::new(&mut send_metadata[..], &mut sent[..]),
    );
    // Its own port, apart from the TCP ones' sequence (UDP ports are
    // another space anyway).
    let dns_port = first + ((seed >> 16) % u64::from(count)) as u16;
    if dns_socket.bind(dns_port).is_err() {
        println!("netd: cannot bind the DNS client's socket");
        return 1;
    }
    let dns = sockets.add(dns_socket);
    let pool = Sockets::new(sockets, SocketSet::new(parked), tcp, udp);
    let mut server = Server {
        nic,
        interface,
        sockets: pool,
        dhcp,
        own_endpoint,
        interrupt_driven: interrupt.is_some(),
        windows: Windows { mapped: None },
        dns,
        dns_port,
        book,
        leased: false,
        configured_dns: None,
        leased_dns: [None; MAX_SERVERS - 1],
        // Never 0 (xorshift's fixed point).
        ids: seed.rotate_left(17) | 1,
        next_port,
        router: None,
        time: 0,
        sent_directly: false,
    };
    let mut quiet = false;
    // Read after every request and interrupt: the stepped clock.
    let mut clock = tessera_rt::UptimeClock::new();
    let mut time = clock.micros();
    // When the stack is next due a poll (its timers, the server's own).
    let mut poll_by = time;
    // The answer to the last request, sent with the next receive (one
    // syscall, `ReplyReceive`), after the round's poll.
    let mut answer = None;
    loop {
        // A round whose request only read the stack's state (`read_only`)
        // does not poll it, unless it is due: nothing came in or may go out
        // because of it, and a frame raises the interrupt, a round of its
        // own. A `SEND_TO` sent directly is one, and so is the interrupt
        // for frames sent or datagrams steered into apps' sockets, with no
        // frame for the stack (`Nic::steer`).
        let mut read_only = false;
        let mut timed_out = false;
        let wait = Timeout::Micros(u32::try_from(poll_by.saturating_sub(time)).unwrap_or(u32::MAX - 1).max(1));
        // An answer that cannot be delivered (its caller gave up waiting)
        // is not reported, and needs nothing done.
        let next = match answer.take() {
            Some(answer) => reply_receive_timeout(endpoint, &answer, wait),
            None => receive(endpoint, wait),
        };
        match next {
            // The device raised its interrupt: a frame came (or one went).
            Ok(notified) if notified.badge == NOTIFIED_BADGE => {
                server.nic.ack_interrupt();
                if let Some(interrupt) = interrupt {
                    let _ = interrupt_ack(interrupt);
                }
                // Only frames sent (the device gives back their buffers),
                // or datagrams for the apps' sockets, steered into their
                // queues: nothing for the stack until it is due.
                read_only = server.nic.steer(time);
                if core::mem::take(&mut server.nic.steering.arrived) != 0 {
                    server.wake_waiting(false);
                }
            }
            Ok(mut request) => {
                let result;
                (result, read_only) = server.answer(&request);
                // A registration keeps its window; every other capability
                // a request brought goes now.
                let (label, _) = split_label(request.message.label);
                let kept = label == tessera_servers::net::REGISTER_APP && result.is_ok();
                if !kept {
                    request.drop_capabilities();
                }
                answer = Some(result.unwrap_or_else(|error| Message::new(error as u32, [0; 4])));
                // A `CLOSE` is answered at once, before the round's poll
                // (docs/benchmarks.md, "One syscall a request").
                if label == tessera_servers::net::CLOSE {
                    if let Some(answer) = answer.take() {
                        let _ = reply(&answer);
                    }
                }
            }
            Err(Error::TimedOut) => timed_out = true,
            Err(error) => {
                if !quiet {
                    println!("netd: receive failed: {}; serving the network only", error.name());
                    quiet = true;
                }
                sleep_micros(POLL_MICROS);
            }
        }
        // A wait that timed out ended at `poll_by` or after: the stepped
        // clock, up to 2 us behind, must not make the stack's timer due
        // then look early (a round for nothing, 500 us later).
        time = clock.micros();
        if timed_out {
            time = time.max(poll_by);
        }
        server.time = time;
        if read_only && time < poll_by {
            continue;
        }
        server.poll(time);
        poll_by = time + u64::from(server.delay_micros(time));
    }
}

/// The server's DNS lookups for apps (`lookups.rs`).
mod lookups;

/// The device: the virtio driver, its DMA memory and smoltcp's
/// `phy::Device` over it (`virtio.rs`).
#[allow(unsafe_code)]
mod virtio;
