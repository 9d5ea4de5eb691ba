//! Echo client: talks to echo servers at 10.0.2.2, the IPv4 literal its
//! manifest's `AllowedConnections` lists (QEMU's user network maps it to
//! the host's 127.0.0.1). Over TCP it sends three lines to port 7007 and
//! checks that each comes back as it went (`netecho: 3 lines echoed by
//! 10.0.2.2:7007`); over UDP it sends three datagrams to port 7008 from a
//! client socket and checks the answers (`netecho: 3 datagrams echoed by
//! 10.0.2.2:7008`), then uses two sockets at once (`netecho: two sockets
//! at once, both answers whole`) and checks that an answer taken is not
//! given again (`netecho: an answer taken is not given twice`). With
//! nothing listening it logs why and exits 0; it exits 1 if an echo came
//! back wrong.
//!
//! Try it: run echo servers on the host's 127.0.0.1 (`ncat -l -k 127.0.0.1
//! 7007 --exec /bin/cat`; `ncat -u -l -k 127.0.0.1 7008 --exec /bin/cat`),
//! then `cargo xtask qemu`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::{Ipv4Addr, Net, TcpStream, UdpSocket};
use tessera_sdk::time::{Duration, Instant};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The echo servers' host (a literal in the manifest).
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The TCP echo server's port.
const TCP_PORT: u16 = 7007;
/// The UDP echo server's port.
const UDP_PORT: u16 = 7008;
/// The read timeout of the `recv_from` that must find nothing.
const READ_TIMEOUT: Duration = Duration::from_millis(200);
/// What it sends, a line (or a datagram) at a time.
const LINES: [&[u8]; 3] = [b"hello from netecho\n", b"a second line\n", b"and a third\n"];

/// Sends each line and reads it back; the lines echoed right, or the
/// first error.
fn echo_tcp(stream: &mut TcpStream) -> Result<usize, Error> {
    let mut buffer = [0u8; 64];
    for (index, line) in LINES.iter().enumerate() {
        stream.write_all(line)?;
        let mut got = 0;
        while got < line.len() {
            let count = stream.read(&mut buffer[got..line.len()])?;
            if count == 0 {
                log!("netecho: the TCP server closed after {} of {} lines", index, LINES.len());
                return Ok(index);
            }
            got += count;
        }
        if &buffer[..line.len()] != *line {
            log!("netecho: line {} came back changed", index + 1);
            return Err(Error::InvalidArgument);
        }
    }
    Ok(LINES.len())
}

/// Sends each line as a datagram and waits for it to come back (a lost
/// one is sent again, up to three times); the datagrams echoed right.
fn echo_udp(socket: &mut UdpSocket) -> Result<usize, Error> {
    let mut buffer = [0u8; 64];
    for (index, line) in LINES.iter().enumerate() {
        let mut tries = 0;
        let (count, from) = loop {
            socket.send_to(line, HOST, UDP_PORT)?;
            match socket.recv_from(&mut buffer) {
                Err(Error::TimedOut) if tries < 3 => tries += 1,
                Err(Error::TimedOut) => {
                    log!("netecho: no UDP answer to datagram {}", index + 1);
                    return Ok(index);
                }
                other => break other?,
            }
        };
        if &buffer[..count] != *line || *from.ip() != HOST || from.port() != UDP_PORT {
            log!("netecho: datagram {} came back changed, from {}", index + 1, from);
            return Err(Error::InvalidArgument);
        }
    }
    Ok(LINES.len())
}

/// A datagram from each of two sockets before either answer is read: the
/// first socket's answer may be waiting in the app's transfer window by
/// the time the second datagram is written there (the network server
/// delivers a datagram into the window when it can), and must still come
/// back whole, to the socket it is for.
fn two_sockets(net: &Net, first: &mut UdpSocket) -> Result<(), Error> {
    const FIRST: &[u8] = b"to the first socket";
    const SECOND: &[u8] = b"to the second socket, a longer datagram";
    let mut second = UdpSocket::bind(net, 0)?;
    second.set_read_timeout(Some(Duration::from_secs(1)));
    first.send_to(FIRST, HOST, UDP_PORT)?;
    // Time for the first answer to come.
    tessera_sdk::time::sleep(Duration::from_millis(100));
    second.send_to(SECOND, HOST, UDP_PORT)?;
    let mut buffer = [0u8; 64];
    let (count, _) = first.recv_from(&mut buffer)?;
    let first_whole = &buffer[..count] == FIRST;
    let (count, _) = second.recv_from(&mut buffer)?;
    if !first_whole || &buffer[..count] != SECOND {
        log!("netecho: with two sockets at once, an answer came back changed or to the wrong socket");
        return Err(Error::InvalidArgument);
    }
    log!("netecho: two sockets at once, both answers whole");
    Ok(())
}

/// An answer taken is gone: a second `recv_from` after it finds nothing
/// (the network server must not hand the same datagram over twice), and
/// ends with `TimedOut` once its read timeout ([`READ_TIMEOUT`]) has
/// passed, not before.
fn not_twice(socket: &mut UdpSocket) -> Result<(), Error> {
    const ONCE: &[u8] = b"once";
    let mut buffer = [0u8; 64];
    socket.send_to(ONCE, HOST, UDP_PORT)?;
    let (count, _) = socket.recv_from(&mut buffer)?;
    if &buffer[..count] != ONCE {
        log!("netecho: the last datagram came back changed");
        return Err(Error::InvalidArgument);
    }
    socket.set_read_timeout(Some(READ_TIMEOUT));
    let start = Instant::now();
    match socket.recv_from(&mut buffer) {
        // A read timeout is never early.
        Err(Error::TimedOut) if start.elapsed() < READ_TIMEOUT => {
            log!("netecho: a read timeout of {:?} ended after {:?}", READ_TIMEOUT, start.elapsed());
            Err(Error::InvalidArgument)
        }
        Err(Error::TimedOut) => {
            log!("netecho: an answer taken is not given twice");
            Ok(())
        }
        Ok((count, _)) => {
            log!("netecho: {} more bytes after the last answer", count);
            Err(Error::InvalidArgument)
        }
        Err(other) => Err(other),
    }
}

fn tcp(net: &Net) -> Result<(), Error> {
    let mut stream = match TcpStream::connect(net, HOST, TCP_PORT) {
        Ok(stream) => stream,
        Err(error) => {
            log!("netecho: {}:{} not reached ({})", HOST, TCP_PORT, error);
            return Ok(());
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream.set_write_timeout(Some(Duration::from_secs(5)));
    let echoed = echo_tcp(&mut stream)?;
    log!("netecho: {} lines echoed by {}:{}", echoed, HOST, TCP_PORT);
    // Its side ends; the server sees the end of the stream and ends too.
    stream.shutdown()?;
    let mut rest = [0u8; 16];
    match stream.read(&mut rest)? {
        0 => log!("netecho: shut down its side; the server finished too"),
        count => log!("netecho: {} more bytes after its shutdown", count),
    }
    stream.close()?;
    Ok(())
}

fn udp(net: &Net) -> Result<(), Error> {
    let mut socket = UdpSocket::bind(net, 0)?;
    socket.set_read_timeout(Some(Duration::from_secs(1)));
    socket.set_write_timeout(Some(Duration::from_secs(5)));
    let echoed = echo_udp(&mut socket)?;
    log!("netecho: {} datagrams echoed by {}:{}", echoed, HOST, UDP_PORT);
    if echoed < LINES.len() {
        return Ok(());
    }
    two_sockets(net, &mut socket)?;
    not_twice(&mut socket)
}

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    tcp(&net)?;
    udp(&net)
}
