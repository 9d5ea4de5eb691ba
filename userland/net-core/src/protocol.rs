//! The network server's request decoder: what `netd` checks before it acts
//! on a request (decode, then invoke), fuzzed by
//! [`fuzzing::request_decoding`](crate::fuzzing::request_decoding).
//!
//! # Callers
//!
//! `init` mints one badge per app on `netd`'s endpoint, and the kernel
//! delivers it with every call (nobody can forge it):
//!
//! | badge | caller |
//! |---|---|
//! | 0 | [`Caller::Init`] |
//! | 1..=[`MAX_CLIENTS`] (16) | [`Caller::App`]`(n)`: the app `init` registered as client `n` |
//! | anything else | refused: `PermissionDenied` |
//!
//! # Requests
//!
//! The labels and limits are `tessera_abi::app::net`'s. Bytes move
//! through the app's transfer window ([`WINDOW_BYTES`]), so no app request
//! carries a capability; `REGISTER_APP` carries the app's readiness
//! notification and its window.
//!
//! | label | request | words | capabilities | who |
//! |---|---|---|---|---|
//! | 1 `TCP_CONNECT` | [`Request::TcpConnect`] | word 0 = IPv4 address (not 0.0.0.0, 255.255.255.255 or multicast), word 1 = port, 1..=65535 | 0 | apps |
//! | 2 `STATUS` | [`Request::Status`] | word 0 = socket, 0..[`MAX_SOCKETS`] | 0 | apps |
//! | 3 `SEND` | [`Request::Send`] | word 0 = socket, word 1 = length, 1..=[`WINDOW_BYTES`] | 0 | apps |
//! | 4 `RECEIVE` | [`Request::Receive`] | word 0 = socket, word 1 = most bytes, 1..=[`WINDOW_BYTES`] | 0 | apps |
//! | 5 `CLOSE` | [`Request::Close`] | word 0 = socket | 0 | apps |
//! | 6 `LOOKUP` | [`Request::Lookup`] | word 0 = name length, 1..=[`MAX_NAME_BYTES`] | 0 | apps |
//! | 7 `TCP_LISTEN` | [`Request::TcpListen`] | word 0 = port, 1..=65535 | 0 | apps |
//! | 8 `TCP_ACCEPT` | [`Request::TcpAccept`] | word 0 = listening socket | 0 | apps |
//! | 9 `UDP_BIND` | [`Request::UdpBind`] | word 0 = port, 0..=65535 (0: any) | 0 | apps |
//! | 10 `SEND_TO` | [`Request::SendTo`] | word 0 = socket, word 1 = IPv4 address (as `TCP_CONNECT`), word 2 = port, 1..=65535, word 3 = length, 0..=[`MAX_DATAGRAM_BYTES`] | 0 | apps |
//! | 11 `RECEIVE_FROM` | [`Request::ReceiveFrom`] | word 0 = socket, word 1 = most bytes, 1..=[`WINDOW_BYTES`] | 0 | apps |
//! | 12 `SHUTDOWN` | [`Request::Shutdown`] | word 0 = socket | 0 | apps |
//! | 13 `DELEGATE` | [`Request::Delegate`] | word 0 = socket | 0 | apps |
//! | 16 `REGISTER_APP` | [`Request::RegisterApp`] | word 0 = client, 1..=16 | 2 (the readiness notification, the window) | `init` |
//! | 17 `UNREGISTER_APP` | [`Request::UnregisterApp`] | word 0 = client, 1..=16 | 0 | `init` |
//! | 18 `SET_RESOLVER` | [`Request::SetResolver`] | word 0 = IPv4 address (as `TCP_CONNECT`), word 1 = port, 1..=65535 | 0 | `init` |
//!
//! Words a request does not use are ignored (the kernel puts received
//! capabilities' handles in the last words).
//!
//! A holder of a socket capability (badge [`SOCKET_BADGE`] with the slot
//! and generation, [`Caller::Socket`]) may make `STATUS`, `SEND`,
//! `RECEIVE`, `SHUTDOWN`, `CLOSE`, `SEND_TO` and `RECEIVE_FROM` (the
//! decoded socket is 0: the badge names it); the four that move bytes
//! carry one capability, the holder's frame, whose handle the kernel puts
//! in word 3, so a holder's `SEND_TO` gives its length in word 0.
//!
//! # Errors
//!
//! [`decode`] checks, in this order, and answers the first failure:
//!
//! 1. the badge names a caller, else `PermissionDenied`;
//! 2. the label is known, else `InvalidArgument`;
//! 3. the caller may make the request, else `PermissionDenied` (`init`
//!    has no sockets of its own; an app cannot register apps);
//! 4. the number of capabilities, else `InvalidArgument`;
//! 5. the words (address, port, socket, length, client), else
//!    `InvalidArgument`.
//!
//! What [`decode`] cannot see, `netd` checks after it, still before it
//! changes anything: that the app was registered (else
//! `PermissionDenied`), that its manifest lists the address (else
//! `PermissionDenied`, a log line and a [denial](crate::denials)), that
//! the socket number is one it has open (else `InvalidArgument`), that it
//! has room for another socket (else `OutOfMemory`), and the window's
//! type, rights and size (else `WrongType` or `InvalidArgument`). Acting,
//! it answers `NotFound` to a connect before the network has an address
//! (no DHCP lease yet) and `PeerGone` to a `SEND` on a connection that can
//! carry no more bytes.

