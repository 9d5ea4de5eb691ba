//! Test fixture for the `net-stress` scenario: garbage for the network
//! server. It sends [`REQUESTS`] requests of random labels and words on its
//! network endpoint (most malformed; the rest ask for things it was not
//! granted or sockets it does not have), counts the answers, and then
//! checks that the server still serves it: a TCP connection to the host's
//! accepting server (10.0.2.2:7011) is made and closed. It exits 1 if the
//! server went away.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::app::ServerKind;
use tessera_rt::{call, Message, Timeout};
use tessera_sdk::net::{Ipv4Addr, TcpStream};
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// How many garbage requests it sends.
const REQUESTS: u32 = 2000;
/// The host's accepting server.
const ACCEPTING: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 2), 7011);

/// xorshift32: a fixed sequence, so a failure replays.
fn next(state: &mut u32) -> u32 {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    *state
}

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let Some(endpoint) = app.grant(ServerKind::NET) else { return Err(Error::NotGranted("AllowedConnections")) };
    let (mut state, mut answered, mut refused) = (0x2545_f491, 0, 0);
    for _ in 0..REQUESTS {
        let label = next(&mut state) % 24;
        let mut words = [0; 4];
        for word in &mut words {
            // Small numbers often (socket numbers, lengths), any otherwise.
            let value = next(&mut state);
            *word = if value.is_multiple_of(4) { value % 20 } else { value };
        }
        match call(endpoint, &Message::new(label, words), Timeout::Millis(1000)) {
            Ok(reply) if reply.message.label == 0 => answered += 1,
            Ok(_) => refused += 1,
            Err(error) => {
                log!("test-solo-net-garbage: the network server stopped answering: {}", error.name());
                return Err(Error::ServerGone);
            }
        }
    }
    log!("test-solo-net-garbage: {} garbage requests: {} refused, {} answered", REQUESTS, refused, answered);
    // Some garbage is a request it may make (a client UDP socket, say):
    // close whatever that opened, so its budget is free again.
    for socket in 0..tessera_abi::app::net::MAX_SOCKETS {
        let _ = call(endpoint, &Message::new(tessera_abi::app::net::CLOSE, [socket, 0, 0, 0]), Timeout::Millis(1000));
    }
    let (host, port) = ACCEPTING;
    let stream = TcpStream::connect_timeout(&net, host, port, Duration::from_secs(10))?;
    stream.close()?;
    log!("test-solo-net-garbage: the network server still serves: connected to {}:{} and closed", host, port);
    Ok(())
}
