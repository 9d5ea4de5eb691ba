//! The network: TCP connections to the hosts the manifest allows.
//!
//! An app whose manifest asks for the network (`AllowedConnections`, or
//! server ports) gets the network server: an endpoint badged with its
//! client number and a 16 KiB transfer window that bytes move through
//! (`tessera_abi::app::net` is the protocol, docs/network.md the design).
//! [`App::net`](crate::App::net) is `Err(NotGranted("AllowedConnections"))`
//! without it. The server lets the app connect only to an IPv4 address its
//! `AllowedConnections` lists as a literal (`"10.0.2.2"`), or one the
//! server itself found for a host name listed there (`"example.test"`,
//! through [`Net::lookup`] or by connecting to the name). Anything else
//! is [`Error::Denied`] (a lookup of an unlisted name too: no query goes
//! out), and the server logs it as a security event.
//!
//! ```ignore
//! use tessera_sdk::net::TcpStream;
//!
//! let net = app.net()?;
//! let mut stream = TcpStream::connect(&net, "example.test", 8080)?;
//! stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
//! let mut answer = [0u8; 256];
//! let n = stream.read(&mut answer)?; // 0: the peer finished sending
//! match TcpStream::connect(&net, [10, 0, 2, 3], 80) {
//!     Err(Error::Denied) => log!("10.0.2.3 is not in my manifest"),
//!     other => drop(other?),
//! }
//! ```
//!
//! A [`TcpStream`] also implements `embedded_io::{Read, Write}`, so
//! `no_std` protocol crates written against those traits work on it.
//!
//! The server never blocks an app: [`TcpStream::connect`],
//! [`read`](TcpStream::read) and [`write`](TcpStream::write) ask it again
//! when it signals that something changed, or after 5 ms without a signal
//! (an app without the readiness notification sleeps 0.1 ms at first,
//! doubling up to 5 ms), until they can go on or their timeout passes ([`Error::TimedOut`]; a timeout counts from
//! the server's first answer that the call must wait, so a call that need
//! not wait never reads the clock). Connecting waits [`CONNECT_TIMEOUT`]
//! unless told otherwise; reads and writes wait as long as it takes unless
//! a timeout is set. An app has at most 4 sockets open at once
//! ([`Error::BudgetExceeded`]); dropping a stream closes it.

pub use core::net::{Ipv4Addr, SocketAddrV4};

use core::sync::atomic::{fence, AtomicU32, Ordering};
use tessera_abi::app::net::{
    address_bytes, address_word, state, CLOSE, DELEGATE, DELIVERED, DELIVERS, DELIVERY_AT, DELIVERY_RECORD_AT,
    DELIVERY_TAKEN, LOOKUP, MAX_DATAGRAM_BYTES, MAX_NAME_BYTES, READY, RECEIVE, RECEIVED, RECEIVE_FROM, SEND, SEND_TO,
    SHUTDOWN, STATUS, STATUS_DELIVERED, TCP_ACCEPT, TCP_CONNECT, TCP_LISTEN, UDP_BIND, WAIT_NOTED, WINDOW_BYTES,
};
use tessera_abi::Handle;
use tessera_rt::{call, wait_notification, Mapping, Message, Timeout};

use crate::error::Error;
use crate::time::{self, micros, Duration};

/// How long [`TcpStream::connect`] waits for the connection to be made
/// (the network may still be getting its address, too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`UdpSocket::send_to`] waits for room in the socket's buffer
/// unless told otherwise.
pub const UDP_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`Net::lookup`] waits for the server's DNS servers (it asks
/// each of them twice, a second apart).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a waiting call first waits before it asks the server again;
/// each further wait is twice as long, up to [`POLL`].
const POLL_FIRST: Duration = Duration::from_micros(100);
/// The longest a waiting call waits before it asks the server again.
const POLL: Duration = Duration::from_millis(5);
/// [`POLL`] in microseconds.
const POLL_MICROS: u64 = POLL.as_micros() as u64;
/// How many waits a `recv_from` makes for a datagram the server offered
/// to deliver before it asks the server again (each looks at the window).
const OFFER_STEPS: usize = 8;

/// The waits of a call that asks the server again until it can go on.
/// With the app's readiness notification (every app `init` registers
/// with the network server has one), it waits for the server's signal
/// that something may have changed and asks again then, or after
/// [`POLL`] without it, since the signal is only a hint (one wait: a
/// wake-up that would not ask would be work for nothing). Without one it
/// sleeps and asks, short at first
/// (a full send buffer often has room again within a round trip), longer
/// while nothing changes.
struct Backoff {
    next: Duration,
    ready: Option<Handle>,
}

impl Backoff {
    fn new(net: &Net) -> Backoff {
        Backoff { next: POLL_FIRST, ready: net.ready }
    }

