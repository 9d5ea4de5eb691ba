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
//! - `tcpecho` (`AllowedConnections: ["10.0.2.2"]`, a literal) has three
//!   lines echoed by the echo server;
//! - `hostile` (`AllowedConnections: ["example.test"]`) is denied
//!   10.0.2.2 before it looked the name up (an address learned another
//!   way), unlisted names (and the DNS server must never be asked for
//!   them), an address the listed name did not resolve to, socket numbers
//!   it never opened and init's requests, and ends with 0 of its attempts
//!   allowed.
//!
//! Each server answers a bounded number of connections, each with read
//! and write timeouts, and stops when the boot does.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::dns;
use crate::image::Image;
use crate::qemu::{self, Console};
use crate::Result;

/// The host port `httpget` fetches from (example.test:8080 in the guest).
pub const PORT: u16 = 8080;
/// The host port `tcpecho` connects to (10.0.2.2:7007 in the guest).
pub const ECHO_PORT: u16 = 7007;
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
/// `tcpecho`'s ComponentId (userland/apps/tcpecho/app_manifest.json).
const TCPECHO: &str = "93ec7aba-1f88-4b5a-96fe-e90fceabb22a";

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
        format!("({TCPECHO}) registered: may connect to 10.0.2.2; may look up none; entries ignored: 0"),
        format!("tcpecho: 3 lines echoed by 10.0.2.2:{ECHO_PORT}"),
        "init: app 'tcpecho' finished (exit 0)".to_string(),
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
        "hostile: network: send on socket 0, which it never opened: denied (invalid argument)".to_string(),
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

/// Whether `output` shows every expected line and the apps' ends.
fn complete(output: &str, expected: &[String]) -> bool {
    expected.iter().all(|line| output.contains(line.as_str()))
        && output.lines().any(|line| line.contains("hostile: ") && line.contains(" attempts, "))
}

/// Runs the test (see the module docs) on the user image's `kernel`.
pub fn scenario(kernel: &Path) -> Result<()> {
    let http = Server::start(PORT, "HTTP server", "httpget fetches from example.test:8080", answer)?;
    let echoes = Server::start(ECHO_PORT, "TCP echo server", "tcpecho connects to 10.0.2.2:7007", echo)?;
    let resolver = dns::start_dns(&[(NAME.0.to_string(), NAME.1)])?;
    let expected = expected(resolver.port());
    let append = resolver.boot_argument();
    let command = qemu::command(Image::User, kernel, Console::Captured, Some(&append));
    let outcome = command
        .and_then(|command| qemu::capture_until(command, Some(BOOT_TIMEOUT), |output| complete(output, &expected)));
    let (requests, echoed, asked) = (http.finish(), echoes.finish(), resolver.asked());
    drop(resolver);
    let output = outcome?.output;
    let log = crate::image::tessera_dir().join("test-logs").join("net.log");
    let mut reasons = Vec::new();
    if let Err(err) = std::fs::create_dir_all(crate::image::tessera_dir().join("test-logs"))
        .and_then(|()| std::fs::write(&log, &output))
    {
        reasons.push(format!("cannot write the log {}: {err}", crate::show(&log)));
    }
    for line in &expected {
        if !output.contains(line.as_str()) {
            reasons.push(format!("missing `{line}`"));
        }
    }
    for forbidden in FORBIDDEN {
        if output.contains(forbidden) {
            reasons.push(format!("forbidden output `{forbidden}` appeared"));
        }
    }
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
    let lines = "hello from tcpecho\na second line\nand a third\n";
    if echoed != [lines] {
        reasons.push(format!("the echo server expected tcpecho's three lines on one connection, and saw {echoed:?}"));
    }
    // Only the listed name was ever asked for (httpget's and hostile's
    // lookups); unlisted names were refused before any query.
    if asked.is_empty() || asked.iter().any(|name| name != NAME.0) {
        reasons.push(format!("the DNS server expected queries for {} only, and was asked {asked:?}", NAME.0));
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let mut details = String::new();
    for reason in reasons {
        details.push_str(&format!("reason: {reason}\n"));
    }
    details.push_str(&format!("console output (also in {}):\n", crate::show(&log)));
    details.push_str(&crate::indent(&output));
    Err(details)
}
