//! The `qemu:net` test: apps on the network through the network server
//! (docs/network.md), over one boot of the user image with an HTTP server,
//! a TCP echo server and a DNS server on the host.
//!
//! QEMU's user network maps the guest's 10.0.2.2 to the host's 127.0.0.1.
//! The host serves HTTP on 127.0.0.1:8080 ([`PORT`]), echoes TCP on
//! 127.0.0.1:7007 ([`ECHO_PORT`]), and answers DNS queries for
//! `example.test` with 10.0.2.2 from a free UDP port, which the boot
//! argument `net.dns=` names (as `cargo xtask qemu --resolve
//! example.test=10.0.2.2` does). The user image's sample apps then show,
//! in one boot:
//!
//! - `httpget` (`AllowedConnections: ["example.test"]`) has the network
//!   server look the name up, fetches `/` from example.test:8080 and logs
//!   the status line, `httpget: HTTP/1.0 200 OK`; the server here must have
//!   seen its request;
//! - `httpget` is denied 10.0.2.3:80, which its manifest does not list,
//!   and the network server logs that denial naming the app;
//! - `netecho` (`AllowedConnections: ["10.0.2.2"]`, a literal) has three
//!   lines echoed by the TCP echo server on 127.0.0.1:7007 and three
//!   datagrams by the UDP echo server on 127.0.0.1:7008 ([`UDP_ECHO_PORT`]),
//!   then one from each of two sockets before it reads either answer (the
//!   first may be delivered into its window before the second is written
//!   there), both back whole, and one more whose answer, once taken, is
//!   not given again;
//! - `echoserver` (`AllowedTcpServerPorts: [7]`, `AllowedUdpServerPorts:
//!   [7]`) echoes what a host client sends to it through `--forward`
//!   rules from free host ports to its port 7, over TCP and over UDP;
//! - `hostile` (`AllowedConnections: ["example.test"]`,
//!   `AllowedUdpServerPorts: [68]`) is denied
//!   10.0.2.2 before it looked the name up (an address learned another
//!   way), unlisted names (and the DNS server must never be asked for
//!   them), an address the listed name did not resolve to, socket numbers
//!   it never opened and init's requests, server ports it was not granted,
//!   the DHCP client's port 68 it was granted (the network server's own),
//!   a datagram to an unlisted host, stream requests on its UDP socket,
//!   claims of a delivered datagram it never had, and ends with 0 of its
//!   attempts allowed.
//!
//! Each server answers a bounded number of connections, each with read
//! and write timeouts, and stops when the boot does.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::dns;
use crate::image::Image;
use crate::qemu::{self, AppUart, Console, Forward, Protocol};
use crate::Result;

/// The host port `httpget` fetches from (example.test:8080 in the guest).
pub const PORT: u16 = 8080;
/// The host port `netecho` connects to (10.0.2.2:7007 in the guest).
pub const ECHO_PORT: u16 = 7007;
/// The host port `netecho` sends datagrams to (10.0.2.2:7008).
pub const UDP_ECHO_PORT: u16 = 7008;
/// `echoserver`'s port (TCP and UDP) in the guest.
const SERVER_PORT: u16 = 7;
/// What the host sends `echoserver` through the forwarded ports.
const FORWARDED: &[u8] = b"hello through --forward\n";
/// The name the DNS server answers, and its address.
const NAME: (&str, Ipv4Addr) = ("example.test", Ipv4Addr::new(10, 0, 2, 2));
/// How long the boot may take to show everything.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections each server answers.
const MAX_CONNECTIONS: usize = 4;
/// How long a server waits on one connection's reads and writes.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The page it serves.
const BODY: &str = "hello from the qemu:net test\n";
/// `httpget`'s ComponentId (userland/apps/httpget/app_manifest.json).
const HTTPGET: &str = "1b7d398b-aeb0-4038-af3c-227519bdd26e";
/// `hostile`'s ComponentId (userland/apps/hostile/app_manifest.json).
const HOSTILE: &str = "2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd";
/// `netecho`'s ComponentId (userland/apps/netecho/app_manifest.json).
const NETECHO: &str = "93ec7aba-1f88-4b5a-96fe-e90fceabb22a";
/// `echoserver`'s ComponentId (userland/apps/echoserver/app_manifest.json).
const ECHOSERVER: &str = "fedc2026-f592-4f69-bf52-b2ced47e3a23";