use tessera_abi::app::net::{
    address_bytes, CLOSE, DELEGATE, DELIVERY_TAKEN, LOOKUP, MAX_CLIENTS, MAX_DATAGRAM_BYTES, MAX_NAME_BYTES,
    MAX_SOCKETS, RECEIVE, RECEIVE_FROM, REGISTER_APP, SEND, SEND_TO, SET_RESOLVER, SHUTDOWN, SOCKET_BADGE, STATUS,
    TCP_ACCEPT, TCP_CONNECT, TCP_LISTEN, UDP_BIND, UNREGISTER_APP, WINDOW_BYTES,
};
use tessera_abi::Error;

/// `init`'s badge.
pub const INIT_BADGE: u32 = 0;

/// Who sent a request, from its badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// `init` (badge 0).
    Init,
    /// The app registered as this client number (1..=[`MAX_CLIENTS`]).
    App(u32),
    /// Whoever holds a socket capability (`DELEGATE`): it names one slot
    /// of the server's pool and the generation the slot had when the
    /// capability was made.
    Socket {
        /// The pool slot (bits 0 to 7 of the badge).
        slot: u32,
        /// The slot's generation (bits 8 to 15).
        generation: u32,
    },
}

impl Caller {
    /// The caller with `badge`; `PermissionDenied` for a badge that names
    /// none.
    pub fn from_badge(badge: u32) -> Result<Caller, Error> {
        match badge {
            INIT_BADGE => Ok(Caller::Init),
            client if (1..=MAX_CLIENTS).contains(&client) => Ok(Caller::App(client)),
            socket if socket & !0xffff == SOCKET_BADGE => {
                Ok(Caller::Socket { slot: socket & 0xff, generation: (socket >> 8) & 0xff })
            }
            _ => Err(Error::PermissionDenied),
        }
    }
}

/// A checked request (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Connect to `address`:`port` over TCP.
    TcpConnect {
        /// A unicast IPv4 address (not 0.0.0.0, broadcast or multicast).
        address: [u8; 4],
        /// 1..=65535.
        port: u16,
    },
    /// A socket's state.
    Status {
        /// 0..[`MAX_SOCKETS`], the app's own numbering.
        socket: u32,
    },
    /// Send the window's first `len` bytes.
    Send {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
        /// 1..=[`WINDOW_BYTES`].
        len: usize,
    },
    /// Receive up to `len` bytes into the window.
    Receive {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
        /// 1..=[`WINDOW_BYTES`].
        len: usize,
    },
    /// Close a socket.
    Close {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
    },
    /// Resolve the name in the window's first `len` bytes.
    Lookup {
        /// 1..=[`MAX_NAME_BYTES`].
        len: usize,
    },
    /// Listen for TCP connections on `port`.
    TcpListen {
        /// 1..=65535.
        port: u16,
    },
    /// Take a connection listening socket `socket` has.
    TcpAccept {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
    },
    /// Open a UDP socket on `port` (0: any free port).
    UdpBind {
        /// 0..=65535.
        port: u16,
    },
    /// Send the window's first `len` bytes as one datagram.
    SendTo {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
        /// A unicast IPv4 address.
        address: [u8; 4],
        /// 1..=65535.
        port: u16,
        /// 0..=[`MAX_DATAGRAM_BYTES`].
        len: usize,
    },
    /// Receive one datagram, at most `len` bytes of it, into the window.
    ReceiveFrom {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
        /// 1..=[`WINDOW_BYTES`].
        len: usize,
    },
    /// Make a capability for a socket.
    Delegate {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
    },
    /// Shut a stream's sending side.
    Shutdown {
        /// 0..[`MAX_SOCKETS`].
        socket: u32,
    },
    /// Register an app (its window comes with the request).
    RegisterApp {
        /// 1..=[`MAX_CLIENTS`].
        client: u32,
    },
    /// Forget an app that ended.
    UnregisterApp {
        /// 1..=[`MAX_CLIENTS`].
        client: u32,
    },
    /// Ask this DNS server first.
    SetResolver {
        /// A unicast IPv4 address.
        address: [u8; 4],
        /// 1..=65535.
        port: u16,
    },
}

