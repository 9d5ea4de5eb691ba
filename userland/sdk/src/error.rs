//! The one error type of the SDK.
//!
//! ```ignore
//! match app.gpio()?.output(4, Level::High) {
//!     Err(Error::Denied) => log!("pin 4 is not mine"),
//!     other => { other?; }
//! }
//! ```

use core::fmt;

/// Why an SDK call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The manifest does not grant this capability (e.g. `"Gpio"`), so the
    /// app holds nothing to ask with.
    NotGranted(&'static str),
    /// The capability exists but does not cover this (a pin or UART outside
    /// the grant).
    Denied,
    /// A bad argument: a pin the board lacks, a write to an input pin, ...
    InvalidArgument,
    /// No answer in time: from a server, or on a connection (connecting,
    /// reading or writing past its timeout).
    TimedOut,
    /// The server has gone.
    ServerGone,
    /// Sealed data was changed, or sealed by another app.
    Tampered,
    /// The device has no working entropy source: no random bytes rather
    /// than predictable ones.
    NoEntropy,
    /// The host refused the connection (nothing listens on that port).
    ConnectionRefused,
    /// The peer reset the connection after it was made.
    Reset,
    /// The connection is closed: nothing more can be sent on it.
    Closed,
    /// The host name has no address (DNS said so).
    NotFound,
    /// One of the app's budgets is used up (the network: sockets open at
    /// once; the Pluton security server: its share of costly requests,
    /// which comes back with time).
    BudgetExceeded,
    /// Any other failure the kernel or a server reported.
    System(tessera_abi::Error),
}

impl From<tessera_abi::Error> for Error {
    fn from(error: tessera_abi::Error) -> Error {
        match error {
            tessera_abi::Error::PermissionDenied | tessera_abi::Error::MissingRight => Error::Denied,
            tessera_abi::Error::InvalidArgument => Error::InvalidArgument,
            tessera_abi::Error::TimedOut => Error::TimedOut,
            tessera_abi::Error::PeerGone => Error::ServerGone,
            tessera_abi::Error::Busy => Error::BudgetExceeded,
            other => Error::System(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotGranted(capability) => write!(f, "not granted: the manifest has no {capability}"),
            Error::Denied => write!(f, "denied: outside what the manifest granted"),
            Error::InvalidArgument => write!(f, "invalid argument"),
            Error::TimedOut => write!(f, "timed out"),
            Error::ServerGone => write!(f, "the server has gone"),
            Error::Tampered => write!(f, "sealed data was changed or is another app's"),
            Error::NoEntropy => write!(f, "no entropy source: no random bytes"),
            Error::ConnectionRefused => write!(f, "connection refused"),
            Error::Reset => write!(f, "connection reset"),
            Error::Closed => write!(f, "the connection is closed"),
            Error::BudgetExceeded => write!(f, "budget exceeded"),
            Error::NotFound => write!(f, "no such host"),
            Error::System(error) => write!(f, "{}", error.name()),
        }
    }
}

impl core::error::Error for Error {}

/// What the error means to `embedded_io` users (a `TcpStream`'s errors).
impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind;
        match self {
            Error::NotGranted(_) | Error::Denied => ErrorKind::PermissionDenied,
            Error::InvalidArgument => ErrorKind::InvalidInput,
            Error::TimedOut => ErrorKind::TimedOut,
            Error::ConnectionRefused => ErrorKind::ConnectionRefused,
            Error::Reset => ErrorKind::ConnectionReset,
            Error::Closed => ErrorKind::BrokenPipe,
            Error::BudgetExceeded => ErrorKind::OutOfMemory,
            Error::NotFound => ErrorKind::NotFound,
            Error::ServerGone | Error::Tampered | Error::NoEntropy | Error::System(_) => ErrorKind::Other,
        }
    }
}

/// One request to a server: the reply's word 0, or its error.
pub(crate) fn request(endpoint: tessera_abi::Handle, label: u32, words: [u32; 4]) -> Result<[u32; 4], Error> {
    use tessera_rt::{call, Message, Timeout};
    let reply = call(endpoint, &Message::new(label, words), Timeout::Millis(1000))?;
    match reply.message.label {
        0 => Ok(reply.message.words),
        code => Err(tessera_abi::Error::from_code(code).map_or(Error::InvalidArgument, Error::from)),
    }
}
