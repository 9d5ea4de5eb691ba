//! Test fixture for the `net-stress` scenario: an app that takes all the
//! network it can and gives nothing back. It opens as many TCP streams as
//! its budget allows (4) to the host's source (10.0.2.2:7010, which sends
//! without end), reads none of them, so their receive buffers fill and
//! TCP's window stops the source, and asks for one more stream and a UDP
//! socket (`BudgetExceeded` once it has 4). Then it holds everything until
//! it is ended. Another app's transfer must not suffer for it.
//! `test-solo-net-hog-2` is the same code: beside the first hog it gets
//! fewer streams, since the server keeps a socket for each registered app
//! that has none.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::{Ipv4Addr, TcpStream, UdpSocket};
use tessera_sdk::time::{sleep, Duration};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// Which hog this build is (`test-solo-net-hog-2` is the same code).
const NAME: &str = env!("CARGO_PKG_NAME");

/// The host's source.
const SOURCE: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 2), 7010);

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let (host, port) = SOURCE;
    // As many as the server gives: its budget (4), or fewer when the
    // others' promised sockets are all that is left.
    let open = || TcpStream::connect_timeout(&net, host, port, Duration::from_secs(10));
    let mut streams = [None, None, None, None];
    let mut count = 0;
    for slot in &mut streams {
        match open() {
            Ok(stream) => {
                *slot = Some(stream);
                count += 1;
            }
            Err(Error::BudgetExceeded) => break,
            Err(error) => return Err(error),
        }
    }
    log!("{}: {} streams open to {}:{}; reading none of them", NAME, count, host, port);
    match TcpStream::connect_timeout(&net, host, port, Duration::from_secs(10)) {
        Err(Error::BudgetExceeded) => log!("{}: one more stream: budget exceeded", NAME),
        Err(error) => log!("{}: one more stream: {}", NAME, error),
        Ok(_) => log!("{}: one more stream: ALLOWED beyond the budget", NAME),
    }
    match UdpSocket::bind(&net, 0) {
        Err(Error::BudgetExceeded) if count == 4 => log!("{}: a UDP socket besides: budget exceeded", NAME),
        Err(error) => log!("{}: a UDP socket besides: {}", NAME, error),
        Ok(socket) if count < 4 => {
            log!("{}: a UDP socket besides (within its budget of 4)", NAME);
            drop(socket);
        }
        Ok(_) => log!("{}: a UDP socket besides: ALLOWED beyond the budget", NAME),
    }
    loop {
        sleep(Duration::from_secs(1));
        // Still held: the streams live as long as the loop.
        let _ = &streams;
    }
}
