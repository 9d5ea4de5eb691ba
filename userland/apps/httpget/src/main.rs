//! HTTP GET: fetches `/` from port 8080 of `example.test`, the one host
//! its manifest's `AllowedConnections` lists, and logs the status line:
//! `httpget: HTTP/1.0 200 OK`. The network server looks the name up (the
//! app never names an address); an address it found is the only one the
//! app may then connect to. Without an answer it logs why (`no such host`,
//! `connection refused`). Then it tries 10.0.2.3:80, which its manifest
//! does not list, and logs the denial. It exits 0 either way; it exits 1
//! only if the unlisted host was reached.
//!
//! Try it: `python3 -m http.server 8080 --bind 127.0.0.1` on the host,
//! then `cargo xtask qemu --resolve example.test=10.0.2.2` (QEMU's user
//! network maps 10.0.2.2 to the host's 127.0.0.1).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use embedded_io::{Read, Write};
use tessera_sdk::net::TcpStream;
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The host and port it fetches from (the name is listed in its manifest).
const SERVER: (&str, u16) = ("example.test", 8080);
/// A host its manifest does not list (QEMU's DNS forwarder).
const UNLISTED: ([u8; 4], u16) = ([10, 0, 2, 3], 80);
/// What it asks.
const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: example.test\r\n\r\n";
/// The longest status line it logs whole.
const STATUS_LINE: usize = 128;

/// Sends the request and reads the answer to its end; returns the status
/// line (its first line, up to `STATUS_LINE` bytes) and how many bytes
/// came in all. Written against `embedded_io`, as a `no_std` HTTP client
/// would be.
fn get<S: Read + Write>(stream: &mut S, line: &mut [u8; STATUS_LINE]) -> Result<(usize, usize), S::Error> {
    stream.write_all(REQUEST)?;
    stream.flush()?;
    let (mut line_length, mut line_done, mut total) = (0, false, 0);
    let mut buffer = [0u8; 512];
    loop {
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            return Ok((line_length, total));
        }
        total += count;
        for &byte in &buffer[..count] {
            if line_done || byte == b'\r' || byte == b'\n' {
                line_done |= line_length > 0;
                continue;
            }
            if line_length < STATUS_LINE {
                line[line_length] = byte;
                line_length += 1;
            }
        }
    }
}

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let (host, port) = SERVER;
    let fetched = TcpStream::connect(&net, host, port).and_then(|mut stream| {
        stream.set_read_timeout(Some(Duration::from_secs(5)));
        stream.set_write_timeout(Some(Duration::from_secs(5)));
        let mut line = [0u8; STATUS_LINE];
        let (length, total) = get(&mut stream, &mut line)?;
        stream.close()?;
        Ok((line, length, total))
    });
    match fetched {
        Ok((line, length, total)) => {
            log!("httpget: {}", core::str::from_utf8(&line[..length]).unwrap_or("(a status line not in UTF-8)"));
            log!("httpget: {} bytes from {}:{}", total, host, port);
        }
        Err(error) => log!("httpget: {}:{} not reached ({})", host, port, error),
    }

    let ([a, b, c, d], port) = UNLISTED;
    match TcpStream::connect(&net, UNLISTED.0, port) {
        Err(error @ Error::Denied) => {
            log!("httpget: {}.{}.{}.{}:{} denied ({})", a, b, c, d, port, error);
            Ok(())
        }
        Err(error) => {
            log!("httpget: {}.{}.{}.{}:{} not reached, but not denied either ({})", a, b, c, d, port, error);
            Ok(())
        }
        Ok(_) => {
            log!("httpget: {}.{}.{}.{}:{} ALLOWED, though the manifest does not list it", a, b, c, d, port);
            Err(Error::Denied)
        }
    }
}
