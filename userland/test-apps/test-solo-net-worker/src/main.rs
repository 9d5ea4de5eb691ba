//! Test fixture for the `net-stress` scenario: the app whose transfer must
//! not suffer. It sends 4 MiB to the host's sink (10.0.2.2:7009) and waits
//! for its one-byte answer, timing it, twice: first alone (`init` starts
//! it before the others), then, from [`SECOND_AT`] after its start,
//! beside `test-solo-net-hog` (every socket of its budget open, no reads),
//! `test-solo-net-dier` (dying mid-transfer, restarted) and `test-solo-net-garbage`.
//! It logs both times and whether the second stayed within [`SLACK`] times
//! the first (`at full speed`), else `SLOWED`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec;

use tessera_sdk::net::{Ipv4Addr, Net, TcpStream};
use tessera_sdk::time::{sleep_until, Duration, Instant};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The host's sink (it answers `k` after 4 MiB).
const SINK: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 2), 7009);
/// The host's accepting server's port (it closes each connection).
const ACCEPTING_PORT: u16 = 7011;
/// Bytes of each transfer.
const BYTES: usize = 4 * 1024 * 1024;
/// When the second transfer starts, after the app's start.
const SECOND_AT: Duration = Duration::from_millis(6200);
/// How many times longer the second transfer may take.
const SLACK: u32 = 3;

/// One transfer: its time.
fn transfer(net: &Net) -> Result<Duration, Error> {
    let (host, port) = SINK;
    let start = Instant::now();
    let mut stream = TcpStream::connect_timeout(net, host, port, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)));
    stream.set_write_timeout(Some(Duration::from_secs(60)));
    let chunk = vec![0x3c_u8; 16 * 1024];
    for _ in 0..BYTES / chunk.len() {
        stream.write_all(&chunk)?;
    }
    let mut answer = [0u8; 1];
    if stream.read(&mut answer)? != 1 || answer[0] != b'k' {
        log!("test-solo-net-worker: the sink did not confirm the {} bytes", BYTES);
        return Err(Error::InvalidArgument);
    }
    stream.close()?;
    Ok(start.elapsed())
}

fn main(app: App) -> Result<(), Error> {
    let started = Instant::now();
    let net = app.net()?;
    // Not timed: the first connection waits for the DHCP lease and ARP.
    let (host, _) = SINK;
    TcpStream::connect_timeout(&net, host, ACCEPTING_PORT, Duration::from_secs(10))?.close()?;
    let alone = transfer(&net)?;
    log!("test-solo-net-worker: {} bytes alone in {} ms", BYTES, alone.as_millis());
    sleep_until(started.after(SECOND_AT));
    let beside = transfer(&net)?;
    let verdict = if beside <= alone.max(Duration::from_millis(1)) * SLACK { "at full speed" } else { "SLOWED" };
    log!(
        "test-solo-net-worker: {} bytes beside the hog, the dier and the garbage in {} ms: {} (within {}x of alone)",
        BYTES,
        beside.as_millis(),
        verdict,
        SLACK
    );
    Ok(())
}