/// Lines the console must show (each a substring of one line).
fn expected(dns_port: u16) -> Vec<String> {
    let denied = "denied (denied: outside what the manifest granted)";
    let not_listed = "not in AllowedConnections";
    vec![
        format!("netd: asks the DNS server at 10.0.2.2:{dns_port} first (net.dns)"),
        format!("({HTTPGET}) registered: may connect to none; may look up example.test; entries ignored: 0"),
        "looked up example.test: 10.0.2.2".to_string(),
        "httpget: HTTP/1.0 200 OK".to_string(),
        format!("httpget: 10.0.2.3:80 {denied}"),
        format!("({HTTPGET}) connect to 10.0.2.3:80: {not_listed}"),
        "init: app 'httpget' finished (exit 0)".to_string(),
        format!("({NETECHO}) registered: may connect to 10.0.2.2; may look up none; entries ignored: 0"),
        format!("netecho: 3 lines echoed by 10.0.2.2:{ECHO_PORT}"),
        "netecho: shut down its side; the server finished too".to_string(),
        format!("netecho: 3 datagrams echoed by 10.0.2.2:{UDP_ECHO_PORT}"),
        "netecho: two sockets at once, both answers whole".to_string(),
        "netecho: an answer taken is not given twice".to_string(),
        "init: app 'netecho' finished (exit 0)".to_string(),
        format!("({ECHOSERVER}) registered: may connect to none; may look up none; entries ignored: 0"),
        "echoserver: echoing on TCP port 7 and UDP port 7".to_string(),
        "echoserver: TCP 10.0.2.2:".to_string(),
        "echoserver: UDP 10.0.2.2:".to_string(),
        "hostile: listen on TCP port 8080 (not granted): denied (denied: outside what the manifest granted)"
            .to_string(),
        format!("({HOSTILE}) listen on TCP port 8080: not in AllowedTcpServerPorts"),
        "hostile: bind UDP port 7 (not granted): denied (denied: outside what the manifest granted)".to_string(),
        format!("({HOSTILE}) bind UDP port 7: not in AllowedUdpServerPorts"),
        "hostile: bind UDP port 68 (granted, but DHCP's): denied (denied: outside what the manifest granted)"
            .to_string(),
        format!("({HOSTILE}) bind UDP port 68: the network server's own port (DHCP or DNS)"),
        format!("hostile: send a datagram to 10.0.2.3:53 (not listed): {denied}"),
        format!("({HOSTILE}) send to 10.0.2.3:53: {not_listed}"),
        "hostile: network: accept on socket 0, its UDP socket: denied (invalid argument)".to_string(),
        "hostile: network: send a datagram of 1473 bytes: denied (invalid argument)".to_string(),
        "hostile: network: claim a delivered datagram on a request no server knows: denied (invalid argument)"
            .to_string(),
        format!("({HOSTILE}) registered: may connect to none; may look up example.test; entries ignored: 0"),
        format!("hostile: connect to 10.0.2.2:8080 (not listed, not looked up): {denied}"),
        format!("({HOSTILE}) connect to 10.0.2.2:8080: {not_listed}"),
        format!("hostile: connect to 10.0.2.3:53 (not listed, not looked up): {denied}"),
        format!("hostile: look up unlisted.test (not listed): {denied}"),
        format!("({HOSTILE}) lookup of \"unlisted.test\": {not_listed}"),
        format!("hostile: look up example.test.unlisted.test (not listed): {denied}"),
        format!("hostile: look up test (not listed): {denied}"),
        "hostile: looked up example.test (listed): 10.0.2.2".to_string(),
        format!("hostile: connect to 10.0.2.3:8080 as example.test (not what it resolved to): {denied}"),
        format!("({HOSTILE}) connect to 10.0.2.3:8080: {not_listed}"),
        "hostile: network: send on socket 0, its UDP socket, as on a stream: denied (invalid argument)".to_string(),
        "hostile: network: register itself as another app (init's request): denied (permission denied)".to_string(),
        "hostile: network: point the network server at its own DNS server (init's request): denied (permission denied)"
            .to_string(),
        "hostile: network: look up a name of 254 bytes: denied (invalid argument)".to_string(),
        "init: app 'hostile' finished (exit 0)".to_string(),
    ]
}