    /// Waits until it is worth asking again, at most until `deadline`
    /// (the call's own, if it has one); `TimedOut` at once if that has
    /// passed.
    fn wait(&mut self, deadline: &mut Deadline) -> Result<(), Error> {
        self.step(deadline).map(|_| ())
    }

    /// As [`Backoff::wait`], and says whether the server's signal ended
    /// it (never without the notification).
    fn step(&mut self, deadline: &mut Deadline) -> Result<bool, Error> {
        // The most this wait takes: `POLL`, or what is left of the call's
        // time.
        let budget = deadline.budget(POLL_MICROS)?;
        let Some(ready) = self.ready else {
            let sleep = self.next.min(Duration::from_micros(budget));
            time::sleep(sleep);
            deadline.waited(micros(sleep));
            self.next = (self.next * 2).min(POLL);
            return Ok(false);
        };
        // One wait: a wait that ended without the signal would not ask
        // again before `POLL` anyway, and each end is a wake-up for nothing.
        // At most `POLL`: it fits the 32 bits of a timeout.
        match wait_notification(ready, READY, Timeout::Micros(budget.max(1) as u32)) {
            Ok(_) => return Ok(true),
            Err(tessera_abi::Error::TimedOut) => deadline.waited(budget),
            // Not a notification it may wait on (deleted, or without
            // `WAIT`): sleep and ask from now on.
            Err(_) => {
                self.ready = None;
                let sleep = self.next.min(Duration::from_micros(budget));
                time::sleep(sleep);
                deadline.waited(micros(sleep));
            }
        }
        Ok(false)
    }

    /// Takes the server's signal if it came while the app was not waiting
    /// (a wait that may not block), so that the next wait does not end at
    /// once for a signal already answered.
    fn take_signal(&self) {
        if let Some(ready) = self.ready {
            let _ = wait_notification(ready, READY, Timeout::NoWait);
        }
    }
}

/// A call's deadline, if it has a timeout. The timeout counts from the
/// call's first wait (from the server's first answer that there is
/// nothing yet, one request after the call began), and the clock is read
/// only when a second wait is due: most calls never wait, and most that
/// do are answered after one, when the server's signal ends it.
struct Deadline {
    timeout: Option<Duration>,
    clock: Clock,
}

/// Where a [`Deadline`] stands.
#[derive(Clone, Copy)]
enum Clock {
    /// No wait made yet.
    Unstarted,
    /// One wait made, the clock not read: it lasted at least this many
    /// microseconds (all of its budget if it ran out, a sleep's length,
    /// else 0).
    FirstWait(u64),
    /// The call's time ends at this uptime (microseconds).
    Ends(u64),
}

impl Deadline {
    fn after(timeout: impl Into<Option<Duration>>) -> Deadline {
        Deadline { timeout: timeout.into(), clock: Clock::Unstarted }
    }

    /// How long the next wait may take: at most `most`, and no longer
    /// than what is left of the call's time; `TimedOut` once that has
    /// passed (at once for a zero timeout).
    ///
    /// In whole microseconds, worked out without a division: a `Duration`
    /// made from microseconds divides by 10^6, and turned back by 1,000,
    /// about 100 instructions at every wait of a call that waits for the
    /// network.
    fn budget(&mut self, most: u64) -> Result<u64, Error> {
        let Some(timeout) = self.timeout else { return Ok(most) };
        let left = match self.clock {
            Clock::Unstarted => {
                self.clock = Clock::FirstWait(0);
                micros(timeout)
            }
            // The call's time began when the first wait did, at least
            // `waited` ago: what is left is at most `timeout - waited` (a
            // deadline never early; late by as much as the time since that
            // wait began outlasts `waited`: the wait's early end or its
            // wake-up's latency, and what the call did before this wait,
            // a request to the server at most).
            Clock::FirstWait(waited) => {
                let left = micros(timeout).saturating_sub(waited);
                self.clock = Clock::Ends(tessera_rt::uptime_micros().saturating_add(left));
                left
            }
            Clock::Ends(ends) => ends.saturating_sub(tessera_rt::uptime_micros()),
        };
        if left == 0 {
            Err(Error::TimedOut)
        } else {
            Ok(most.min(left))
        }
    }

    /// The wait that [`Deadline::budget`] was asked for lasted at least
    /// `micros`.
    fn waited(&mut self, micros: u64) {
        if let Clock::FirstWait(_) = self.clock {
            self.clock = Clock::FirstWait(micros);
        }
    }
}

/// How long one request to the server may take.
const CALL_TIMEOUT: Timeout = Timeout::Millis(1000);

/// A connection's state, as the server sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Being made.
    Connecting,
    /// Made: bytes go both ways.
    Established,
    /// The peer finished sending; what it sent can still be read.
    Closed,
    /// The peer reset it after it was made.
    Reset,
    /// It was never made: refused, or given up.
    Refused,
}

