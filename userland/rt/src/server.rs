//! The one receive/reply loop every server runs.
//!
//! A server hands [`serve`] its endpoint and a function from a request to
//! an [`Answer`]; the loop receives the first request, then replies and
//! waits for the next in one `ReplyReceive` per request, until the
//! function says it answered the last one. The loop owns the error
//! handling (a failed receive ends it) and, with
//! [`Capabilities::Refuse`], deletes whatever capabilities a client sent
//! before the function sees the request, so no client can fill a server's
//! CSpace.

use crate::{receive, reply, reply_receive, Error, Handle, Message, Received, Timeout};

/// What the server function tells the loop.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// Reply with this message and wait for the next request.
    Reply(Message),
    /// Reply with this message and return: it was the last request.
    Last(Message),
}

/// What the loop does with capabilities that come with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capabilities {
    /// Delete them before the server function runs (a server that takes
    /// none: `gpiod`, `uartd`).
    Refuse,
    /// Leave them to the server function, which owns them from then on.
    Keep,
}

/// Serves requests on `endpoint` (which needs `RECEIVE`) with `handle`
/// until it returns [`Answer::Last`]; returns how many requests were
/// served, or the error of the receive that failed.
pub fn serve(
    endpoint: Handle,
    capabilities: Capabilities,
    mut handle: impl FnMut(&Received) -> Answer,
) -> Result<u32, Error> {
    let mut request = receive(endpoint, Timeout::Forever)?;
    let mut served = 0u32;
    loop {
        if capabilities == Capabilities::Refuse {
            request.drop_capabilities();
        }
        served = served.wrapping_add(1);
        match handle(&request) {
            Answer::Reply(message) => request = reply_receive(endpoint, &message)?,
            Answer::Last(message) => {
                // The caller may be gone by now; the server is done anyway.
                let _ = reply(&message);
                return Ok(served);
            }
        }
    }
}
