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
//! live in, `net::SOCKET_MEMORY_BYTES` of untyped memory for the socket
//! buffers (one frame, mapped at `net::SOCKETS_AT`), and the receiving
//! side of its endpoint. Runs until its process is ended.
//!
//! # Loop
//!
//! It polls: the transport's interrupt is not used. It waits for a request
//! until the stack's next timer or `net::POLL_MICROS`, whichever comes
//! first, but at least `net::POLL_MIN_MICROS`; answers it if one came;
//! then hands received frames to the stack and lets the stack send. The
//! stack's socket buffers (`net::SOCKET_BUFFER_BYTES` each way per socket)
//! are in their frame, the stack's socket slots and the server's tables
//! are statics it takes once at start; everything else lives on its stack
//! or in the DMA frame: no heap.
//!
//! An app's window is mapped only while a request of that app is answered
//! (the app is blocked in its call meanwhile, so `init` cannot take the
//! window back halfway), as the Pluton server does with its buffers.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::fmt;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use tessera_net_core::denials::{Attempt, Denial, Denials, Reason};
use tessera_net_core::dns::{self, encode_query, MAX_QUERY_BYTES};
use tessera_net_core::protocol::{decode, Caller, Request};
use tessera_net_core::registration::Registration;
use tessera_net_core::resolver::{Lookup, Outcome, Resolved, Step, MAX_SERVERS};
use tessera_net_core::sockets::{Phase, Slot, SocketTable, TcpState};
use tessera_rt::{
    cap_delete, cap_info, cap_object, find_initial_capability, for_each_initial_capability, println, receive, reply,
    sleep_micros, unmap, uptime_micros, Error, Handle, Mapping, Message, ObjectType, Received, Rights, Timeout,
};
use tessera_servers::net::{
    address_word, CLOSE_LINGER_MICROS, CONNECTION_TIMEOUT_SECS, DMA_BYTES, MAX_CLIENTS, MAX_NAME_BYTES, POLL_MICROS,
    POLL_MIN_MICROS, POOL_SOCKETS, SOCKET_BUFFER_BYTES, SOCKET_MEMORY_BYTES, WINDOW_BYTES, WINDOW_MAPPED_AT,
};
use virtio::Nic;

tessera_rt::entry!(main);

/// The stack's clock: microseconds since boot.
fn now() -> Instant {
    Instant::from_micros(i64::try_from(uptime_micros()).unwrap_or(i64::MAX))
}