impl State {
    fn from_code(code: u32) -> Result<State, Error> {
        match code {
            state::CONNECTING => Ok(State::Connecting),
            state::ESTABLISHED => Ok(State::Established),
            state::CLOSED => Ok(State::Closed),
            state::RESET => Ok(State::Reset),
            state::REFUSED => Ok(State::Refused),
            _ => Err(Error::InvalidArgument),
        }
    }

    /// The error of a connection that can carry no more bytes, if it is one.
    fn error(self) -> Option<Error> {
        match self {
            State::Reset => Some(Error::Reset),
            State::Refused => Some(Error::ConnectionRefused),
            State::Connecting | State::Established | State::Closed => None,
        }
    }
}

/// The app's connection to the network server.
#[derive(Clone, Copy, Debug)]
pub struct Net {
    endpoint: Handle,
    window: Mapping,
    /// The readiness notification the server signals
    /// ([`tessera_abi::app::net::READY`]), if the app has one.
    ready: Option<Handle>,
}

/// The socket whose `send_to` the server last answered with
/// [`WAIT_NOTED`], if the app has made no request since: the server will
/// signal the readiness notification when a datagram comes for it. Every
/// request through `Net::call` clears it (the server notes one wait per
/// app, for its latest request that found nothing). The endpoint the
/// socket is reached through (the app's, or a socket capability), and its
/// number with [`OFFERED`] if the answer had [`DELIVERS`] too: two words,
/// as the M4 has no 64-bit atomics (an app has one thread).
static NOTED: [AtomicU32; 2] = [AtomicU32::new(NOTHING), AtomicU32::new(NOTHING)];
/// [`NOTED`]'s bit: the server offered to deliver the socket's next
/// datagram into the window.
const OFFERED: u32 = 1 << 31;
/// [`NOTED`]'s (and [`TAKEN`]'s) endpoint when there is none (no handle is
/// all ones).
const NOTHING: u32 = u32::MAX;
/// The endpoint whose server may write the window's delivery area at any
/// moment: an answer from it offered a delivery ([`DELIVERS`]), and the
/// app has made no request since nor found the delivery made. Bytes a
/// request stages in the window stay below [`DELIVERY_AT`] meanwhile.
static OFFERED_BY: AtomicU32 = AtomicU32::new(NOTHING);

/// Notes that `endpoint`'s answer offered a delivery if `flags` says so.
fn offered(endpoint: Handle, flags: u32) -> bool {
    let offered = flags & DELIVERS != 0;
    if offered {
        OFFERED_BY.store(endpoint.0, Ordering::Relaxed);
    }
    offered
}

/// The most bytes a request to `endpoint` may stage in the window now.
fn staging_room(endpoint: Handle) -> usize {
    if OFFERED_BY.load(Ordering::Relaxed) == endpoint.0 {
        DELIVERY_AT
    } else {
        WINDOW_BYTES
    }
}

/// The endpoint whose server delivered a datagram the app took, if the
/// app has made no request to it since: its next request says so
/// ([`DELIVERY_TAKEN`]), and the datagram leaves the socket then.
static TAKEN: AtomicU32 = AtomicU32::new(NOTHING);

/// [`NOTED`]'s socket word if it names `socket` on `endpoint`.
fn noted(endpoint: Handle, socket: u32) -> Option<u32> {
    let word = NOTED[1].load(Ordering::Relaxed);
    (NOTED[0].load(Ordering::Relaxed) == endpoint.0 && word & !OFFERED == socket).then_some(word)
}

/// Sets [`NOTED`] to `socket` on `endpoint`, with [`OFFERED`] if `offered`.
fn note(endpoint: Handle, socket: u32, offered: bool) {
    NOTED[1].store(if offered { socket | OFFERED } else { socket }, Ordering::Relaxed);
    NOTED[0].store(endpoint.0, Ordering::Relaxed);
}

/// A server error as the SDK names it.
fn error(error: tessera_abi::Error) -> Error {
    match error {
        tessera_abi::Error::OutOfMemory => Error::BudgetExceeded,
        other => Error::from(other),
    }
}

impl Net {
    pub(crate) fn new(endpoint: Handle, window: Mapping, ready: Option<Handle>) -> Net {
        Net { endpoint, window, ready }
    }

    /// One request: the reply's words, or the error the server (or the
    /// kernel) answered.
    fn call(&self, label: u32, words: [u32; 4]) -> Result<[u32; 4], tessera_abi::Error> {
        let reply = call(self.endpoint, &Message::new(self.label(label), words), CALL_TIMEOUT)
            .inspect_err(|_| self.unanswered())?;
        match reply.message.label {
            0 => Ok(reply.message.words),
            code => Err(tessera_abi::Error::from_code(code).unwrap_or(tessera_abi::Error::InvalidArgument)),
        }
    }

    /// After a call the kernel failed (no answer came): the request may
    /// not have reached the server, whose offer then stands, or it may
    /// have made a new one. Staging keeps clear of the delivery area until
    /// the next request.
    fn unanswered(&self) {
        OFFERED_BY.store(self.endpoint.0, Ordering::Relaxed);
    }