/// Output that must never appear.
const FORBIDDEN: [&str; 4] = ["ALLOWED", "kernel panic", "app error", "could not be started"];

/// A TCP server on 127.0.0.1, in a thread: each connection goes to a
/// handler, which returns what it read.
struct Server {
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl Server {
    /// Listens on 127.0.0.1:`port` and hands each connection to `handler`
    /// (`what` and `why` name the server and what needs the port in an
    /// error); a clear error if the port is taken.
    fn start(port: u16, what: &str, why: &str, handler: fn(TcpStream) -> String) -> Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|err| {
            let taken = if err.kind() == ErrorKind::AddrInUse { " (something else listens there)" } else { "" };
            format!(
                "cannot listen on 127.0.0.1:{port}{taken} for the {what}: {err}. qemu:net needs that port: {why}, \
                 and QEMU's user network maps 10.0.2.2 to the host's 127.0.0.1. Stop what listens there \
                 (`ss -ltnp 'sport = :{port}'` names it) and run the test again"
            )
        })?;
        listener.set_nonblocking(true).map_err(|err| format!("cannot make the {what}'s socket non-blocking: {err}"))?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            thread::spawn(move || serve(&listener, &requests, &stop, handler))
        };
        Ok(Server { requests, stop, thread })
    }

    /// Stops the server; returns what each connection read.
    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        let _ = self.thread.join();
        let requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        requests.clone()
    }
}

/// Answers up to [`MAX_CONNECTIONS`] connections until `stop`.
fn serve(listener: &TcpListener, requests: &Mutex<Vec<String>>, stop: &AtomicBool, handler: fn(TcpStream) -> String) {
    let mut answered = 0;
    while !stop.load(Ordering::Acquire) && answered < MAX_CONNECTIONS {
        match listener.accept() {
            Ok((stream, _)) => {
                answered += 1;
                let request = handler(stream);
                requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(request);
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Sends back what comes until the peer finishes (at most 64 KiB); returns
/// what it echoed.
fn echo(mut stream: TcpStream) -> String {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(CONNECTION_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CONNECTION_TIMEOUT));
    let (mut echoed, mut chunk) = (Vec::new(), [0u8; 512]);
    while echoed.len() < 64 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(count) => {
                if stream.write_all(&chunk[..count]).is_err() {
                    break;
                }
                echoed.extend_from_slice(&chunk[..count]);
            }
        }
    }
    String::from_utf8_lossy(&echoed).into_owned()
}

/// Reads one request (up to its blank line, at most 4 KiB) and answers it
/// with [`BODY`]; returns what it read.
fn answer(mut stream: TcpStream) -> String {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(CONNECTION_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CONNECTION_TIMEOUT));
    let mut request = Vec::new();
    let mut chunk = [0u8; 512];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < 4096 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(count) => request.extend_from_slice(&chunk[..count]),
        }
    }
    let response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    String::from_utf8_lossy(&request).into_owned()
}

