//! The `qemu:net` test: apps on the network through the network server
//! (docs/network.md), over one boot of the user image with an HTTP server
//! on the host.
//!
//! The host serves HTTP on 127.0.0.1:8080 ([`PORT`]): QEMU's user network
//! maps the guest's 10.0.2.2 to the host's 127.0.0.1. The user image's
//! sample apps then show, in one boot:
//!
//! - `httpget` (`AllowedConnections: ["10.0.2.2"]`) fetches `/` from
//!   10.0.2.2:8080 and logs the status line, `httpget: HTTP/1.0 200 OK`;
//!   the server here must have seen its request;
//! - `httpget` is denied 10.0.2.3:80, which its manifest does not list,
//!   and the network server logs that denial naming the app;
//! - `hostile` (`AllowedConnections: ["example.com"]`: a name, which
//!   allows nothing yet) is denied every address it tries, and every socket
//!   number it never opened, and ends with 0 of its attempts allowed.
//!
//! The server answers at most [`MAX_CONNECTIONS`] connections, each with
//! read and write timeouts, and stops when the boot does.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::image::Image;
use crate::qemu::{self, Console};
use crate::Result;

/// The host port `httpget` fetches from (10.0.2.2:8080 in the guest).
pub const PORT: u16 = 8080;
/// How long the boot may take to show everything.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections the server answers.
const MAX_CONNECTIONS: usize = 4;
/// How long the server waits on one connection's reads and writes.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The page it serves.
const BODY: &str = "hello from the qemu:net test\n";
/// `httpget`'s ComponentId (userland/apps/httpget/app_manifest.json).
const HTTPGET: &str = "1b7d398b-aeb0-4038-af3c-227519bdd26e";
/// `hostile`'s ComponentId (userland/apps/hostile/app_manifest.json).
const HOSTILE: &str = "2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd";

/// Lines the console must show (each a substring of one line).
fn expected() -> Vec<String> {
    let denied = "denied (denied: outside what the manifest granted)";
    vec![
        format!("({HTTPGET}) registered: may connect to 10.0.2.2; host names not honoured yet: 0"),
        "httpget: HTTP/1.0 200 OK".to_string(),
        format!("httpget: 10.0.2.3:80 {denied}"),
        format!("({HTTPGET}) connect to 10.0.2.3:80: not in AllowedConnections"),
        "init: app 'httpget' finished (exit 0)".to_string(),
        format!("({HOSTILE}) registered: may connect to none; host names not honoured yet: 1"),
        format!("hostile: connect to 10.0.2.2:8080 (not listed): {denied}"),
        format!("({HOSTILE}) connect to 10.0.2.2:8080: not in AllowedConnections"),
        format!("hostile: connect to 10.0.2.3:53 (not listed): {denied}"),
        "hostile: network: send on socket 0, which it never opened: denied (invalid argument)".to_string(),
        "hostile: network: register itself as another app (init's request): denied (permission denied)".to_string(),
        "init: app 'hostile' finished (exit 0)".to_string(),
    ]
}

/// Output that must never appear.
const FORBIDDEN: [&str; 4] = ["ALLOWED", "kernel panic", "app error", "could not be started"];

/// The HTTP server on 127.0.0.1:[`PORT`], in a thread.
struct Server {
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl Server {
    /// Listens on 127.0.0.1:[`PORT`]; a clear error if the port is taken.
    fn start() -> Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, PORT)).map_err(|err| {
            let taken = if err.kind() == ErrorKind::AddrInUse { " (something else listens there)" } else { "" };
            format!(
                "cannot listen on 127.0.0.1:{PORT}{taken}: {err}. qemu:net needs that port: httpget's manifest \
                 allows 10.0.2.2, which QEMU's user network maps to the host's 127.0.0.1, and it fetches from port \
                 {PORT}. Stop what listens there (`ss -ltnp 'sport = :{PORT}'` names it) and run the test again"
            )
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|err| format!("cannot make the HTTP server's socket non-blocking: {err}"))?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            thread::spawn(move || serve(&listener, &requests, &stop))
        };
        Ok(Server { requests, stop, thread })
    }

    /// Stops the server; returns the requests it saw.
    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        let _ = self.thread.join();
        let requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        requests.clone()
    }
}

/// Answers up to [`MAX_CONNECTIONS`] connections until `stop`.
fn serve(listener: &TcpListener, requests: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let mut answered = 0;
    while !stop.load(Ordering::Acquire) && answered < MAX_CONNECTIONS {
        match listener.accept() {
            Ok((stream, _)) => {
                answered += 1;
                let request = answer(stream);
                requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(request);
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
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

/// Whether `output` shows every expected line and both apps' ends.
fn complete(output: &str, expected: &[String]) -> bool {
    expected.iter().all(|line| output.contains(line.as_str()))
        && output.lines().any(|line| line.contains("hostile: ") && line.contains(" attempts, "))
}

/// Runs the test (see the module docs) on the user image's `kernel`.
pub fn scenario(kernel: &Path) -> Result<()> {
    let server = Server::start()?;
    let expected = expected();
    let command = qemu::command(Image::User, kernel, Console::Captured, None);
    let outcome = command
        .and_then(|command| qemu::capture_until(command, Some(BOOT_TIMEOUT), |output| complete(output, &expected)));
    let requests = server.finish();
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