    /// The label to send a request with: whatever the request, the server
    /// notes the app's wait anew (and ends an offer to deliver), and hears
    /// of a delivered datagram the app took ([`TAKEN`]).
    fn label(&self, label: u32) -> u32 {
        NOTED[0].store(NOTHING, Ordering::Relaxed);
        if OFFERED_BY.load(Ordering::Relaxed) == self.endpoint.0 {
            OFFERED_BY.store(NOTHING, Ordering::Relaxed);
        }
        if TAKEN.load(Ordering::Relaxed) == self.endpoint.0 {
            TAKEN.store(NOTHING, Ordering::Relaxed);
            label | DELIVERY_TAKEN
        } else {
            label
        }
    }

    /// [`TcpStream::connect`] on this network.
    pub fn connect(&self, host: impl Host, port: u16) -> Result<TcpStream, Error> {
        TcpStream::connect(self, host, port)
    }

    /// The IPv4 address of `host`: an IPv4 literal as it is, a name as the
    /// network server's DNS lookup finds it (the first address it gives;
    /// every address it gives may then be connected to). `Denied` if the
    /// manifest's `AllowedConnections` does not list the name (the server
    /// sends no query), `NotFound` if it has no address, `TimedOut` if no
    /// DNS server answered within [`LOOKUP_TIMEOUT`].
    ///
    /// ```ignore
    /// let address = app.net()?.lookup("example.test")?;
    /// ```
    pub fn lookup(&self, host: &str) -> Result<Ipv4Addr, Error> {
        if let Ok(address) = host.parse::<Ipv4Addr>() {
            return Ok(address);
        }
        let name = host.as_bytes();
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(Error::InvalidArgument);
        }
        let mut deadline = Deadline::after(LOOKUP_TIMEOUT);
        let mut backoff = Backoff::new(self);
        loop {
            // Again each time: a stream of this app shares the window.
            self.window.write_bytes(0, name);
            match self.call(LOOKUP, [name.len() as u32, 0, 0, 0]) {
                Ok([0, ..]) => backoff.wait(&mut deadline)?,
                Ok([_, first, ..]) => return Ok(Ipv4Addr::from(address_bytes(first))),
                Err(tessera_abi::Error::NotFound) => return Err(Error::NotFound),
                Err(other) => return Err(error(other)),
            }
        }
    }
}

/// Where to connect: an IPv4 address (`Ipv4Addr`, `[u8; 4]`), or a
/// `&str` that is an IPv4 literal or a host name ([`Net::lookup`]).
pub trait Host {
    /// The address, looked up on `net` if it is a name.
    fn address(self, net: &Net) -> Result<Ipv4Addr, Error>;
}

impl Host for Ipv4Addr {
    fn address(self, _net: &Net) -> Result<Ipv4Addr, Error> {
        Ok(self)
    }
}

impl Host for [u8; 4] {
    fn address(self, _net: &Net) -> Result<Ipv4Addr, Error> {
        Ok(Ipv4Addr::from(self))
    }
}

impl Host for &str {
    fn address(self, net: &Net) -> Result<Ipv4Addr, Error> {
        net.lookup(self)
    }
}

/// A TCP connection (module docs). Closed when dropped.
#[derive(Debug)]
pub struct TcpStream {
    net: Net,
    socket: u32,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    closed: bool,
}

impl TcpStream {
    /// Connects to `host`:`port` (a host name is looked up first, see
    /// [`Net::lookup`]), waiting up to [`CONNECT_TIMEOUT`] for the
    /// connection. `Denied` if the manifest does not allow the host,
    /// `NotFound` if a name has no address, `ConnectionRefused` if nothing
    /// listens there, `TimedOut` if no answer came in time,
    /// `BudgetExceeded` with 4 sockets open.
    ///
    /// ```ignore
    /// let mut stream = TcpStream::connect(&app.net()?, "example.test", 8080)?;
    /// let mut other = TcpStream::connect(&app.net()?, [10, 0, 2, 2], 8080)?;
    /// ```
    pub fn connect(net: &Net, host: impl Host, port: u16) -> Result<TcpStream, Error> {
        TcpStream::connect_timeout(net, host, port, CONNECT_TIMEOUT)
    }

