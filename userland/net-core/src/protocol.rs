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
//! carries a capability; `REGISTER_APP` carries the window.
//!
//! | label | request | words | capabilities | who |
//! |---|---|---|---|---|
//! | 1 `TCP_CONNECT` | [`Request::TcpConnect`] | word 0 = IPv4 address (not 0.0.0.0, 255.255.255.255 or multicast), word 1 = port, 1..=65535 | 0 | apps |
//! | 2 `STATUS` | [`Request::Status`] | word 0 = socket, 0..[`MAX_SOCKETS`] | 0 | apps |
//! | 3 `SEND` | [`Request::Send`] | word 0 = socket, word 1 = length, 1..=[`WINDOW_BYTES`] | 0 | apps |
//! | 4 `RECEIVE` | [`Request::Receive`] | word 0 = socket, word 1 = most bytes, 1..=[`WINDOW_BYTES`] | 0 | apps |
//! | 5 `CLOSE` | [`Request::Close`] | word 0 = socket | 0 | apps |
//! | 6 `LOOKUP` | [`Request::Lookup`] | word 0 = name length, 1..=[`MAX_NAME_BYTES`] | 0 | apps |
//! | 16 `REGISTER_APP` | [`Request::RegisterApp`] | word 0 = client, 1..=16 | 1 (the window) | `init` |
//! | 17 `UNREGISTER_APP` | [`Request::UnregisterApp`] | word 0 = client, 1..=16 | 0 | `init` |
//! | 18 `SET_RESOLVER` | [`Request::SetResolver`] | word 0 = IPv4 address (as `TCP_CONNECT`), word 1 = port, 1..=65535 | 0 | `init` |
//!
//! Words a request does not use are ignored (the kernel puts received
//! capabilities' handles in the last words).
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
    address_bytes, CLOSE, LOOKUP, MAX_CLIENTS, MAX_NAME_BYTES, MAX_SOCKETS, RECEIVE, REGISTER_APP, SEND, SET_RESOLVER,
    STATUS, TCP_CONNECT, UNREGISTER_APP, WINDOW_BYTES,
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
}

impl Caller {
    /// The caller with `badge`; `PermissionDenied` for a badge that names
    /// none.
    pub fn from_badge(badge: u32) -> Result<Caller, Error> {
        match badge {
            INIT_BADGE => Ok(Caller::Init),
            client if (1..=MAX_CLIENTS).contains(&client) => Ok(Caller::App(client)),
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

/// Whether a TCP connection can go to `address`: not the unspecified
/// address, not the limited broadcast, not multicast (224.0.0.0/4).
pub fn is_connectable(address: [u8; 4]) -> bool {
    address != [0; 4] && address != [255; 4] && !(224..=239).contains(&address[0])
}

/// Who may make a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Apps,
    Init,
}

/// Checks a request: its `label`, `words`, number of capabilities `caps`
/// and `badge` (module docs). Changes nothing; never panics.
pub fn decode(label: u32, words: [u32; 4], caps: u32, badge: u32) -> Result<(Caller, Request), Error> {
    let caller = Caller::from_badge(badge)?;
    let (allowed, wanted_caps) = match label {
        TCP_CONNECT | STATUS | SEND | RECEIVE | CLOSE | LOOKUP => (Allowed::Apps, 0),
        REGISTER_APP => (Allowed::Init, 1),
        UNREGISTER_APP | SET_RESOLVER => (Allowed::Init, 0),
        _ => return Err(Error::InvalidArgument),
    };
    let permitted = match allowed {
        Allowed::Apps => matches!(caller, Caller::App(_)),
        Allowed::Init => caller == Caller::Init,
    };
    if !permitted {
        return Err(Error::PermissionDenied);
    }
    if caps != wanted_caps {
        return Err(Error::InvalidArgument);
    }
    let socket = || if words[0] < MAX_SOCKETS { Ok(words[0]) } else { Err(Error::InvalidArgument) };
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
            (REGISTER_APP, [16, 0, 0, 9], 1, 0, Request::RegisterApp { client: 16 }),
            (UNREGISTER_APP, [1, 0, 0, 0], 0, 0, Request::UnregisterApp { client: 1 }),
            (LOOKUP, [1, 0, 0, 0], 0, APP, Request::Lookup { len: 1 }),
            (LOOKUP, [253, 0, 0, 0], 0, APP, Request::Lookup { len: MAX_NAME_BYTES }),
            (SET_RESOLVER, [HOST, 53, 0, 0], 0, 0, Request::SetResolver { address: [10, 0, 2, 2], port: 53 }),
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
        ];
        for (label, [word0, word1]) in cases {
            assert_eq!(decode(label, [word0, word1, 0, 0], 0, APP), Err(Error::InvalidArgument), "{label} {word0}");
        }
        assert_eq!(decode(REGISTER_APP, [0, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(REGISTER_APP, [17, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(UNREGISTER_APP, [0, 0, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(SET_RESOLVER, [HOST, 0, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(SET_RESOLVER, [0, 53, 0, 0], 0, 0), Err(Error::InvalidArgument));
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
        assert_eq!(decode(REGISTER_APP, [1, 0, 8, 9], 2, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(UNREGISTER_APP, [1, 0, 0, 9], 1, 0), Err(Error::InvalidArgument));
    }

    #[test]
    fn callers_are_checked() {
        assert_eq!(decode(REGISTER_APP, [APP, 0, 0, 9], 1, APP), Err(Error::PermissionDenied));
        assert_eq!(decode(UNREGISTER_APP, [APP, 0, 0, 0], 0, APP), Err(Error::PermissionDenied));
        assert_eq!(decode(SET_RESOLVER, [HOST, 53, 0, 0], 0, APP), Err(Error::PermissionDenied));
        for label in [TCP_CONNECT, STATUS, SEND, RECEIVE, CLOSE, LOOKUP] {
            assert_eq!(decode(label, [HOST, 80, 0, 0], 0, 0), Err(Error::PermissionDenied), "label {label}");
        }
        // The caller is checked before the rest of the request.
        assert_eq!(decode(REGISTER_APP, [u32::MAX, 0, 0, 0], 5, APP), Err(Error::PermissionDenied));
    }

    #[test]
    fn unknown_labels_are_refused() {
        for label in [0, 7, 15, 19, u32::MAX] {
            assert_eq!(decode(label, [0; 4], 0, 0), Err(Error::InvalidArgument));
            assert_eq!(decode(label, [0; 4], 0, APP), Err(Error::InvalidArgument));
        }
    }
}