/// Sends back each datagram that comes to 127.0.0.1:[`UDP_ECHO_PORT`],
/// until `stop` (at most 64); returns what it echoed.
fn udp_echo(socket: &UdpSocket, stop: &AtomicBool) -> Vec<String> {
    let (mut echoed, mut buffer) = (Vec::new(), [0u8; 2048]);
    while !stop.load(Ordering::Acquire) && echoed.len() < 64 {
        if let Ok((count, from)) = socket.recv_from(&mut buffer) {
            let _ = socket.send_to(&buffer[..count], from);
            echoed.push(String::from_utf8_lossy(&buffer[..count]).into_owned());
        }
    }
    echoed
}

/// The UDP echo server on 127.0.0.1:[`UDP_ECHO_PORT`], in a thread.
fn start_udp_echo(stop: &Arc<AtomicBool>) -> Result<thread::JoinHandle<Vec<String>>> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, UDP_ECHO_PORT)).map_err(|err| {
        format!(
            "cannot bind UDP 127.0.0.1:{UDP_ECHO_PORT} for the UDP echo server: {err}. qemu:net needs that port: \
             netecho sends to 10.0.2.2:{UDP_ECHO_PORT}. Stop what has it (`ss -lunp 'sport = :{UDP_ECHO_PORT}'`)"
        )
    })?;
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|err| format!("cannot set the UDP echo server's timeout: {err}"))?;
    let stop = Arc::clone(stop);
    Ok(thread::spawn(move || udp_echo(&socket, &stop)))
}

/// A free UDP port on 127.0.0.1 (for a `--forward udp:` rule).
fn free_udp_port() -> Result<u16> {
    let socket =
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|err| format!("cannot find a free UDP port: {err}"))?;
    socket.local_addr().map(|address| address.port()).map_err(|err| format!("cannot read a UDP port: {err}"))
}

/// What the host client saw of `echoserver` through the forwarded ports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Forwarded {
    tcp: Option<String>,
    udp: Option<String>,
}

/// One TCP exchange with the guest's echo server through host port
/// `port`: the echo, if it came whole within 2 s.
fn tcp_exchange(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(FORWARDED).ok()?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 256];
    while got.len() < FORWARDED.len() {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(count) => got.extend_from_slice(&chunk[..count]),
        }
    }
    (got == FORWARDED).then(|| String::from_utf8_lossy(&got).into_owned())
}

/// One UDP exchange through host port `port`: the echo, if it came
/// within 1 s.
fn udp_exchange(port: u16) -> Option<String> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    socket.send_to(FORWARDED, (Ipv4Addr::LOCALHOST, port)).ok()?;
    let mut buffer = [0u8; 256];
    let (count, _) = socket.recv_from(&mut buffer).ok()?;
    (buffer[..count] == *FORWARDED).then(|| String::from_utf8_lossy(&buffer[..count]).into_owned())
}

/// The host client: tries both forwarded ports every 300 ms until each
/// echoed once or `stop` (the guest's server may not listen yet).
fn forward_client(tcp: u16, udp: u16, seen: &Mutex<Forwarded>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        let now = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if now.tcp.is_some() && now.udp.is_some() {
            return;
        }
        let tcp = if now.tcp.is_none() { tcp_exchange(tcp) } else { None };
        let udp = if now.udp.is_none() { udp_exchange(udp) } else { None };
        let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.tcp = seen.tcp.take().or(tcp);
        seen.udp = seen.udp.take().or(udp);
        drop(seen);
        thread::sleep(Duration::from_millis(300));
    }
}

/// Whether `output` shows every expected line and the apps' ends, and the
/// host client has had its echoes.
fn complete(output: &str, expected: &[String], forwarded: &Mutex<Forwarded>) -> bool {
    let seen = forwarded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    expected.iter().all(|line| output.contains(line.as_str()))
        && output.lines().any(|line| line.contains("hostile: ") && line.contains(" attempts, "))
        && seen.tcp.is_some()
        && seen.udp.is_some()
}

