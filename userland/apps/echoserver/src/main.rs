//! Echo server: listens on TCP port 7 and UDP port 7, the server ports its
//! manifest grants (`AllowedTcpServerPorts`, `AllowedUdpServerPorts`), and
//! sends back what comes: each TCP connection's bytes until the peer
//! finishes (`echoserver: TCP 10.0.2.2:40506: 12 bytes echoed`), each
//! datagram to its sender. Nothing outside reaches the device unless
//! forwarded: `cargo xtask qemu --forward 8007:7 --forward udp:8007:7`,
//! then `nc 127.0.0.1 8007` (or `nc -u 127.0.0.1 8007`) on the host.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::{SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The port it serves on, for both transports.
const PORT: u16 = 7;
/// How long it waits on one transport before looking at the other.
const TURN: Duration = Duration::from_millis(20);

/// Echoes one connection until the peer finishes (or goes quiet for 5 s);
/// returns the bytes echoed.
fn echo(stream: &mut TcpStream) -> Result<usize, Error> {
    stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream.set_write_timeout(Some(Duration::from_secs(5)));
    let (mut buffer, mut total) = ([0u8; 512], 0);
    loop {
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            return Ok(total);
        }
        stream.write_all(&buffer[..count])?;
        total += count;
    }
}

fn serve_tcp(listener: &mut TcpListener) -> Result<(), Error> {
    let (mut stream, peer): (TcpStream, SocketAddrV4) = match listener.accept() {
        Ok(accepted) => accepted,
        Err(Error::TimedOut) => return Ok(()),
        Err(error) => return Err(error),
    };
    match echo(&mut stream) {
        Ok(total) => log!("echoserver: TCP {}: {} bytes echoed", peer, total),
        Err(error) => log!("echoserver: TCP {}: {}", peer, error),
    }
    Ok(())
}

fn serve_udp(socket: &mut UdpSocket) -> Result<(), Error> {
    let mut buffer = [0u8; 1472];
    let (count, from) = match socket.recv_from(&mut buffer) {
        Ok(received) => received,
        Err(Error::TimedOut) => return Ok(()),
        Err(error) => return Err(error),
    };
    socket.send_to(&buffer[..count], *from.ip(), from.port())?;
    log!("echoserver: UDP {}: {} bytes echoed", from, count);
    Ok(())
}

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let mut listener = TcpListener::bind(&net, PORT)?;
    listener.set_accept_timeout(Some(TURN));
    let mut socket = UdpSocket::bind(&net, PORT)?;
    socket.set_read_timeout(Some(TURN));
    socket.set_write_timeout(Some(Duration::from_secs(1)));
    log!("echoserver: echoing on TCP port {} and UDP port {}", PORT, PORT);
    loop {
        serve_tcp(&mut listener)?;
        serve_udp(&mut socket)?;
    }
}