/// The seed of the stack's random numbers (DHCP transaction IDs, TCP
/// initial sequence numbers) and of the first local port: the uptime
/// mixed with the MAC, through SplitMix64's finaliser. Guessable: it
/// differs between devices and a little between boots, no more. Once
/// servers may call the Pluton security server, its `RANDOM` provides the
/// seed (docs/CAVEATS.md: no server has a Pluton endpoint yet).
fn random_seed(mac: [u8; 6]) -> u64 {
    let [a, b, c, d, e, f] = mac;
    let mut seed = uptime_micros() ^ u64::from_be_bytes([0, 0, a, b, c, d, e, f]).rotate_left(29);
    seed = (seed ^ (seed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    seed = (seed ^ (seed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    seed ^ (seed >> 31)
}

/// Finds the device region and the two blocks of untyped memory `init`
/// gave (told apart by size), starts the device and maps the socket
/// buffers; returns the device, its transport's physical address and the
/// buffers.
fn start() -> Result<(Nic, u32, &'static mut SocketBuffers), &'static str> {
    let (mut region, mut dma, mut buffers) = (None, None, None);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::DeviceRegion if info.rights.contains(Rights::READ | Rights::WRITE) => {
            region.get_or_insert(handle);
        }
        ObjectType::Untyped => match cap_object(handle) {
            Ok((_, DMA_BYTES)) => dma = Some(handle),
            Ok((_, SOCKET_MEMORY_BYTES)) => buffers = Some(handle),
            _ => {}
        },
        _ => {}
    });
    let region = region.ok_or("needs the virtio-mmio page of the network device")?;
    let dma = dma.ok_or("needs untyped memory for the device's queues and buffers")?;
    let buffers = buffers.ok_or("needs untyped memory for the socket buffers")?;
    let (address, transport) = virtio::find_device(region)?;
    let pool = virtio::Pool::new(dma)?;
    let nic = Nic::new(transport, pool).map_err(|_| "the virtio network device did not start")?;
    Ok((nic, address, socket_memory::take(buffers)?))
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

/// The socket buffers: a receive and a send buffer per pool socket.
type SocketBuffers = [[u8; SOCKET_BUFFER_BYTES]; 2 * POOL_SOCKETS];

/// The socket buffers' memory, with the `unsafe` code that hands it out.
#[allow(unsafe_code)]
mod socket_memory {
    use core::sync::atomic::{AtomicBool, Ordering};

    use tessera_rt::{map, retype, Handle, ObjectType, Rights};
    use tessera_servers::net::{SOCKETS_AT, SOCKET_MEMORY_BYTES};

    use super::SocketBuffers;

    // The buffers fill the frame exactly.
    const _: () = assert!(core::mem::size_of::<SocketBuffers>() == SOCKET_MEMORY_BYTES as usize);

    /// Set once the buffers are handed out.
    static TAKEN: AtomicBool = AtomicBool::new(false);

    /// Makes one frame of `SOCKET_MEMORY_BYTES` from `untyped` (zeroed by
    /// `Retype`), maps it read-write at `SOCKETS_AT` for the rest of the
    /// process, and hands it out as the socket buffers, once.
    pub fn take(untyped: Handle) -> Result<&'static mut SocketBuffers, &'static str> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return Err("the socket buffers are taken");
        }
        let frame = retype(untyped, ObjectType::Frame, SOCKET_MEMORY_BYTES)
            .map_err(|_| "too little untyped memory for the socket buffers")?;
        map(frame, SOCKETS_AT, Rights::READ | Rights::WRITE).map_err(|_| "cannot map the socket buffers")?;
        // SAFETY: the frame is mapped read-write at `SOCKETS_AT` for
        // `SOCKET_MEMORY_BYTES`, exactly the buffers' size, and stays
        // mapped: the server never unmaps it or deletes its capability (if
        // `init` revoked it, an access would fault and end this process,
        // not reach other memory). Nothing else in the process uses those
        // addresses, the bytes are zeroed (a valid `u8` array, aligned to
        // 1), and `TAKEN` makes this the only reference ever made.
        Ok(unsafe { &mut *(SOCKETS_AT as *mut SocketBuffers) })
    }
}

/// The stack's socket slots: the DHCP client's, the DNS client's and the
/// pool's.
static SOCKET_STORAGE: spin::Mutex<[SocketStorage<'static>; 2 + POOL_SOCKETS]> =
    spin::Mutex::new([SocketStorage::EMPTY; 2 + POOL_SOCKETS]);

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

/// A registered app.
#[derive(Clone, Copy)]
struct Client {
    registration: Registration,
    /// Its transfer window (a copy of `init`'s capability; revoked with
    /// the app's memory).
    window: Handle,
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
    table: SocketTable<POOL_SOCKETS>,
    /// When each closing slot was closed (microseconds since boot).
    closed_at: [u64; POOL_SOCKETS],
    denials: Denials,
}

impl Book {
    const fn new() -> Book {
        Book {
            clients: [None; MAX_CLIENTS as usize],
            resolved: [Resolved::new(); MAX_CLIENTS as usize],
            lookups: [None; MAX_CLIENTS as usize],
            table: SocketTable::new(),
            closed_at: [0; POOL_SOCKETS],
            denials: Denials::new(),
        }
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

/// Runs `work` on app window `window`, mapped with `rights` for the time
/// it takes.
fn with_window<R>(window: Handle, rights: Rights, work: impl FnOnce(&Mapping) -> R) -> Result<R, Error> {
    let mapping = Mapping::new(window, WINDOW_MAPPED_AT, rights)?;
    let result = work(&mapping);
    let _ = unmap(window);
    Ok(result)
}

/// The server: the device, the stack and its book.
struct Server<'a> {
    nic: Nic,
    interface: Interface,
    sockets: SocketSet<'a>,
    dhcp: SocketHandle,
    /// The pool's sockets, by slot.
    tcp: [SocketHandle; POOL_SOCKETS],
    /// The DNS client's socket.
    dns: SocketHandle,
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
}

/// The first local port, and the number of them.
const EPHEMERAL_PORTS: (u16, u16) = (49152, 16384);

fn reply_words(words: [u32; 4]) -> Message {
    Message::new(0, words)
}

impl Server<'_> {
    /// Hands frames to the stack and lets it send; acts on the DHCP
    /// client's news; follows the pool's connections.
    fn poll(&mut self) {
        self.interface.poll(now(), &mut self.nic, &mut self.sockets);
        match self.sockets.get_mut::<dhcpv4::Socket>(self.dhcp).poll() {
            Some(dhcpv4::Event::Configured(lease)) => {
                configure(&mut self.interface, Some(&lease));
                self.leased = true;
                self.leased_dns = [None; MAX_SERVERS - 1];
                for (slot, server) in self.leased_dns.iter_mut().zip(&lease.dns_servers) {
                    *slot = Some(server.octets());
                }
            }
            // The client says so once at start too, with nothing to undo.
            Some(dhcpv4::Event::Deconfigured) if self.leased => {
                configure(&mut self.interface, None);
                self.leased = false;
                self.leased_dns = [None; MAX_SERVERS - 1];
            }
            Some(dhcpv4::Event::Deconfigured) | None => {}
        }
        self.poll_dns();
        let time = uptime_micros();
        for slot in 0..POOL_SOCKETS {
            let socket = self.sockets.get_mut::<tcp::Socket>(self.tcp[slot]);
            match self.book.table.slot(slot) {
                Some(Slot::Open { .. }) => {
                    self.book.table.observe(slot, tcp_state(socket.state()));
                }
                // Done, or lingering too long: the slot serves again.
                Some(Slot::Closing) => {
                    let lingered = time.saturating_sub(self.book.closed_at[slot]) > CLOSE_LINGER_MICROS;
                    if !socket.is_open() || lingered {
                        socket.abort();
                        self.book.table.free(slot);
                    }
                }
                _ => {}
            }
        }
    }

    /// The DNS servers, in the order lookups ask them (docs/network.md):
    /// the configured one, then the lease's; and how many there are.
    fn dns_servers(&self) -> ([([u8; 4], u16); MAX_SERVERS], usize) {
        let mut servers = [([0; 4], dns::PORT); MAX_SERVERS];
        let leased = self.leased_dns.iter().flatten().map(|&address| (address, dns::PORT));
        let mut count = 0;
        for server in self.configured_dns.into_iter().chain(leased) {
            servers[count] = server;
            count += 1;
        }
        (servers, count)
    }

    /// A fresh DNS query ID (xorshift64 over a seed from the MAC and the
    /// time; docs/CAVEATS.md: guessable until servers may ask the Pluton
    /// server for randomness).
    fn next_id(&mut self) -> u16 {
        self.ids ^= self.ids << 13;
        self.ids ^= self.ids >> 7;
        self.ids ^= self.ids << 17;
        (self.ids >> 32) as u16
    }

    /// Carries out `step` of client `client`'s lookup: sends its query.
    /// A query the socket has no room for is not sent; the lookup's
    /// deadline sends it again.
    fn ask(&mut self, client: u32, step: Step) {
        let Step::Ask { server, id } = step else { return };
        let index = client as usize - 1;
        let (Some(app), Some(lookup)) = (&self.book.clients[index], &self.book.lookups[index]) else { return };
        let Some(name) = app.registration.name(lookup.name()) else { return };
        let mut query = [0u8; MAX_QUERY_BYTES];
        let Some(size) = encode_query(id, name, &mut query) else { return };
        let (servers, count) = self.dns_servers();
        let Some(&([a, b, c, d], port)) = servers[..count].get(server) else { return };
        let socket = self.sockets.get_mut::<udp::Socket>(self.dns);
        let _ = socket.send_slice(&query[..size], IpEndpoint::new(IpAddress::v4(a, b, c, d), port));
    }

    /// Reads the DNS answers that came, moves the lookups on (an answer,
    /// or a deadline passed), and sends the queries that follow.
    fn poll_dns(&mut self) {
        let mut answer = [0u8; DNS_ANSWER_BYTES];
        loop {
            let socket = self.sockets.get_mut::<udp::Socket>(self.dns);
            let Ok((size, metadata)) = socket.recv_slice(&mut answer) else { break };
            let IpAddress::Ipv4(from) = metadata.endpoint.addr;
            let (servers, count) = self.dns_servers();
            let Some(server) = servers[..count].iter().position(|&s| s == (from.octets(), metadata.endpoint.port))
            else {
                continue;
            };
            let Some(&[high, low]) = answer.get(..2).and_then(|id| <&[u8; 2]>::try_from(id).ok()) else { continue };
            let id = u16::from_be_bytes([high, low]);
            let waiting = self
                .book
                .lookups
                .iter()
                .position(|lookup| lookup.and_then(|lookup| lookup.in_flight()) == Some((server, id)));
            let Some(index) = waiting else { continue };
            let next_id = self.next_id();
            let (Some(app), Some(lookup)) = (&self.book.clients[index], &mut self.book.lookups[index]) else {
                continue;
            };
            let Some(name) = app.registration.name(lookup.name()) else { continue };
            let result = dns::decode_response(&answer[..size], id, name);
            let step = lookup.on_answer(server, id, result, next_id, count, uptime_micros());
            self.after(index as u32 + 1, step);
        }
        let now = uptime_micros();
        for index in 0..MAX_CLIENTS as usize {
            if self.book.lookups[index].and_then(|lookup| lookup.deadline()).is_some_and(|deadline| now >= deadline) {
                let next_id = self.next_id();
                let (_, count) = self.dns_servers();
                let Some(lookup) = &mut self.book.lookups[index] else { continue };
                let step = lookup.on_time(next_id, count, now);
                self.after(index as u32 + 1, step);
            }
        }
    }

    /// What follows a step of client `client`'s lookup: a query sent, or,
    /// when it ended, the addresses remembered for the client and a log
    /// line.
    fn after(&mut self, client: u32, step: Step) {
        let index = client as usize - 1;
        if step != Step::Done {
            self.ask(client, step);
            return;
        }
        let (Some(app), Some(lookup)) = (&self.book.clients[index], &self.book.lookups[index]) else { return };
        let name = app.registration.name(lookup.name()).and_then(|name| core::str::from_utf8(name).ok());
        let name = name.unwrap_or("?");
        match lookup.outcome() {
            Some(Outcome::Found(answer)) => {
                for &address in answer.addresses() {
                    self.book.resolved[index].remember(address);
                }
                println!("netd: app {} looked up {}: {}", client, name, Addresses(answer.addresses()));
            }
            Some(Outcome::NotFound) => println!("netd: app {} looked up {}: no address (no such name)", client, name),
            Some(Outcome::TimedOut) | None => {
                println!("netd: app {} looked up {}: no DNS server answered", client, name)
            }
        }
    }

    /// `LOOKUP` of client `client`'s name `name` (an index into its
    /// names): the answer, or 0 addresses while it is under way. A lookup
    /// of another name replaces one under way.
    fn lookup(&mut self, client: u32, name: usize) -> Result<Message, Error> {
        let index = client as usize - 1;
        if let Some(lookup) = self.book.lookups[index].filter(|lookup| lookup.name() == name) {
            let Some(outcome) = lookup.outcome() else { return Ok(reply_words([0; 4])) };
            self.book.lookups[index] = None;
            return match outcome {
                Outcome::Found(answer) => {
                    let mut words = [0; 4];
                    let addresses = answer.addresses().iter().take(3);
                    for (word, &address) in words[1..].iter_mut().zip(addresses.clone()) {
                        *word = address_word(address);
                    }
                    words[0] = addresses.count() as u32;
                    Ok(reply_words(words))
                }
                Outcome::NotFound => Err(Error::NotFound),
                Outcome::TimedOut => Err(Error::TimedOut),
            };
        }
        let (_, count) = self.dns_servers();
        if count == 0 {
            // No lease yet (or one without DNS servers): the app asks again
            // until its timeout.
            self.book.lookups[index] = None;
            return Ok(reply_words([0; 4]));
        }
        let id = self.next_id();
        let (lookup, step) = Lookup::start(name, count, id, uptime_micros());
        self.book.lookups[index] = Some(lookup);
        self.ask(client, step);
        Ok(reply_words([0; 4]))
    }

    /// Logs and keeps a denial of client `client`'s `attempt`.
    fn deny(&mut self, client: u32, attempt: Attempt) -> Error {
        let Some(app) = &self.book.clients[client as usize - 1] else { return Error::PermissionDenied };
        let denial =
            Denial { client, component_id: app.registration.component_id(), attempt, reason: Reason::NotListed };
        println!("netd: {}", denial);
        self.book.denials.record(denial);
        Error::PermissionDenied
    }

    /// How long to wait for a request before polling again.
    fn delay_micros(&mut self) -> u32 {
        // Frames arrive unannounced (no interrupt), so never longer than
        // `POLL_MICROS`; and never less than `POLL_MIN_MICROS`, even if the
        // stack has work due at once (say, a frame waiting for a transmit
        // buffer): at the servers' priority a loop that did not wait would
        // keep every app from running.
        let delay = self.interface.poll_delay(now(), &self.sockets);
        let micros = delay.map_or(u64::from(POLL_MICROS), |delay| delay.total_micros());
        micros.clamp(u64::from(POLL_MIN_MICROS), u64::from(POLL_MICROS)) as u32
    }

    /// Answers one request (module docs); the error is the answer's label.
    fn answer(&mut self, request: &Received) -> Result<Message, Error> {
        let message = &request.message;
        let (caller, decoded) = decode(message.label, message.words, message.caps, request.badge)?;
        match (caller, decoded) {
            (Caller::Init, Request::RegisterApp { client }) => {
                self.register(client, Handle(message.words[3])).map(|()| reply_words([0; 4]))
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
            (Caller::App(client), request) => self.app_request(client, request),
            // `decode` lets `init` make only its own requests.
            (Caller::Init, _) => Err(Error::PermissionDenied),
        }
    }

    /// `REGISTER_APP`: reads the app's policy from its window and records
    /// it as client `client`, replacing (and aborting the sockets of) any
    /// app registered under that number before.
    fn register(&mut self, client: u32, window: Handle) -> Result<(), Error> {
        let info = cap_info(window)?;
        if info.kind != ObjectType::Frame || !info.rights.contains(Rights::READ | Rights::WRITE | Rights::INSPECT) {
            return Err(Error::WrongType);
        }
        let (_, size) = cap_object(window)?;
        if size as usize != WINDOW_BYTES {
            return Err(Error::InvalidArgument);
        }
        let record = with_window(window, Rights::READ, |mapping| Registration::decode(mapping.as_bytes()))?;
        let registration = record.map_err(|error| {
            println!("netd: app {} not registered: {}", client, error);
            Error::InvalidArgument
        })?;
        self.unregister(client);
        self.book.clients[client as usize - 1] = Some(Client { registration, window });
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
        let _ = cap_delete(old.window);
        self.book.resolved[index] = Resolved::new();
        self.book.lookups[index] = None;
        let (sockets, tcp, time) = (&mut self.sockets, &self.tcp, uptime_micros());
        let closed_at = &mut self.book.closed_at;
        self.book.table.close_all(client, |slot| {
            sockets.get_mut::<tcp::Socket>(tcp[slot]).abort();
            closed_at[slot] = time;
        });
    }

    /// A local port no pool socket uses.
    fn local_port(&mut self) -> u16 {
        let (first, count) = EPHEMERAL_PORTS;
        loop {
            let port = self.next_port;
            self.next_port = first + (self.next_port - first + 1) % count;
            let used = self.tcp.iter().any(|&handle| {
                self.sockets.get::<tcp::Socket>(handle).local_endpoint().is_some_and(|local| local.port == port)
            });
            // At most `POOL_SOCKETS` ports are in use: this ends.
            if !used {
                return port;
            }
        }
    }

    /// The pool slot of app `client`'s socket `socket` and its phase now.
    fn socket_of(&mut self, client: u32, socket: u32) -> Result<(usize, Phase), Error> {
        let slot = self.book.table.find(client, socket).ok_or(Error::InvalidArgument)?;
        let state = tcp_state(self.sockets.get::<tcp::Socket>(self.tcp[slot]).state());
        let phase = self.book.table.observe(slot, state).ok_or(Error::InvalidArgument)?;
        Ok((slot, phase))
    }

    /// An app's request (module docs).
    fn app_request(&mut self, client: u32, request: Request) -> Result<Message, Error> {
        let index = client as usize - 1;
        let app = self.book.clients[index].as_ref().ok_or(Error::PermissionDenied)?;
        let window = app.window;
        match request {
            Request::TcpConnect { address, port } => {
                // A listed literal, or an address this server resolved for
                // this app from a listed name.
                if !app.registration.allows(address) && !self.book.resolved[index].contains(address) {
                    return Err(self.deny(client, Attempt::Connect { address, port }));
                }
                let (number, slot) = self.book.table.open(client)?;
                let local = self.local_port();
                let socket = self.sockets.get_mut::<tcp::Socket>(self.tcp[slot]);
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
                let socket = self.sockets.get::<tcp::Socket>(self.tcp[slot]);
                let room = socket.send_capacity() - socket.send_queue();
                Ok(reply_words([phase.code(), socket.recv_queue() as u32, room as u32, 0]))
            }
            Request::Send { socket, len } => {
                let (slot, phase) = self.socket_of(client, socket)?;
                let socket = self.sockets.get_mut::<tcp::Socket>(self.tcp[slot]);
                // Made and no longer sending (reset, or closed after the
                // peer's FIN): no byte will ever go.
                if !socket.may_send() && phase != Phase::Connecting {
                    return Err(Error::PeerGone);
                }
                if !socket.can_send() {
                    return Ok(reply_words([0, phase.code(), 0, 0]));
                }
                let sent = with_window(window, Rights::READ, |window| {
                    socket.send_slice(&window.as_bytes()[..len]).unwrap_or(0)
                })?;
                Ok(reply_words([sent as u32, phase.code(), 0, 0]))
            }
            Request::Receive { socket, len } => {
                let (slot, phase) = self.socket_of(client, socket)?;
                let socket = self.sockets.get_mut::<tcp::Socket>(self.tcp[slot]);
                if !socket.can_recv() {
                    return Ok(reply_words([0, phase.code(), 0, 0]));
                }
                let received = with_window(window, Rights::READ | Rights::WRITE, |window| {
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
                self.book.closed_at[slot] = uptime_micros();
                self.sockets.get_mut::<tcp::Socket>(self.tcp[slot]).close();
                Ok(reply_words([0; 4]))
            }
            Request::Lookup { len } => {
                let mut name = [0u8; MAX_NAME_BYTES];
                with_window(window, Rights::READ, |window| name[..len].copy_from_slice(&window.as_bytes()[..len]))?;
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

fn main(_start: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("netd: needs an endpoint to receive on");
        return 1;
    };
    let (mut nic, address, buffers) = match start() {
        Ok(started) => started,
        Err(reason) => {
            println!("netd: {}", reason);
            return 1;
        }
    };
    let (Some(storage), Some(book), Some(dns_buffers)) =
        (SOCKET_STORAGE.try_lock(), BOOK.try_lock(), DNS_BUFFERS.try_lock())
    else {
        println!("netd: its statics are taken");
        return 1;
    };
    // Taken for the rest of the process.
    let (storage, book, dns_buffers) =
        (spin::MutexGuard::leak(storage), spin::MutexGuard::leak(book), spin::MutexGuard::leak(dns_buffers));
    let mac = nic.mac_address();
    let [a, b, c, d, e, f] = mac;
    println!(
        "netd: the virtio network device at {:#010x}, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, polled; asking DHCP",
        address, a, b, c, d, e, f
    );
    let seed = random_seed(mac);
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    config.random_seed = seed;
    let interface = Interface::new(config, &mut nic, now());
    let mut sockets = SocketSet::new(&mut storage[..]);
    let dhcp = sockets.add(dhcpv4::Socket::new());
    let mut tcp = [SocketHandle::default(); POOL_SOCKETS];
    let mut pieces = buffers.iter_mut();
    for handle in &mut tcp {
        let (Some(receive), Some(send)) = (pieces.next(), pieces.next()) else { break };
        let mut socket =
            tcp::Socket::new(tcp::SocketBuffer::new(&mut receive[..]), tcp::SocketBuffer::new(&mut send[..]));
        socket.set_timeout(Some(Duration::from_secs(CONNECTION_TIMEOUT_SECS)));
        *handle = sockets.add(socket);
    }
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
    let mut server = Server {
        nic,
        interface,
        sockets,
        dhcp,
        tcp,
        dns,
        book,
        leased: false,
        configured_dns: None,
        leased_dns: [None; MAX_SERVERS - 1],
        // Never 0 (xorshift's fixed point).
        ids: seed.rotate_left(17) | 1,
        next_port,
    };
    let mut quiet = false;
    loop {
        match receive(endpoint, Timeout::Micros(server.delay_micros())) {
            Ok(request) => {
                let result = server.answer(&request);
                // A registration keeps its window; every other capability
                // a request brought goes now.
                let kept = request.message.label == tessera_servers::net::REGISTER_APP && result.is_ok();
                if !kept {
                    request.drop_capabilities();
                }
                let answer = result.unwrap_or_else(|error| Message::new(error as u32, [0; 4]));
                // The caller may have given up waiting: nothing to do.
                let _ = reply(&answer);
            }
            Err(Error::TimedOut) => {}
            Err(error) => {
                if !quiet {
                    println!("netd: receive failed: {}; serving the network only", error.name());
                    quiet = true;
                }
                sleep_micros(POLL_MICROS);
            }
        }
        server.poll();
    }
}

/// The device and what it needs from this process: the DMA pool and the
/// `virtio-drivers` HAL over it (`tessera_servers::dma`: one frame of
/// `DMA_BYTES` from the untyped memory `init` gave, mapped at `DMA_AT`; the
/// virtqueues come first, then the buffers), the transport's registers,
/// the buffers lent to the device, and smoltcp's `phy::Device` over the
/// raw driver.
///
/// Every buffer is the device's from the moment it is added to a queue
/// until the request is popped from the used ring: `Buffers` records the
/// token of the request holding each one, and nothing reads or writes a
/// buffer's bytes while it has one.
#[allow(unsafe_code)]
mod virtio {
    use core::ptr::NonNull;
    use smoltcp::phy::{self, DeviceCapabilities, Medium};
    use smoltcp::time::Instant;
    use tessera_rt::{cap_object, Handle, Mapping, Rights};
    use tessera_servers::dma;
    use tessera_servers::net::{
        BUFFER_BYTES, DMA_AT, DMA_BYTES, NET_DEVICE, QUEUE_SIZE, RECEIVE_BUFFERS, REGISTERS_AT, TRANSMIT_BUFFERS,
    };
    use tessera_servers::uart::{is_virtio_mmio, DEVICE_ID_OFFSET, MAGIC, MAGIC_OFFSET, TRANSPORT_BYTES};
    use virtio_drivers::device::net::VirtIONetRaw;
    use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};

    /// The largest Ethernet frame, without its check sequence: a 1500-byte
    /// IP packet and its 14-byte header.
    const ETHERNET_FRAME_BYTES: usize = 1514;

    /// The DMA pool (`tessera_servers::dma`): one frame of `DMA_BYTES` at
    /// `DMA_AT`.
    pub type Pool = dma::Pool<DMA_AT, DMA_BYTES>;
    /// The `virtio-drivers` HAL over it.
    type Hal = dma::Hal<DMA_AT, DMA_BYTES>;

    /// Maps the virtio-mmio page `region` at `REGISTERS_AT` for good and
    /// finds the first transport on it whose device is a network device;
    /// returns its physical address and its transport.
    pub fn find_device(region: Handle) -> Result<(u32, MmioTransport<'static>), &'static str> {
        let (physical, bytes) = cap_object(region).map_err(|_| "cannot see the device region's address")?;
        if !is_virtio_mmio(physical) {
            return Err("the device region it was given holds no virtio-mmio transport");
        }
        let page = Mapping::new(region, REGISTERS_AT, Rights::READ | Rights::WRITE)
            .map_err(|_| "cannot map the virtio-mmio page")?;
        let offset = (0..bytes / TRANSPORT_BYTES).map(|slot| slot * TRANSPORT_BYTES).find(|&offset| {
            page.read_u32(offset + MAGIC_OFFSET) == MAGIC && page.read_u32(offset + DEVICE_ID_OFFSET) == NET_DEVICE
        });
        let offset = offset.ok_or("no virtio network device on the virtio-mmio page it was given")?;
        let header = NonNull::new((REGISTERS_AT + offset) as *mut VirtIOHeader).ok_or("REGISTERS_AT is not null")?;
        // SAFETY: the header is the start of a virtio-mmio transport (its
        // magic value checked above), 512-byte aligned, in a device region
        // mapped just above as device memory and never unmapped, so its
        // `TRANSPORT_BYTES` of registers, config space included, stay valid
        // for the rest of the process; nothing else in this process
        // touches them from here on. (If the capability were revoked, an
        // access would fault and end the process, not reach other memory.)
        let transport = unsafe { MmioTransport::new(header, TRANSPORT_BYTES as usize) };
        Ok((physical + offset, transport.map_err(|_| "the network device's transport was refused")?))
    }

    /// Buffers lent to the device one request each.
    struct Buffers<const N: usize> {
        bytes: [&'static mut [u8; BUFFER_BYTES]; N],
        /// The token of the request holding each buffer and the length it
        /// was lent with, while the device has it; `None`: it is ours.
        lent: [Option<(u16, usize)>; N],
    }

    impl<const N: usize> Buffers<N> {
        fn new(pool: &Pool) -> Option<Buffers<N>> {
            let mut bytes = [const { None }; N];
            for buffer in &mut bytes {
                *buffer = Some(pool.buffer::<BUFFER_BYTES>()?);
            }
            Some(Buffers { bytes: bytes.map(|buffer| buffer.expect("every buffer was made above")), lent: [None; N] })
        }

        /// The buffer the request `token` holds.
        fn holding(&self, token: u16) -> Option<usize> {
            self.lent.iter().position(|lent| lent.is_some_and(|(held, _)| held == token))
        }
    }

    /// The raw driver on the MMIO transport.
    type Driver = VirtIONetRaw<Hal, MmioTransport<'static>, QUEUE_SIZE>;

    /// The network device, with its buffers: what smoltcp's interface
    /// sends and receives through.
    pub struct Nic {
        device: Driver,
        receive: Buffers<RECEIVE_BUFFERS>,
        transmit: Buffers<TRANSMIT_BUFFERS>,
        /// A receive buffer taken back from the device whose frame the
        /// stack is handed (or was): it goes back to the device at the next
        /// `receive`, once the token that lent it to the stack is gone.
        received: Option<usize>,
    }

    impl Nic {
        /// Starts the device (the driver negotiates its features, reads the
        /// MAC and sets up the two queues in `pool`) and lends it every
        /// receive buffer.
        pub fn new(transport: MmioTransport<'static>, pool: Pool) -> Result<Nic, virtio_drivers::Error> {
            let device = VirtIONetRaw::new(transport)?;
            let (Some(receive), Some(transmit)) = (Buffers::new(&pool), Buffers::new(&pool)) else {
                return Err(virtio_drivers::Error::DmaError);
            };
            let mut nic = Nic { device, receive, transmit, received: None };
            for index in 0..RECEIVE_BUFFERS {
                nic.lend_receive_buffer(index)?;
            }
            Ok(nic)
        }

        pub fn mac_address(&self) -> [u8; 6] {
            self.device.mac_address()
        }

        /// Lends receive buffer `index` (ours) to the device.
        fn lend_receive_buffer(&mut self, index: usize) -> Result<(), virtio_drivers::Error> {
            // SAFETY: the buffer lives as long as the process, and nothing
            // reads or writes it until the request is popped with the same
            // buffer: `lent` holds the token, and `receive` pops it before
            // it looks at the bytes.
            let token = unsafe { self.device.receive_begin(&mut self.receive.bytes[index][..])? };
            self.receive.lent[index] = Some((token, BUFFER_BYTES));
            Ok(())
        }

        /// Takes back the transmit buffers whose frames the device has sent.
        fn reclaim_transmitted(&mut self) {
            while let Some(token) = self.device.poll_transmit() {
                let Some(index) = self.transmit.holding(token) else { return };
                let Some((_, length)) = self.transmit.lent[index] else { return };
                // SAFETY: the buffer and length given with `token` in
                // `TransmitToken::consume`.
                if unsafe { self.device.transmit_complete(token, &self.transmit.bytes[index][..length]) }.is_err() {
                    return;
                }
                self.transmit.lent[index] = None;
            }
        }
    }

    /// A frame the device received, for the stack.
    pub struct ReceiveToken<'a> {
        frame: &'a [u8],
    }

    impl phy::RxToken for ReceiveToken<'_> {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            f(self.frame)
        }
    }

    /// A free transmit buffer, for the stack to write a frame into.
    pub struct TransmitToken<'a> {
        device: &'a mut Driver,
        buffer: &'a mut [u8; BUFFER_BYTES],
        lent: &'a mut Option<(u16, usize)>,
    }

    impl<'a> TransmitToken<'a> {
        /// A token on the first free buffer of `transmit`, if there is one.
        fn on_free_buffer(device: &'a mut Driver, transmit: &'a mut Buffers<TRANSMIT_BUFFERS>) -> Option<Self> {
            let index = transmit.lent.iter().position(Option::is_none)?;
            Some(TransmitToken { device, buffer: transmit.bytes[index], lent: &mut transmit.lent[index] })
        }
    }

    impl phy::TxToken for TransmitToken<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            // The header is 10 or 12 bytes; `len` is at most the MTU the
            // capabilities state, so the frame fits (`min` only guards).
            let header = self.device.fill_buffer_header(&mut self.buffer[..]).unwrap_or(0);
            let end = (header + len).min(BUFFER_BYTES);
            let result = f(&mut self.buffer[header..end]);
            // SAFETY: the buffer lives as long as the process, and nothing
            // reads or writes it until the request is popped with the same
            // buffer and length: `lent` holds them, the buffer is handed
            // out again only once `reclaim_transmitted` has popped it.
            // A frame the queue has no room for is dropped, as a full NIC
            // would; the stack's protocols resend.
            if let Ok(token) = unsafe { self.device.transmit_begin(&self.buffer[..end]) } {
                *self.lent = Some((token, end));
            }
            result
        }
    }

    impl phy::Device for Nic {
        type RxToken<'a> = ReceiveToken<'a>;
        type TxToken<'a> = TransmitToken<'a>;

        fn receive(&mut self, _timestamp: Instant) -> Option<(ReceiveToken<'_>, TransmitToken<'_>)> {
            // The frame handed out last time has been dealt with: its
            // buffer goes back to the device. (If lending fails, the queue
            // is broken and the buffer stays ours.)
            if let Some(index) = self.received.take() {
                let _ = self.lend_receive_buffer(index);
            }
            // A reply may be needed: only take a frame if it can be sent.
            self.reclaim_transmitted();
            if self.transmit.lent.iter().all(Option::is_some) {
                return None;
            }
            let token = self.device.poll_receive()?;
            let index = self.receive.holding(token)?;
            // SAFETY: the buffer given with `token` in `lend_receive_buffer`.
            let received = unsafe { self.device.receive_complete(token, &mut self.receive.bytes[index][..]) };
            let (header, length) = match received {
                Ok(sizes) => sizes,
                // Taken back, but shorter than its header: dropped.
                Err(virtio_drivers::Error::IoError) => (0, 0),
                // Not taken back (the token was just seen at the head of
                // the used ring, so this does not happen): still lent.
                Err(_) => return None,
            };
            self.receive.lent[index] = None;
            self.received = Some(index);
            let frame = self.receive.bytes[index].get(header..header + length)?;
            let transmit = TransmitToken::on_free_buffer(&mut self.device, &mut self.transmit)?;
            Some((ReceiveToken { frame }, transmit))
        }

        fn transmit(&mut self, _timestamp: Instant) -> Option<TransmitToken<'_>> {
            self.reclaim_transmitted();
            TransmitToken::on_free_buffer(&mut self.device, &mut self.transmit)
        }

        fn capabilities(&self) -> DeviceCapabilities {
            let mut capabilities = DeviceCapabilities::default();
            capabilities.medium = Medium::Ethernet;
            capabilities.max_transmission_unit = ETHERNET_FRAME_BYTES;
            capabilities.max_burst_size = Some(RECEIVE_BUFFERS);
            capabilities
        }
    }
}