    /// [`connect`](Self::connect), waiting up to `timeout` for the
    /// connection (a lookup has its own [`LOOKUP_TIMEOUT`]).
    pub fn connect_timeout(net: &Net, host: impl Host, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
        let address = host.address(net)?;
        let mut deadline = Deadline::after(timeout);
        let words = [address_word(address.octets()), u32::from(port), 0, 0];
        let mut backoff = Backoff::new(net);
        let (socket, mut offered) = loop {
            match net.call(TCP_CONNECT, words) {
                Ok(reply) => break (reply[0], offered(net.endpoint, reply[1])),
                // The network has no address yet (DHCP): ask again.
                Err(tessera_abi::Error::NotFound) => backoff.wait(&mut deadline)?,
                Err(other) => return Err(error(other)),
            }
        };
        // Dropped on any error below, which closes the socket.
        let stream = TcpStream { net: *net, socket, read_timeout: None, write_timeout: None, closed: false };
        // The server has sent the SYN at best: wait for its signal (the
        // answer takes a round trip) before the first `STATUS`. If it
        // offered, its signal came with the state, unless still connecting
        // (then asking notes the wait again).
        let mut backoff = Backoff::new(net);
        loop {
            let signalled = backoff.step(&mut deadline)?;
            let told = if core::mem::take(&mut offered) { stream.told_state() } else { None };
            // Told after a wait that ran out: the signal that came with it
            // is taken too (as `recv_from` takes a datagram's).
            if told.is_some() && !signalled {
                backoff.take_signal();
            }
            let state = match told {
                Some(state) if state != State::Connecting => state,
                _ => stream.state()?,
            };
            match state {
                State::Connecting => {}
                State::Established | State::Closed => return Ok(stream),
                failed => return Err(failed.error().unwrap_or(Error::InvalidArgument)),
            }
        }
    }

    /// The state the server wrote into the window's delivery record for
    /// this connection when it signalled (`STATUS_DELIVERED`), if it did.
    fn told_state(&self) -> Option<State> {
        let record = DELIVERY_RECORD_AT as u32;
        if self.net.window.read_u32(record) != STATUS_DELIVERED | self.socket {
            return None;
        }
        // The rest was written before the word just read; the server
        // writes the window no more until a new offer.
        fence(Ordering::Acquire);
        OFFERED_BY.store(NOTHING, Ordering::Relaxed);
        State::from_code(self.net.window.read_u32(record + 4)).ok()
    }

    /// The connection's state now.
    pub fn state(&self) -> Result<State, Error> {
        let words = self.net.call(STATUS, [self.socket, 0, 0, 0]).map_err(error)?;
        State::from_code(words[0])
    }

    /// How long [`read`](Self::read) waits for bytes (`None`: as long as
    /// it takes, the default).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// How long [`write`](Self::write) waits for room (`None`: as long as
    /// it takes, the default).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// Reads what has arrived into `buffer` (at most 16 KiB at a time),
    /// waiting for at least one byte; 0 once the peer has finished sending
    /// (or for an empty `buffer`). `Reset` if the peer reset the
    /// connection, `TimedOut` after the read timeout.
    ///
    /// ```ignore
    /// let mut line = [0u8; 128];
    /// let n = stream.read(&mut line)?;
    /// ```
    pub fn read(&mut self, buffer: &mut [u8]) -> Result<usize, Error> {
        if buffer.is_empty() {
            return Ok(0);
        }
        let mut deadline = Deadline::after(self.read_timeout);
        let wanted = buffer.len().min(WINDOW_BYTES);
        let mut backoff = Backoff::new(&self.net);
        loop {
            let [count, state, ..] = self.net.call(RECEIVE, [self.socket, wanted as u32, 0, 0]).map_err(error)?;
            let count = count as usize;
            if count > wanted {
                return Err(Error::InvalidArgument);
            }
            if count > 0 {
                buffer[..count].copy_from_slice(&self.net.window.as_bytes()[..count]);
                return Ok(count);
            }
            match State::from_code(state)? {
                State::Closed => return Ok(0),
                State::Connecting | State::Established => backoff.wait(&mut deadline)?,
                failed => return Err(failed.error().unwrap_or(Error::InvalidArgument)),
            }
        }
    }

    /// Writes some of `bytes` (at most 16 KiB at a time), waiting until
    /// the connection has room for at least one; returns how many it took.
    /// `Closed` once nothing more can be sent, `Reset` if the peer reset
    /// the connection, `TimedOut` after the write timeout.
    pub fn write(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let mut deadline = Deadline::after(self.write_timeout);
        let mut backoff = Backoff::new(&self.net);
        loop {
            // Again each time: another stream of this app shares the window
            // (and not into a delivery area the server may write now).
            let chunk = &bytes[..bytes.len().min(staging_room(self.net.endpoint))];
            self.net.window.write_bytes(0, chunk);
            match self.net.call(SEND, [self.socket, chunk.len() as u32, 0, 0]) {
                Ok([taken, ..]) if taken > 0 => return Ok((taken as usize).min(chunk.len())),
                Ok(_) => backoff.wait(&mut deadline)?,
                // It can carry no more bytes from us: say why.
                Err(tessera_abi::Error::PeerGone) => return Err(self.state()?.error().unwrap_or(Error::Closed)),
                Err(other) => return Err(error(other)),
            }
        }
    }