/// Runs the test (see the module docs) on the user image's `kernel`.
pub fn scenario(kernel: &Path) -> Result<()> {
    let http = Server::start(PORT, "HTTP server", "httpget fetches from example.test:8080", answer)?;
    let echoes = Server::start(ECHO_PORT, "TCP echo server", "netecho connects to 10.0.2.2:7007", echo)?;
    let stop = Arc::new(AtomicBool::new(false));
    let udp_echoes = start_udp_echo(&stop)?;
    let resolver = dns::start_dns(&[(NAME.0.to_string(), NAME.1)])?;
    let (tcp_port, udp_port) = (qemu::free_port()?, free_udp_port()?);
    let forwards = [
        Forward { protocol: Protocol::Tcp, host_port: tcp_port, guest_port: SERVER_PORT },
        Forward { protocol: Protocol::Udp, host_port: udp_port, guest_port: SERVER_PORT },
    ];
    let forwarded = Arc::new(Mutex::new(Forwarded::default()));
    let client = {
        let (forwarded, stop) = (Arc::clone(&forwarded), Arc::clone(&stop));
        thread::spawn(move || forward_client(tcp_port, udp_port, &forwarded, &stop))
    };
    let expected = expected(resolver.port());
    let append = resolver.boot_argument();
    let command = qemu::command_with_forwards(
        Image::User,
        kernel,
        Console::Captured,
        Some(&append),
        AppUart::Listen(0),
        &forwards,
    );
    let outcome = command.and_then(|command| {
        qemu::capture_until(command, Some(BOOT_TIMEOUT), |output| complete(output, &expected, &forwarded))
    });
    stop.store(true, Ordering::Release);
    let _ = client.join();
    let udp_echoed = udp_echoes.join().unwrap_or_default();
    let (requests, echoed, asked) = (http.finish(), echoes.finish(), resolver.asked());
    let forwarded = forwarded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    drop(resolver);
    let output = outcome?.output;
    let mut reasons = Vec::new();
    match output.lines().find(|line| line.contains("hostile: ") && line.contains(" attempts, ")) {
        Some(line) if line.contains(" attempts, 0 allowed") => {}
        Some(line) => reasons.push(format!("hostile was allowed something: `{}`", line.trim_end())),
        None => reasons.push("hostile never printed its tally".to_string()),
    }
    // httpget's one request, and no other (every other attempt was denied
    // before it left the guest).
    match requests.as_slice() {
        [request] if request.starts_with("GET / HTTP/1.0\r\n") && request.contains("\r\nHost: example.test\r\n") => {}
        [] => reasons.push(format!("the HTTP server on 127.0.0.1:{PORT} saw no request")),
        other => reasons.push(format!("the HTTP server expected httpget's one GET, and saw {other:?}")),
    }
    let lines = ["hello from netecho\n", "a second line\n", "and a third\n"];
    if echoed != [lines.concat()] {
        reasons.push(format!("the echo server expected netecho's three lines on one connection, and saw {echoed:?}"));
    }
    // Each datagram at least once (a lost one is sent again), in order,
    // then one from each of its two sockets.
    let mut deduplicated = udp_echoed.clone();
    deduplicated.dedup();
    let datagrams = [&lines[..], &["to the first socket", "to the second socket, a longer datagram", "once"]].concat();
    if deduplicated != datagrams {
        reasons.push(format!("the UDP echo server expected netecho's six datagrams, and saw {udp_echoed:?}"));
    }
    if forwarded.tcp.is_none() || forwarded.udp.is_none() {
        reasons.push(format!(
            "the host client expected echoserver's echo through the forwarded TCP port {tcp_port} and UDP port \
             {udp_port}, and saw {forwarded:?}"
        ));
    }
    // Only the listed name was ever asked for (httpget's and hostile's
    // lookups); unlisted names were refused before any query.
    if asked.is_empty() || asked.iter().any(|name| name != NAME.0) {
        reasons.push(format!("the DNS server expected queries for {} only, and was asked {asked:?}", NAME.0));
    }
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    judge(&output, "net.log", &expected, &FORBIDDEN, reasons)
}

