//! TCP echo client: connects to port 7007 of 10.0.2.2, the IPv4 literal
//! its manifest's `AllowedConnections` lists (QEMU's user network maps it
//! to the host's 127.0.0.1), sends three lines and checks that each comes
//! back as it went: `tcpecho: 3 lines echoed by 10.0.2.2:7007`. With
//! nothing listening it logs why (`connection refused`) and exits 0; it
//! exits 1 if an echo came back wrong.
//!
//! Try it: `ncat -l -k 127.0.0.1 7007 --exec /bin/cat` (or any echo
//! server on that port) on the host, then `cargo xtask qemu`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::{Ipv4Addr, TcpStream};
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The echo server (its address is a literal in the manifest).
const SERVER: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 2), 7007);
/// What it sends, a line at a time.
const LINES: [&[u8]; 3] = [b"hello from tcpecho\n", b"a second line\n", b"and a third\n"];

/// Sends each line and reads it back; the lines echoed right, or the
/// first error.
fn echo(stream: &mut TcpStream) -> Result<usize, Error> {
    let mut buffer = [0u8; 64];
    for (index, line) in LINES.iter().enumerate() {
        stream.write_all(line)?;
        let mut got = 0;
        while got < line.len() {
            let count = stream.read(&mut buffer[got..line.len()])?;
            if count == 0 {
                log!("tcpecho: the server closed after {} of {} lines", index, LINES.len());
                return Ok(index);
            }
            got += count;
        }
        if &buffer[..line.len()] != *line {
            log!("tcpecho: line {} came back changed", index + 1);
            return Err(Error::InvalidArgument);
        }
    }
    Ok(LINES.len())
}

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let (address, port) = SERVER;
    let mut stream = match TcpStream::connect(&net, address, port) {
        Ok(stream) => stream,
        Err(error) => {
            log!("tcpecho: {}:{} not reached ({})", address, port, error);
            return Ok(());
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream.set_write_timeout(Some(Duration::from_secs(5)));
    let echoed = echo(&mut stream)?;
    stream.close()?;
    log!("tcpecho: {} lines echoed by {}:{}", echoed, address, port);
    Ok(())
}