    /// Writes all of `bytes` (see [`write`](Self::write)).
    ///
    /// ```ignore
    /// stream.write_all(b"GET / HTTP/1.0\r\nHost: example.test\r\n\r\n")?;
    /// ```
    pub fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        while !bytes.is_empty() {
            let written = self.write(bytes)?;
            bytes = &bytes[written..];
        }
        Ok(())
    }

    /// A capability for this connection alone, to hand to another process
    /// (it needs `GRANT` on the way; the SDK's streams keep theirs). The
    /// holder makes the server's requests on it with a frame of its own
    /// for the bytes (`tessera_abi::app::net::DELEGATE`), with this app's
    /// policy and nothing more: it cannot open connections with it. When
    /// the stream is closed, every such capability is revoked.
    pub fn capability(&self) -> Result<Handle, Error> {
        delegate(&self.net, self.socket)
    }

    /// Shuts the sending side: the server sends what is left, then a FIN,
    /// and the peer reads the end of the stream; this side may go on
    /// reading until the peer finishes too. A `write` after it is
    /// `Closed`.
    ///
    /// ```ignore
    /// stream.write_all(request)?;
    /// stream.shutdown()?; // the peer sees the end of the request
    /// while stream.read(&mut buffer)? > 0 { /* the answer */ }
    /// ```
    pub fn shutdown(&mut self) -> Result<(), Error> {
        self.net.call(SHUTDOWN, [self.socket, 0, 0, 0]).map(|_| ()).map_err(error)
    }

    /// Closes the connection (the server sends what is left, then a FIN).
    /// Dropping the stream does the same and ignores the answer.
    pub fn close(mut self) -> Result<(), Error> {
        self.closed = true;
        self.net.call(CLOSE, [self.socket, 0, 0, 0]).map(|_| ()).map_err(error)
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.net.call(CLOSE, [self.socket, 0, 0, 0]);
        }
    }
}

impl embedded_io::ErrorType for TcpStream {
    type Error = Error;
}

impl embedded_io::Read for TcpStream {
    fn read(&mut self, buffer: &mut [u8]) -> Result<usize, Error> {
        TcpStream::read(self, buffer)
    }
}

impl embedded_io::Write for TcpStream {
    fn write(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        TcpStream::write(self, bytes)
    }

    /// The bytes are with the server once `write` returns; it sends them
    /// on its own.
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// `DELEGATE`: a capability for socket `socket`, from the answer.
fn delegate(net: &Net, socket: u32) -> Result<Handle, Error> {
    let reply = call(net.endpoint, &Message::new(net.label(DELEGATE), [socket, 0, 0, 0]), CALL_TIMEOUT)
        .inspect_err(|_| net.unanswered())?;
    match (reply.message.label, reply.message.caps) {
        (0, 1) => Ok(Handle(reply.message.words[3])),
        (0, _) => Err(Error::InvalidArgument),
        (code, _) => Err(error(tessera_abi::Error::from_code(code).unwrap_or(tessera_abi::Error::InvalidArgument))),
    }
}

/// A peer's address from a reply's words.
fn peer(address: u32, port: u32) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(address_bytes(address)), port as u16)
}

/// A TCP server socket on one of the manifest's `AllowedTcpServerPorts`
/// (reach it from the host with `cargo xtask qemu --forward
/// HOSTPORT:PORT`). Closed when dropped.
///
/// ```ignore
/// let mut listener = TcpListener::bind(&app.net()?, 7)?;
/// let (mut stream, peer) = listener.accept()?;
/// ```
#[derive(Debug)]
pub struct TcpListener {
    net: Net,
    socket: u32,
    accept_timeout: Option<Duration>,
    /// Set once the server closed it (no socket was free to go on
    /// listening after an accept) or the app did.
    closed: bool,
}

impl TcpListener {
    /// Listens on `port`. `Denied` if the manifest's
    /// `AllowedTcpServerPorts` does not list it or another app listens
    /// there, `BudgetExceeded` with 4 sockets open.
    pub fn bind(net: &Net, port: u16) -> Result<TcpListener, Error> {
        let [socket, ..] = net.call(TCP_LISTEN, [u32::from(port), 0, 0, 0]).map_err(error)?;
        Ok(TcpListener { net: *net, socket, accept_timeout: None, closed: false })
    }

    /// How long [`accept`](Self::accept) waits (`None`: as long as it
    /// takes, the default).
    pub fn set_accept_timeout(&mut self, timeout: Option<Duration>) {
        self.accept_timeout = timeout;
    }