/// Lines the `qemu:net-handoff` boot must show.
const HANDOFF_EXPECTED: [&str; 10] = [
    "netpass: the owner's line came back: true",
    "netpass: the owner made a capability for its socket and hands it over",
    "netpass: the taker holds Endpoint with",
    "netpass: the taker's line came back through the owner's socket: true",
    "netpass: the taker connects elsewhere with it: permission denied",
    "netpass: the taker sends without a frame: invalid argument",
    "netpass: the taker's datagram came back through the owner's UDP socket: true",
    "netpass: the owner closed its socket",
    "netpass: after the owner's close the taker's capability: stale handle",
    "init: scenario net-handoff passed",
];

/// The `qemu:net-handoff` test: a socket handed to another process as a
/// capability (docs/network.md), over one boot of the test image
/// (`scenario=net-handoff`) with the TCP echo server on 127.0.0.1:7007.
/// `netpass` (giver) connects to it as a registered network client, has a
/// line echoed, makes a capability for the socket and hands it to
/// `netpass` (taker), which holds nothing else of the network: the taker
/// has its own line echoed through it, with its own frame, and is refused
/// a connection of its own with it; after the giver closes the socket the
/// taker's capability is gone. The echo server must have seen both lines
/// on the one connection.
pub fn handoff_scenario(kernel: &Path) -> Result<()> {
    let echoes = Server::start(ECHO_PORT, "TCP echo server", "netpass connects to 10.0.2.2:7007", echo)?;
    let stop = Arc::new(AtomicBool::new(false));
    let udp_echoes = start_udp_echo(&stop)?;
    let command = qemu::command(Image::Test, kernel, Console::Captured, Some("scenario=net-handoff"));
    let outcome = command.and_then(|command| {
        qemu::capture_until(command, Some(BOOT_TIMEOUT), |output| {
            output.contains("init: scenario net-handoff passed") || output.contains("init: scenario net-handoff FAILED")
        })
    });
    stop.store(true, Ordering::Release);
    let udp_echoed = udp_echoes.join().unwrap_or_default();
    let echoed = echoes.finish();
    let output = outcome?.output;
    let mut reasons = Vec::new();
    if udp_echoed != ["the taker's datagram"] {
        reasons.push(format!("the UDP echo server expected the taker's one datagram, and saw {udp_echoed:?}"));
    }
    if echoed != ["the owner's line\nthe taker's line\n"] {
        reasons.push(format!("the echo server expected both lines on one connection, and saw {echoed:?}"));
    }
    judge(&output, "net-handoff.log", &HANDOFF_EXPECTED, &["ALLOWED", "kernel panic", "netd: panic"], reasons)
}

/// Writes a network test's console `output` to `target/tessera/test-logs/<log>`
/// and checks it: every `expected` line there, no `forbidden` one, and
/// none of the test's own `reasons`. The error lists what failed and the
/// output.
pub fn judge(output: &str, log: &str, expected: &[&str], forbidden: &[&str], mut reasons: Vec<String>) -> Result<()> {
    let logs = crate::image::tessera_dir().join("test-logs");
    let log = logs.join(log);
    if let Err(err) = std::fs::create_dir_all(&logs).and_then(|()| std::fs::write(&log, output)) {
        reasons.push(format!("cannot write the log {}: {err}", crate::show(&log)));
    }
    for line in expected {
        if !output.contains(line) {
            reasons.push(format!("missing `{line}`"));
        }
    }
    for line in forbidden {
        if output.contains(line) {
            reasons.push(format!("forbidden output `{line}` appeared"));
        }
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let mut details = String::new();
    for reason in reasons {
        details.push_str(&format!("reason: {reason}\n"));
    }
    details.push_str(&format!("console output (also in {}):\n", crate::show(&log)));
    details.push_str(&crate::indent(output));
    Err(details)
}
