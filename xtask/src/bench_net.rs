//! The host's side of the network benchmarks (`cargo xtask bench`) and of
//! the `qemu:net-stress` scenario: the servers `test-bench-net` measures
//! against (and the stress scenario's apps use), on the host's 127.0.0.1
//! (10.0.2.2 to the guest), each in a thread, each with a bounded number
//! of connections and timeouts on every read and write:
//!
//! - the sink on [`SINK_PORT`]: reads [`BULK_BYTES`] from a connection,
//!   then answers `k`;
//! - the source on [`SOURCE_PORT`]: sends [`BULK_BYTES`] (byte `i` is
//!   `i % 251`), then closes;
//! - the accepting server on [`ACCEPT_PORT`]: takes each connection and
//!   closes it;
//! - the UDP echo server on [`UDP_PORT`]: sends each datagram back.
//!
//! The ports and sizes are `test-bench-net`'s
//! (`userland/test-apps/test-bench-net/src/main.rs`).

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::Result;

/// The UDP echo server's port.
pub const UDP_PORT: u16 = 7008;
/// The sink's port.
pub const SINK_PORT: u16 = 7009;
/// The source's port.
pub const SOURCE_PORT: u16 = 7010;
/// The accepting server's port.
pub const ACCEPT_PORT: u16 = 7011;
/// Bytes of each bulk transfer.
pub const BULK_BYTES: u64 = 4 * 1024 * 1024;
/// The most connections (or datagrams) each server takes.
const MAX_CONNECTIONS: u64 = 64;
/// How long a read or write may wait.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the UDP echo server looks at its stop flag, and how long a
/// server waits after a failed accept.
const POLL: Duration = Duration::from_millis(20);

/// What a connection handler gets: the connection; it returns the bytes
/// it moved.
type Handler = fn(TcpStream) -> u64;

/// The running servers; [`HostServers::finish`] stops them.
pub struct HostServers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Bytes the sink read, the source sent, datagrams echoed, connections
    /// the accepting server took.
    counts: Arc<[AtomicU64; 4]>,
}

/// What the servers did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub sunk: u64,
    pub sourced: u64,
    pub echoed: u64,
    pub accepted: u64,
}

fn listener(port: u16, what: &str) -> Result<TcpListener> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|err| {
        let taken = if err.kind() == ErrorKind::AddrInUse { " (something else listens there)" } else { "" };
        format!(
            "cannot listen on 127.0.0.1:{port}{taken} for the benchmark's {what}: {err}. test-bench-net reaches it \
             as 10.0.2.2:{port}; stop what listens there (`ss -ltnp 'sport = :{port}'` names it)"
        )
    })?;
    Ok(listener)
}

/// Takes connections on `listener` until `stop`, handing each to
/// `handler` in a thread of its own (a stalled client does not hold up
/// the next); adds what each moved to `count`. The accept blocks, so a
/// connection is taken (and the accepting server's closed) as soon as it
/// comes: polling every 20 ms, as it did until December 2026, closed the
/// benchmark's connections in bursts, several of the guest's connects
/// late, and `tcp_connect_instructions` counted the guest's work on them
/// wherever they fell. [`HostServers::finish`] wakes it with a connection
/// of its own after setting `stop`.
fn serve(listener: &TcpListener, handler: Handler, count: &Arc<[AtomicU64; 4]>, index: usize, stop: &AtomicBool) {
    let mut taken = 0;
    let mut handlers = Vec::new();
    while taken < MAX_CONNECTIONS {
        let accepted = listener.accept();
        if stop.load(Ordering::Acquire) {
            break;
        }
        match accepted {
            Ok((stream, _)) => {
                taken += 1;
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                let count = Arc::clone(count);
                handlers.push(thread::spawn(move || {
                    count[index].fetch_add(handler(stream), Ordering::Relaxed);
                }));
            }
            Err(_) => thread::sleep(POLL),
        }
    }
    // Each handler ends within its timeouts (or when QEMU, the peer, is gone).
    for handler in handlers {
        let _ = handler.join();
    }
}

