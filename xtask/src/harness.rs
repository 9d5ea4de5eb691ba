//! The host end of the app UART in the QEMU scenarios: a server on
//! 127.0.0.1 that QEMU's virtio console connects to (`qemu::AppUart::Connect`).
//!
//! It listens on a port the system picks (so nothing else can hold it), in a
//! thread, and serves one connection in one of two [`Mode`]s: as an echo
//! (every byte it receives goes straight back: the guest talks first), or as
//! a talker (it sends a line and collects what comes back: the guest
//! echoes). It keeps what it received for the scenario's report. It stops
//! when QEMU closes the socket (QEMU ended) or when it is told to.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::Result;

/// How often the thread looks at the stop flag while nothing happens.
const POLL: Duration = Duration::from_millis(20);
/// Most echoed bytes kept for the report (the echo itself has no limit).
const KEPT: usize = 64 * 1024;

/// What the harness does once QEMU is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Send back every byte received.
    Echo,
    /// Send this line, then only listen.
    Talk(&'static [u8]),
}

/// The line the harness sends in the `apps` scenario (the `uartecho` app
/// must send it back).
pub const TALK_LINE: &[u8] = b"host: hello, uartecho\n";

/// What the harness saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// True if a client connected.
    pub connected: bool,
    /// The bytes received (the first [`KEPT`]); in [`Mode::Echo`] also
    /// the bytes sent back.
    pub echoed: Vec<u8>,
    /// Why serving stopped early, if it did: an I/O error other than the
    /// client closing the connection.
    pub error: Option<String>,
}

impl Transcript {
    /// One line for a report, e.g. `connected; echoed 39 bytes: "hello\n"`.
    pub fn summary(&self) -> String {
        if !self.connected {
            return "QEMU never connected".to_string();
        }
        let mut text = format!(
            "connected; echoed {} bytes: {:?}",
            self.echoed.len(),
            String::from_utf8_lossy(&self.echoed[..self.echoed.len().min(200)])
        );
        if let Some(error) = &self.error {
            text.push_str(&format!("; then {error}"));
        }
        text
    }
}

/// An echo server running in its own thread.
pub struct EchoServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Transcript>,
}

impl EchoServer {
    /// Listens on 127.0.0.1 on a free port and starts serving in `mode`.
    pub fn start_in(mode: Mode) -> Result<EchoServer> {
        let cannot = |err: io::Error| format!("the UART echo harness cannot listen on 127.0.0.1: {err}");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(cannot)?;
        let port = listener.local_addr().map_err(cannot)?.port();
        listener.set_nonblocking(true).map_err(cannot)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("uart-echo".to_string())
            .spawn(move || serve(&listener, &stopping, mode))
            .map_err(|err| format!("cannot start the UART echo harness's thread: {err}"))?;
        Ok(EchoServer { port, stop, thread })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops serving (at once if the client has gone) and returns what it saw.
    pub fn finish(self) -> Result<Transcript> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| "the UART echo harness's thread panicked".to_string())
    }
}

/// Accepts one client and serves it until it goes or `stop` is set.
fn serve(listener: &TcpListener, stop: &AtomicBool, mode: Mode) -> Transcript {
    let mut transcript = Transcript::default();
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(err) if err.kind() == ErrorKind::WouldBlock || err.kind() == ErrorKind::Interrupted => {
                if stop.load(Ordering::Relaxed) {
                    return transcript;
                }
                thread::sleep(POLL);
            }
            Err(err) => {
                transcript.error = Some(format!("accept failed: {err}"));
                return transcript;
            }
        }
    };
    transcript.connected = true;
    if let Err(err) = echo(stream, stop, mode, &mut transcript.echoed) {
        transcript.error = Some(format!("echo failed: {err}"));
    }
    transcript
}

/// In [`Mode::Echo`] sends back every byte `stream` delivers; in
/// [`Mode::Talk`] sends its line first and sends nothing back. Keeps a copy
/// of what arrives in `kept`.
fn echo(mut stream: TcpStream, stop: &AtomicBool, mode: Mode, kept: &mut Vec<u8>) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    if let Mode::Talk(line) = mode {
        stream.write_all(line)?;
    }
    let mut buffer = [0; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(count) => {
                if mode == Mode::Echo {
                    stream.write_all(&buffer[..count])?;
                }
                let room = KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..count.min(room)]);
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn connect(server: &EchoServer) -> TcpStream {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port())).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream
    }

    #[test]
    fn echoes_every_byte_and_keeps_them() {
        let server = EchoServer::start_in(Mode::Echo).unwrap();
        let mut client = connect(&server);
        let mut back = Vec::new();
        for chunk in [&b"tessera: hello"[..], b" over the", b" virtio console\n"] {
            client.write_all(chunk).unwrap();
            let mut buffer = vec![0; chunk.len()];
            client.read_exact(&mut buffer).unwrap();
            back.extend_from_slice(&buffer);
        }
        assert_eq!(back, b"tessera: hello over the virtio console\n");
        drop(client);
        let transcript = server.finish().unwrap();
        assert!(transcript.connected);
        assert_eq!(transcript.echoed, back);
        assert_eq!(transcript.error, None);
        assert_eq!(transcript.summary(), "connected; echoed 39 bytes: \"tessera: hello over the virtio console\\n\"");
    }

    #[test]
    fn a_talker_sends_its_line_and_only_listens() {
        let server = EchoServer::start_in(Mode::Talk(TALK_LINE)).unwrap();
        let mut client = connect(&server);
        let mut line = vec![0; TALK_LINE.len()];
        client.read_exact(&mut line).unwrap();
        assert_eq!(line, TALK_LINE);
        client.write_all(&line).unwrap();
        client.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut more = [0u8; 8];
        assert!(client.read(&mut more).is_err(), "a talker must not echo");
        drop(client);
        let transcript = server.finish().unwrap();
        assert_eq!(transcript.echoed, TALK_LINE);
    }

    #[test]
    fn finishes_promptly_without_a_client() {
        let server = EchoServer::start_in(Mode::Echo).unwrap();
        assert_ne!(server.port(), 0);
        let started = Instant::now();
        let transcript = server.finish().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(transcript, Transcript::default());
        assert_eq!(transcript.summary(), "QEMU never connected");
    }

    #[test]
    fn finishes_promptly_while_the_client_stays_connected() {
        let server = EchoServer::start_in(Mode::Echo).unwrap();
        let mut client = connect(&server);
        client.write_all(b"x").unwrap();
        let mut byte = [0];
        client.read_exact(&mut byte).unwrap();
        let started = Instant::now();
        let transcript = server.finish().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(transcript.connected);
        assert_eq!(transcript.echoed, b"x");
        drop(client);
    }

    #[test]
    fn ports_differ_between_servers() {
        let (a, b) = (EchoServer::start_in(Mode::Echo).unwrap(), EchoServer::start_in(Mode::Echo).unwrap());
        assert_ne!(a.port(), b.port());
        a.finish().unwrap();
        b.finish().unwrap();
    }
}
