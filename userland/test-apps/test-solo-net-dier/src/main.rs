//! Test fixture for the `net-stress` scenario: an app that dies in the
//! middle of a transfer. It connects to the host's sink (10.0.2.2:7009),
//! sends 256 KiB of the 4 MiB the sink waits for, and panics. `init`
//! restarts it with back-off and holds it after three crashes; each time
//! the network server must drop its sockets (`init` unregisters it) and
//! go on serving the others.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::{Ipv4Addr, TcpStream};
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The host's sink.
const SINK: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 2), 7009);
/// What it sends before it dies.
const SENT: usize = 256 * 1024;

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let (host, port) = SINK;
    let mut stream = TcpStream::connect_timeout(&net, host, port, Duration::from_secs(10))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)));
    let block = [0xd1_u8; 1024];
    for _ in 0..SENT / block.len() {
        stream.write_all(&block)?;
    }
    log!("test-solo-net-dier: {} bytes sent; dying in the middle of the transfer", SENT);
    panic!("test-solo-net-dier dies on purpose");
}