/// The sink's handler.
fn sink(mut stream: TcpStream) -> u64 {
    let (mut total, mut buffer) = (0, vec![0u8; 64 * 1024]);
    while total < BULK_BYTES {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return total,
            Ok(count) => total += count as u64,
        }
    }
    let _ = stream.write_all(b"k");
    // Wait for the guest to close, so the answer is not cut off by a RST.
    let _ = stream.read(&mut buffer);
    total
}

/// The source's handler.
fn source(mut stream: TcpStream) -> u64 {
    let pattern: Vec<u8> = (0..251 * 256).map(|index| (index % 251) as u8).collect();
    let mut sent = 0;
    while sent < BULK_BYTES {
        // The pattern repeats every 251 bytes, and the block is a multiple.
        let take = (BULK_BYTES - sent).min(pattern.len() as u64) as usize;
        let offset = (sent % 251) as usize;
        let block = &pattern[offset..offset + take.min(pattern.len() - offset)];
        match stream.write(block) {
            Ok(0) | Err(_) => return sent,
            Ok(count) => sent += count as u64,
        }
    }
    sent
}

/// The accepting server's handler: closes at once.
fn accept(_stream: TcpStream) -> u64 {
    1
}

/// Echoes datagrams on `socket` until `stop`.
fn udp_echo(socket: &UdpSocket, count: &AtomicU64, stop: &AtomicBool) {
    let mut buffer = [0u8; 2048];
    while !stop.load(Ordering::Acquire) && count.load(Ordering::Relaxed) < MAX_CONNECTIONS {
        if let Ok((size, from)) = socket.recv_from(&mut buffer) {
            if socket.send_to(&buffer[..size], from).is_ok() {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl HostServers {
    /// Starts the four servers; a clear error if a port is taken.
    pub fn start() -> Result<HostServers> {
        let stop = Arc::new(AtomicBool::new(false));
        let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let mut threads = Vec::new();
        let servers: [(u16, &str, Handler, usize); 3] = [
            (SINK_PORT, "sink", sink, 0),
            (SOURCE_PORT, "source", source, 1),
            (ACCEPT_PORT, "accepting server", accept, 3),
        ];
        for (port, what, handler, index) in servers {
            let listener = listener(port, what)?;
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            threads.push(thread::spawn(move || serve(&listener, handler, &counts, index, &stop)));
        }
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, UDP_PORT)).map_err(|err| {
            format!("cannot bind UDP 127.0.0.1:{UDP_PORT} for the benchmark's UDP echo server: {err}")
        })?;
        socket.set_read_timeout(Some(POLL)).map_err(|err| format!("cannot set a UDP timeout: {err}"))?;
        let (stop_udp, counts_udp) = (Arc::clone(&stop), Arc::clone(&counts));
        threads.push(thread::spawn(move || udp_echo(&socket, &counts_udp[2], &stop_udp)));
        Ok(HostServers { stop, threads, counts })
    }

    /// Stops the servers; returns what they did.
    pub fn finish(self) -> Moved {
        self.stop.store(true, Ordering::Release);
        // Wake each TCP server's blocking accept (one that reached its
        // limit takes no more: the connection waits in the backlog until
        // the listener goes, which is as good).
        for port in [SINK_PORT, SOURCE_PORT, ACCEPT_PORT] {
            let _ = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(1));
        }
        for thread in self.threads {
            let _ = thread.join();
        }
        let count = |index: usize| self.counts[index].load(Ordering::Relaxed);
        Moved { sunk: count(0), sourced: count(1), echoed: count(2), accepted: count(3) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_sends_the_pattern_and_the_sink_answers() {
        // Against the real handlers over loopback, on free ports.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || source(listener.accept().unwrap().0));
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(server.join().unwrap(), BULK_BYTES);
        assert_eq!(got.len() as u64, BULK_BYTES);
        assert!(got.iter().enumerate().all(|(index, &byte)| byte == (index % 251) as u8));

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || sink(listener.accept().unwrap().0));
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        let block = vec![0x5a; 16 * 1024];
        for _ in 0..BULK_BYTES / block.len() as u64 {
            client.write_all(&block).unwrap();
        }
        let mut answer = [0u8; 1];
        client.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"k");
        drop(client);
        assert_eq!(server.join().unwrap(), BULK_BYTES);
    }
}