/// A request's label without [`DELIVERY_TAKEN`], and whether it had it
/// (an app took the datagram delivered to it: `crate::delivery`). The
/// flag may ride on any request; [`decode`] is given the label without it.
pub const fn split_label(label: u32) -> (u32, bool) {
    (label & !DELIVERY_TAKEN, label & DELIVERY_TAKEN != 0)
}

/// Whether a TCP connection can go to `address`: not the unspecified
/// address, not the limited broadcast, not multicast (224.0.0.0/4).
pub fn is_connectable(address: [u8; 4]) -> bool {
    address != [0; 4] && address != [255; 4] && !(224..=239).contains(&address[0])
}

/// Who may make a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// Apps only.
    Apps,
    /// Apps, and holders of a socket capability (on that socket).
    AppsAndSockets,
    Init,
}

/// Checks a request: its `label`, `words`, number of capabilities `caps`
/// and `badge` (module docs). Changes nothing; never panics.
pub fn decode(label: u32, words: [u32; 4], caps: u32, badge: u32) -> Result<(Caller, Request), Error> {
    let caller = Caller::from_badge(badge)?;
    let holder = matches!(caller, Caller::Socket { .. });
    let (allowed, wanted_caps) = match label {
        TCP_CONNECT | LOOKUP | TCP_LISTEN | TCP_ACCEPT | UDP_BIND | DELEGATE => (Allowed::Apps, 0),
        STATUS | CLOSE | SHUTDOWN => (Allowed::AppsAndSockets, 0),
        // A holder brings the frame the bytes move through.
        SEND | RECEIVE | SEND_TO | RECEIVE_FROM => (Allowed::AppsAndSockets, u32::from(holder)),
        REGISTER_APP => (Allowed::Init, 2),
        UNREGISTER_APP | SET_RESOLVER => (Allowed::Init, 0),
        _ => return Err(Error::InvalidArgument),
    };
    let permitted = match allowed {
        Allowed::Apps => matches!(caller, Caller::App(_)),
        Allowed::AppsAndSockets => matches!(caller, Caller::App(_) | Caller::Socket { .. }),
        Allowed::Init => caller == Caller::Init,
    };
    if !permitted {
        return Err(Error::PermissionDenied);
    }
    if caps != wanted_caps {
        return Err(Error::InvalidArgument);
    }
    // A holder's badge names the socket: word 0 is not read (0 stands in).
    let socket = || match words[0] {
        _ if holder => Ok(0),
        number if number < MAX_SOCKETS => Ok(number),
        _ => Err(Error::InvalidArgument),
    };
    let len = || match usize::try_from(words[1]) {
        Ok(len) if (1..=WINDOW_BYTES).contains(&len) => Ok(len),
        _ => Err(Error::InvalidArgument),
    };
    let client = || if (1..=MAX_CLIENTS).contains(&words[0]) { Ok(words[0]) } else { Err(Error::InvalidArgument) };
    let endpoint = || {
        let address = address_bytes(words[0]);
        match u16::try_from(words[1]) {
            Ok(port) if port != 0 && is_connectable(address) => Ok((address, port)),
            _ => Err(Error::InvalidArgument),
        }
    };
    let request = match label {
        TCP_CONNECT => {
            let (address, port) = endpoint()?;
            Request::TcpConnect { address, port }
        }
        LOOKUP => match usize::try_from(words[0]) {
            Ok(len) if (1..=MAX_NAME_BYTES).contains(&len) => Request::Lookup { len },
            _ => return Err(Error::InvalidArgument),
        },
        SET_RESOLVER => {
            let (address, port) = endpoint()?;
            Request::SetResolver { address, port }
        }
        TCP_LISTEN => match u16::try_from(words[0]) {
            Ok(port) if port != 0 => Request::TcpListen { port },
            _ => return Err(Error::InvalidArgument),
        },
        TCP_ACCEPT => Request::TcpAccept { socket: socket()? },
        UDP_BIND => Request::UdpBind { port: u16::try_from(words[0]).map_err(|_| Error::InvalidArgument)? },
        SEND_TO => {
            let socket = socket()?;
            let address = address_bytes(words[1]);
            let port = u16::try_from(words[2]).ok().filter(|&port| port != 0);
            // A holder's word 3 is its frame's handle: its length is in word 0.
            let length = if holder { words[0] } else { words[3] };
            let len = usize::try_from(length).ok().filter(|&len| len <= MAX_DATAGRAM_BYTES);
            match (port, len) {
                (Some(port), Some(len)) if is_connectable(address) => Request::SendTo { socket, address, port, len },
                _ => return Err(Error::InvalidArgument),
            }
        }
        RECEIVE_FROM => Request::ReceiveFrom { socket: socket()?, len: len()? },
        SHUTDOWN => Request::Shutdown { socket: socket()? },
        DELEGATE => Request::Delegate { socket: socket()? },
        STATUS => Request::Status { socket: socket()? },
        SEND => Request::Send { socket: socket()?, len: len()? },
        RECEIVE => Request::Receive { socket: socket()?, len: len()? },
        CLOSE => Request::Close { socket: socket()? },
        REGISTER_APP => Request::RegisterApp { client: client()? },
        _ => Request::UnregisterApp { client: client()? },
    };
    Ok((caller, request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_abi::app::net::address_word;

    const APP: u32 = 3;
    const HOST: u32 = address_word([10, 0, 2, 2]);

    #[test]
    fn the_taken_flag_rides_on_any_request_and_leaves_the_label_whole() {
        for label in [SEND_TO, RECEIVE_FROM, STATUS, CLOSE, 0, 0xFFFF & !DELIVERY_TAKEN] {
            assert_eq!(split_label(label), (label, false));
            assert_eq!(split_label(label | DELIVERY_TAKEN), (label, true));
        }
        // Without the split, the flag makes a label no request has.
        assert_eq!(decode(SEND_TO | DELIVERY_TAKEN, [0, HOST, 7, 1], 0, APP), Err(Error::InvalidArgument));
        let (label, taken) = split_label(STATUS | DELIVERY_TAKEN);
        assert!(taken);
        assert_eq!(decode(label, [0; 4], 0, APP), Ok((Caller::App(APP), Request::Status { socket: 0 })));
    }

    #[test]
    fn badges_name_callers() {
        assert_eq!(Caller::from_badge(0), Ok(Caller::Init));
        assert_eq!(Caller::from_badge(1), Ok(Caller::App(1)));
        assert_eq!(Caller::from_badge(MAX_CLIENTS), Ok(Caller::App(MAX_CLIENTS)));
        assert_eq!(Caller::from_badge(MAX_CLIENTS + 1), Err(Error::PermissionDenied));
        assert_eq!(Caller::from_badge(u32::MAX), Err(Error::PermissionDenied));
        assert_eq!(decode(STATUS, [0; 4], 0, MAX_CLIENTS + 1), Err(Error::PermissionDenied));
    }

    #[test]
    fn good_requests_decode() {
        let cases = [
            (TCP_CONNECT, [HOST, 8080, 0, 0], 0, APP, Request::TcpConnect { address: [10, 0, 2, 2], port: 8080 }),
            (TCP_CONNECT, [HOST, 1, 0, 0], 0, APP, Request::TcpConnect { address: [10, 0, 2, 2], port: 1 }),
            (TCP_CONNECT, [HOST, 65535, 0, 0], 0, 16, Request::TcpConnect { address: [10, 0, 2, 2], port: 65535 }),
            (STATUS, [3, 0, 0, 0], 0, APP, Request::Status { socket: 3 }),
            (SEND, [0, 1, 0, 0], 0, APP, Request::Send { socket: 0, len: 1 }),
            (SEND, [1, 16384, 0, 0], 0, APP, Request::Send { socket: 1, len: WINDOW_BYTES }),
            (RECEIVE, [2, 512, 0, 0], 0, APP, Request::Receive { socket: 2, len: 512 }),
            (CLOSE, [3, 0, 0, 0], 0, APP, Request::Close { socket: 3 }),
            (REGISTER_APP, [16, 0, 8, 9], 2, 0, Request::RegisterApp { client: 16 }),
            (UNREGISTER_APP, [1, 0, 0, 0], 0, 0, Request::UnregisterApp { client: 1 }),
            (LOOKUP, [1, 0, 0, 0], 0, APP, Request::Lookup { len: 1 }),
            (LOOKUP, [253, 0, 0, 0], 0, APP, Request::Lookup { len: MAX_NAME_BYTES }),
            (SET_RESOLVER, [HOST, 53, 0, 0], 0, 0, Request::SetResolver { address: [10, 0, 2, 2], port: 53 }),
            (TCP_LISTEN, [80, 0, 0, 0], 0, APP, Request::TcpListen { port: 80 }),
            (TCP_ACCEPT, [3, 0, 0, 0], 0, APP, Request::TcpAccept { socket: 3 }),
            (UDP_BIND, [0, 0, 0, 0], 0, APP, Request::UdpBind { port: 0 }),
            (UDP_BIND, [65535, 0, 0, 0], 0, APP, Request::UdpBind { port: 65535 }),
            (SEND_TO, [1, HOST, 7, 0], 0, APP, Request::SendTo { socket: 1, address: [10, 0, 2, 2], port: 7, len: 0 }),
            (
                SEND_TO,
                [0, HOST, 65535, 1472],
                0,
                APP,
                Request::SendTo { socket: 0, address: [10, 0, 2, 2], port: 65535, len: MAX_DATAGRAM_BYTES },
            ),
            (RECEIVE_FROM, [2, 16384, 0, 0], 0, APP, Request::ReceiveFrom { socket: 2, len: WINDOW_BYTES }),
            (SHUTDOWN, [1, 0, 0, 0], 0, APP, Request::Shutdown { socket: 1 }),
        ];
        for (label, words, caps, badge, request) in cases {
            let caller = if badge == 0 { Caller::Init } else { Caller::App(badge) };
            assert_eq!(decode(label, words, caps, badge), Ok((caller, request)), "label {label} words {words:?}");
        }
    }

    #[test]
    fn limits_are_checked() {
        let cases = [
            (TCP_CONNECT, [HOST, 0]),
            (TCP_CONNECT, [HOST, 65536]),
            (TCP_CONNECT, [0, 80]),
            (TCP_CONNECT, [u32::MAX, 80]),
            (TCP_CONNECT, [address_word([224, 0, 0, 1]), 80]),
            (TCP_CONNECT, [address_word([239, 255, 255, 250]), 80]),
            (STATUS, [4, 0]),
            (STATUS, [u32::MAX, 0]),
            (SEND, [0, 0]),
            (SEND, [0, 16385]),
            (SEND, [4, 1]),
            (RECEIVE, [0, 0]),
            (RECEIVE, [0, u32::MAX]),
            (CLOSE, [4, 0]),
            (LOOKUP, [0, 0]),
            (LOOKUP, [254, 0]),
            (LOOKUP, [u32::MAX, 0]),
            (TCP_LISTEN, [0, 0]),
            (TCP_LISTEN, [65536, 0]),
            (TCP_ACCEPT, [4, 0]),
            (UDP_BIND, [65536, 0]),
            (SEND_TO, [4, HOST]),
            (SEND_TO, [0, 0]),
            (SEND_TO, [0, address_word([224, 0, 0, 251])]),
            (RECEIVE_FROM, [0, 0]),
            (RECEIVE_FROM, [0, 16385]),
            (RECEIVE_FROM, [4, 1]),
            (SHUTDOWN, [4, 0]),
        ];
        for (label, [word0, word1]) in cases {
            assert_eq!(decode(label, [word0, word1, 0, 0], 0, APP), Err(Error::InvalidArgument), "{label} {word0}");
        }
        assert_eq!(decode(REGISTER_APP, [0, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(REGISTER_APP, [17, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(UNREGISTER_APP, [0, 0, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(SET_RESOLVER, [HOST, 0, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(SET_RESOLVER, [0, 53, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(SEND_TO, [0, HOST, 0, 1], 0, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(SEND_TO, [0, HOST, 7, 1473], 0, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(SEND_TO, [0, HOST, 65536, 1], 0, APP), Err(Error::InvalidArgument));
        // The last octet can be anything but in 255.255.255.255.
        assert!(decode(TCP_CONNECT, [address_word([10, 0, 2, 255]), 80, 0, 0], 0, APP).is_ok());
        assert!(decode(TCP_CONNECT, [address_word([223, 255, 255, 255]), 80, 0, 0], 0, APP).is_ok());
        assert!(decode(TCP_CONNECT, [address_word([240, 0, 0, 1]), 80, 0, 0], 0, APP).is_ok());
    }

    #[test]
    fn capability_counts_are_checked() {
        assert_eq!(decode(STATUS, [0; 4], 1, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(TCP_CONNECT, [HOST, 80, 0, 0], 2, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(REGISTER_APP, [1, 0, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(REGISTER_APP, [1, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(UNREGISTER_APP, [1, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
    }

    #[test]
    fn callers_are_checked() {
        assert_eq!(decode(REGISTER_APP, [APP, 0, 0, 9], 1, APP), Err(Error::PermissionDenied));
        assert_eq!(decode(UNREGISTER_APP, [APP, 0, 0, 0], 0, APP), Err(Error::PermissionDenied));
        assert_eq!(decode(SET_RESOLVER, [HOST, 53, 0, 0], 0, APP), Err(Error::PermissionDenied));
        for label in [TCP_CONNECT, STATUS, SEND, RECEIVE, CLOSE, LOOKUP, TCP_LISTEN, TCP_ACCEPT, UDP_BIND, SEND_TO] {
            assert_eq!(decode(label, [HOST, 80, 0, 0], 0, 0), Err(Error::PermissionDenied), "label {label}");
        }
        // The caller is checked before the rest of the request.
        assert_eq!(decode(REGISTER_APP, [u32::MAX, 0, 0, 0], 5, APP), Err(Error::PermissionDenied));
    }

    #[test]
    fn socket_holders_act_on_their_socket_only() {
        let holder = SOCKET_BADGE | 3 << 8 | 7;
        assert_eq!(Caller::from_badge(holder), Ok(Caller::Socket { slot: 7, generation: 3 }));
        assert_eq!(Caller::from_badge(SOCKET_BADGE << 1), Err(Error::PermissionDenied));
        assert_eq!(Caller::from_badge(SOCKET_BADGE | 1 << 17), Err(Error::PermissionDenied));
        let caller = Caller::Socket { slot: 7, generation: 3 };
        // Word 0 is not read: the badge names the socket.
        assert_eq!(decode(STATUS, [u32::MAX, 0, 0, 0], 0, holder), Ok((caller, Request::Status { socket: 0 })));
        assert_eq!(decode(SEND, [9, 100, 0, 5], 1, holder), Ok((caller, Request::Send { socket: 0, len: 100 })));
        assert_eq!(decode(CLOSE, [9, 0, 0, 0], 0, holder), Ok((caller, Request::Close { socket: 0 })));
        let datagram = Request::SendTo { socket: 0, address: [10, 0, 2, 2], port: 7, len: 64 };
        assert_eq!(decode(SEND_TO, [64, HOST, 7, 0x105], 1, holder), Ok((caller, datagram)));
        assert_eq!(decode(SEND_TO, [1473, HOST, 7, 0x105], 1, holder), Err(Error::InvalidArgument));
        // Bytes need the holder's frame; nothing else takes one.
        assert_eq!(decode(SEND, [0, 100, 0, 0], 0, holder), Err(Error::InvalidArgument));
        assert_eq!(decode(RECEIVE_FROM, [0, 100, 0, 0], 0, holder), Err(Error::InvalidArgument));
        assert_eq!(decode(STATUS, [0, 0, 0, 5], 1, holder), Err(Error::InvalidArgument));
        // Nothing of the owner's policy: no new sockets, lookups or delegation.
        for label in [TCP_CONNECT, LOOKUP, TCP_LISTEN, TCP_ACCEPT, UDP_BIND, DELEGATE, REGISTER_APP, SET_RESOLVER] {
            assert_eq!(decode(label, [HOST, 80, 0, 0], 0, holder), Err(Error::PermissionDenied), "{label}");
        }
        // Apps delegate their own sockets by number; init has none.
        assert_eq!(decode(DELEGATE, [2, 0, 0, 0], 0, APP), Ok((Caller::App(APP), Request::Delegate { socket: 2 })));
        assert_eq!(decode(DELEGATE, [4, 0, 0, 0], 0, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(DELEGATE, [0, 0, 0, 0], 0, 0), Err(Error::PermissionDenied));
    }

    #[test]
    fn unknown_labels_are_refused() {
        for label in [0, 14, 15, 19, u32::MAX] {
            assert_eq!(decode(label, [0; 4], 0, 0), Err(Error::InvalidArgument));
            assert_eq!(decode(label, [0; 4], 0, APP), Err(Error::InvalidArgument));
        }
    }
}