    /// Waits for a connection and returns it with the peer's address.
    /// One connection waits at a time (another host's meanwhile is
    /// refused). `BudgetExceeded` if the app has no socket left for the
    /// connection (it waits until one is closed), `Closed` if the listener
    /// was closed (the server had no socket to go on listening with after
    /// the last accept), `TimedOut` after the accept timeout.
    pub fn accept(&mut self) -> Result<(TcpStream, SocketAddrV4), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let mut deadline = Deadline::after(self.accept_timeout);
        let mut backoff = Backoff::new(&self.net);
        loop {
            match self.net.call(TCP_ACCEPT, [self.socket, 0, 0, 0]).map_err(error)? {
                [0, ..] => backoff.wait(&mut deadline)?,
                [outcome, socket, address, port] => {
                    self.closed = outcome != 1;
                    let stream =
                        TcpStream { net: self.net, socket, read_timeout: None, write_timeout: None, closed: false };
                    return Ok((stream, peer(address, port)));
                }
            }
        }
    }

    /// Stops listening.
    pub fn close(mut self) -> Result<(), Error> {
        let closed = core::mem::replace(&mut self.closed, true);
        if closed {
            return Ok(());
        }
        self.net.call(CLOSE, [self.socket, 0, 0, 0]).map(|_| ()).map_err(error)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.net.call(CLOSE, [self.socket, 0, 0, 0]);
        }
    }
}

/// A UDP socket: a client one (`bind(&net, 0)`: any free local port, it
/// sends to and hears from the hosts the manifest allows), or a server
/// one on a port of the manifest's `AllowedUdpServerPorts` (it hears from
/// anyone and may answer the latest senders). Closed when dropped.
///
/// ```ignore
/// let mut socket = UdpSocket::bind(&app.net()?, 0)?;
/// socket.send_to(b"ping", "example.test", 7)?;
/// let mut buffer = [0u8; 64];
/// let (count, from) = socket.recv_from(&mut buffer)?;
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    net: Net,
    socket: u32,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    closed: bool,
}

impl UdpSocket {
    /// Opens a socket on `port` (0: a client socket on any free port).
    /// `Denied` if a nonzero port is not in the manifest's
    /// `AllowedUdpServerPorts` or another app has it, `BudgetExceeded`
    /// with 4 sockets open (or no UDP socket free in the server).
    pub fn bind(net: &Net, port: u16) -> Result<UdpSocket, Error> {
        let [socket, ..] = net.call(UDP_BIND, [u32::from(port), 0, 0, 0]).map_err(error)?;
        let write_timeout = Some(UDP_WRITE_TIMEOUT);
        Ok(UdpSocket { net: *net, socket, read_timeout: None, write_timeout, closed: false })
    }

    /// How long [`recv_from`](Self::recv_from) waits (`None`: as long as
    /// it takes, the default).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// How long [`send_to`](Self::send_to) waits for room (`None`: as long
    /// as it takes; [`UDP_WRITE_TIMEOUT`] unless set: a datagram to a host
    /// on the local network that never answers ARP stays queued).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// Sends `bytes` (at most 1,472) as one datagram to `host`:`port` (a
    /// name is looked up first, each time: for many datagrams look it up
    /// once with [`Net::lookup`] and send to the address). `Denied` if the manifest does not allow
    /// the host (a server socket may also answer whoever sent to it
    /// lately), `InvalidArgument` for a longer datagram, `TimedOut` after
    /// the write timeout while the socket's buffer is full.
    pub fn send_to(&mut self, bytes: &[u8], host: impl Host, port: u16) -> Result<usize, Error> {
        if bytes.len() > MAX_DATAGRAM_BYTES {
            return Err(Error::InvalidArgument);
        }
        let address = address_word(host.address(&self.net)?.octets());
        let mut deadline = Deadline::after(self.write_timeout);
        let mut backoff = Backoff::new(&self.net);
        loop {
            self.net.window.write_bytes(0, bytes);
            match self.net.call(SEND_TO, [self.socket, address, u32::from(port), bytes.len() as u32]) {
                Ok([1, noted, ..]) => {
                    if noted & WAIT_NOTED != 0 {
                        note(self.net.endpoint, self.socket, offered(self.net.endpoint, noted));
                    }
                    return Ok(bytes.len());
                }
                Ok(_) => backoff.wait(&mut deadline)?,
                // No address yet (DHCP): like a full buffer.
                Err(tessera_abi::Error::NotFound) => backoff.wait(&mut deadline)?,
                Err(other) => return Err(error(other)),
            }
        }
    }

