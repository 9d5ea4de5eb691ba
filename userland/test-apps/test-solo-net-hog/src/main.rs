//! Test fixture for the `net-stress` scenario: an app that takes all the
//! network it can and gives nothing back. It opens as many TCP streams as
//! its budget allows (4) to the host's source (10.0.2.2:7010, which sends
//! without end), reads none of them, so their receive buffers fill and
//! TCP's window stops the source, and asks for a fifth stream and a UDP
//! socket (each must be `BudgetExceeded`). Then it holds everything until
//! it is ended. Another app's transfer must not suffer for it.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::{Ipv4Addr, TcpStream, UdpSocket};
use tessera_sdk::time::{sleep, Duration};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The host's source.
const SOURCE: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 2), 7010);

fn main(app: App) -> Result<(), Error> {
    let net = app.net()?;
    let (host, port) = SOURCE;
    let open = |_| TcpStream::connect_timeout(&net, host, port, Duration::from_secs(10));
    let streams = [open(0)?, open(1)?, open(2)?, open(3)?];
    log!("test-solo-net-hog: {} streams open to {}:{}; reading none of them", streams.len(), host, port);
    match TcpStream::connect_timeout(&net, host, port, Duration::from_secs(10)) {
        Err(Error::BudgetExceeded) => log!("test-solo-net-hog: a fifth stream: budget exceeded"),
        Err(error) => log!("test-solo-net-hog: a fifth stream: {}", error),
        Ok(_) => log!("test-solo-net-hog: a fifth stream: ALLOWED beyond the budget"),
    }
    match UdpSocket::bind(&net, 0) {
        Err(Error::BudgetExceeded) => log!("test-solo-net-hog: a UDP socket besides: budget exceeded"),
        Err(error) => log!("test-solo-net-hog: a UDP socket besides: {}", error),
        Ok(_) => log!("test-solo-net-hog: a UDP socket besides: ALLOWED beyond the budget"),
    }
    loop {
        sleep(Duration::from_secs(1));
        // Still held: the streams live as long as the loop.
        let _ = &streams;
    }
}