    /// Waits for one datagram and copies it into `buffer` (a longer one is
    /// cut to fit and the rest is lost, as with any UDP socket); returns
    /// its length as copied and the sender. A client socket hears only from
    /// hosts the manifest allows. `TimedOut` after the read timeout,
    /// `InvalidArgument` for an empty `buffer` (nothing is taken then).
    pub fn recv_from(&mut self, buffer: &mut [u8]) -> Result<(usize, SocketAddrV4), Error> {
        if buffer.is_empty() {
            return Err(Error::InvalidArgument);
        }
        let wanted = buffer.len().clamp(1, WINDOW_BYTES);
        let mut deadline = Deadline::after(self.read_timeout);
        let mut backoff = Backoff::new(&self.net);
        // The server said, answering this socket's `send_to` (the app's
        // last request), that nothing was waiting and that it will signal
        // when that changes: wait for the signal before asking (a round
        // trip to the peer is the usual wait). If it offered to deliver
        // the datagram, it is in the window once the signal came (which
        // may have come already: then the clock need not be read, nor a
        // wait made).
        // However the wait ends (the signal, 5 ms, or the read timeout,
        // zero included), the server is asked at least once if nothing
        // was delivered.
        if let Some(noted) = noted(self.net.endpoint, self.socket) {
            if noted & OFFERED == 0 {
                let _ = backoff.wait(&mut deadline);
            } else if self.delivery_waiting() {
                // Delivered already: only the signal that came with it is
                // taken.
                backoff.take_signal();
                if let Some(received) = self.delivered(buffer) {
                    return Ok(received);
                }
            } else if let Ok(Some(received)) = self.await_delivery(&mut backoff, &mut deadline, buffer) {
                return Ok(received);
            }
        }
        loop {
            let [count, address, port, flags] =
                self.net.call(RECEIVE_FROM, [self.socket, wanted as u32, 0, 0]).map_err(error)?;
            if flags & RECEIVED != 0 {
                let count = (count as usize).min(buffer.len());
                buffer[..count].copy_from_slice(&self.net.window.as_bytes()[..count]);
                return Ok((count, peer(address, port)));
            }
            if !offered(self.net.endpoint, flags) {
                backoff.wait(&mut deadline)?;
            } else if let Some(received) = self.await_delivery(&mut backoff, &mut deadline, buffer)? {
                return Ok(received);
            }
        }
    }

    /// Waits for the datagram the server offered to deliver into the
    /// window; the offer stands until the app's next request. The window
    /// is looked at after each wait, so a wait that ran out (`POLL`)
    /// needs no request: the server is asked again (`Ok(None)`) only when
    /// its signal came with nothing delivered (a hint for something else)
    /// or after [`OFFER_STEPS`] waits without one (a safeguard: nothing
    /// but the app's next request ends an offer in the server). A
    /// datagram found after a wait that ran out came with a signal the app
    /// did not wait for: it is taken too, or the next wait would end at
    /// once for it (and ask the server for nothing).
    fn await_delivery(
        &self,
        backoff: &mut Backoff,
        deadline: &mut Deadline,
        buffer: &mut [u8],
    ) -> Result<Option<(usize, SocketAddrV4)>, Error> {
        for _ in 0..OFFER_STEPS {
            let step = backoff.step(deadline);
            if let Some(received) = self.delivered(buffer) {
                if !matches!(step, Ok(true)) {
                    backoff.take_signal();
                }
                return Ok(Some(received));
            }
            if step? {
                break;
            }
        }
        Ok(None)
    }

    /// Whether the window's delivery record says a datagram for this
    /// socket is there (see `delivered`).
    fn delivery_waiting(&self) -> bool {
        self.net.window.read_u32(DELIVERY_RECORD_AT as u32) == DELIVERED | self.socket
    }

    /// The datagram the server delivered into the window for this socket
    /// (`tessera_abi::app::net::DELIVERS`), copied into `buffer` (cut to
    /// fit), if one is there; the app's next request tells the server it
    /// was taken.
    fn delivered(&self, buffer: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        let (window, record) = (&self.net.window, DELIVERY_RECORD_AT as u32);
        if !self.delivery_waiting() {
            return None;
        }
        // The rest was written before the word just read.
        fence(Ordering::Acquire);
        let (length, address, port) =
            (window.read_u32(record + 4), window.read_u32(record + 8), window.read_u32(record + 12));
        let count = (length as usize).min(buffer.len()).min(DELIVERY_RECORD_AT - DELIVERY_AT);
        buffer[..count].copy_from_slice(&window.as_bytes()[DELIVERY_AT..DELIVERY_AT + count]);
        // Taken once: the record no longer counts, the next `recv_from`
        // asks (its request tells the server it was taken), and the server
        // writes the window no more until a new offer.
        window.write_u32(record, 0);
        NOTED[0].store(NOTHING, Ordering::Relaxed);
        OFFERED_BY.store(NOTHING, Ordering::Relaxed);
        TAKEN.store(self.net.endpoint.0, Ordering::Relaxed);
        Some((count, peer(address, port)))
    }

    /// A capability for this socket alone, to hand to another process (as
    /// [`TcpStream::capability`]).
    pub fn capability(&self) -> Result<Handle, Error> {
        delegate(&self.net, self.socket)
    }

    /// Closes the socket.
    pub fn close(mut self) -> Result<(), Error> {
        self.closed = true;
        self.net.call(CLOSE, [self.socket, 0, 0, 0]).map(|_| ()).map_err(error)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.net.call(CLOSE, [self.socket, 0, 0, 0]);
        }
    }
}
