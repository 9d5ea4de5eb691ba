//! Benchmark fixture: the network through `tessera_sdk::net`, against the
//! servers `cargo xtask bench` runs on the host's 127.0.0.1 (10.0.2.2 to
//! the guest, the literal its manifest lists). Each figure is the
//! difference of the PMU's retired-instructions counter around SDK calls:
//! every instruction the guest runs meanwhile, the app's, the network
//! server's (`netd` polls the device and the stack), the kernel's, but not
//! the time the processor sleeps (the cycle counter would count that too
//! under `-icount`: the SDK and `netd` sleep between polls). The host side
//! of QEMU's user network costs no guest instructions.
//!
//! - `tcp_connect_instructions`: `TcpStream::connect` to the accepting
//!   server ([`ACCEPT_PORT`], which closes each connection) and `close`,
//!   the median of [`ROUNDS`];
//! - `tcp_bulk_send_instructions_per_byte`: [`BULK_BYTES`] (4 MiB) written
//!   to the sink ([`SINK_PORT`]) in 16 KiB writes, until the sink's
//!   one-byte answer that it has them all, divided by the bytes (rounded;
//!   `tcp_bulk_send_instructions` is the whole);
//! - `tcp_bulk_receive_instructions_per_byte`: [`BULK_BYTES`] read from
//!   the source ([`SOURCE_PORT`]) until it closes (`..._instructions`
//!   the whole);
//! - `udp_roundtrip_instructions`: a 64-byte datagram to the UDP echo
//!   server ([`UDP_PORT`]) and its echo back, the median of [`ROUNDS`].
//!
//! It checks what it moved (the sink's answer, the count and checksum of
//! received bytes, each echo) and fails if anything is off.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec;

use tessera_net_core::checksum;
use tessera_rt::{instructions as cycles, start_instruction_counter};
use tessera_sdk::net::{Ipv4Addr, Net, TcpStream, UdpSocket};
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The host, as QEMU's user network shows it.
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The host's UDP echo server.
pub const UDP_PORT: u16 = 7008;
/// The host's sink: reads [`BULK_BYTES`], then answers one byte.
pub const SINK_PORT: u16 = 7009;
/// The host's source: sends [`BULK_BYTES`] (byte `i` is `i % 251`), then
/// closes.
pub const SOURCE_PORT: u16 = 7010;
/// The host's accepting server: takes each connection and closes it.
pub const ACCEPT_PORT: u16 = 7011;
/// Bytes of each bulk transfer.
pub const BULK_BYTES: usize = 4 * 1024 * 1024;
/// Bytes of one write or read.
const CHUNK: usize = 16 * 1024;
/// Measurements of the short operations (the median is reported).
const ROUNDS: usize = 9;
/// Bytes of a UDP round trip's datagram.
const DATAGRAM: usize = 64;

/// The median of `values`.
fn median(values: &mut [u32]) -> u32 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// Instructions per byte, rounded.
fn per_byte(instructions: u32) -> u32 {
    ((u64::from(instructions) + BULK_BYTES as u64 / 2) / BULK_BYTES as u64) as u32
}

fn connect(net: &Net, port: u16) -> Result<TcpStream, Error> {
    let mut stream = TcpStream::connect_timeout(net, HOST, port, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)));
    stream.set_write_timeout(Some(Duration::from_secs(30)));
    Ok(stream)
}

fn connects(net: &Net) -> Result<u32, Error> {
    let mut elapsed = [0; ROUNDS];
    for slot in &mut elapsed {
        let start = cycles();
        let stream = TcpStream::connect_timeout(net, HOST, ACCEPT_PORT, Duration::from_secs(10))?;
        stream.close()?;
        *slot = cycles().wrapping_sub(start);
    }
    Ok(median(&mut elapsed))
}

fn bulk_send(net: &Net) -> Result<u32, Error> {
    let chunk = vec![0x5a_u8; CHUNK];
    let mut stream = connect(net, SINK_PORT)?;
    let start = cycles();
    for _ in 0..BULK_BYTES / CHUNK {
        stream.write_all(&chunk)?;
    }
    let mut answer = [0u8; 1];
    let got = stream.read(&mut answer)?;
    let elapsed = cycles().wrapping_sub(start);
    stream.close()?;
    if got != 1 || answer[0] != b'k' {
        log!("test-bench-net: the sink did not confirm the {} bytes", BULK_BYTES);
        return Err(Error::InvalidArgument);
    }
    Ok(elapsed)
}

/// The Internet checksum's running sum of a stream, fed in pieces: a
/// piece that starts at an odd offset of the stream has its sum's bytes
/// swapped.
#[derive(Default)]
struct StreamSum {
    sum: u32,
    bytes: usize,
}

impl StreamSum {
    fn add(&mut self, piece: &[u8]) {
        // `sum` is folded to 16 bits already.
        let sum = checksum::sum(piece);
        let sum = if self.bytes.is_multiple_of(2) { sum } else { u32::from((sum as u16).swap_bytes()) };
        self.sum = self.sum.wrapping_add(sum);
        // Fold now and then so it cannot overflow.
        self.sum = (self.sum & 0xffff) + (self.sum >> 16);
        self.bytes += piece.len();
    }

    fn value(&self) -> u16 {
        checksum::finish(self.sum)
    }
}

/// The checksum of the source's stream, [`BULK_BYTES`] of `i % 251`
/// (computed after the measurement).
fn expected_stream_sum(buffer: &mut [u8]) -> StreamSum {
    let mut expected = StreamSum::default();
    while expected.bytes < BULK_BYTES {
        let len = buffer.len().min(BULK_BYTES - expected.bytes);
        let offset = expected.bytes;
        for (index, byte) in buffer[..len].iter_mut().enumerate() {
            *byte = ((offset + index) % 251) as u8;
        }
        expected.add(&buffer[..len]);
    }
    expected
}

/// Reads the source's [`BULK_BYTES`]. The bytes are checked inside the
/// measured loop, so the check is the cheap one: the first read byte for
/// byte, the whole stream by its Internet checksum (about one instruction
/// a byte) and its length. (A byte-for-byte check of every byte cost
/// about 12 instructions a byte, more than the network server.)
fn bulk_receive(net: &Net) -> Result<u32, Error> {
    let mut buffer = vec![0u8; CHUNK];
    let mut stream = connect(net, SOURCE_PORT)?;
    let (start, mut received, mut first_good) = (cycles(), StreamSum::default(), None);
    loop {
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        if first_good.is_none() {
            first_good = Some(buffer[..count].iter().enumerate().all(|(index, &byte)| byte == (index % 251) as u8));
        }
        received.add(&buffer[..count]);
    }
    let elapsed = cycles().wrapping_sub(start);
    stream.close()?;
    let expected = expected_stream_sum(&mut buffer);
    let good = first_good == Some(true) && received.value() == expected.value();
    if received.bytes != BULK_BYTES || !good {
        log!("test-bench-net: the source sent {} bytes (pattern {}), not {}", received.bytes, good, BULK_BYTES);
        return Err(Error::InvalidArgument);
    }
    Ok(elapsed)
}

fn udp_round_trips(net: &Net) -> Result<u32, Error> {
    let mut socket = UdpSocket::bind(net, 0)?;
    socket.set_read_timeout(Some(Duration::from_secs(2)));
    let mut elapsed = [0; ROUNDS];
    let (mut payload, mut echo) = ([0u8; DATAGRAM], [0u8; DATAGRAM]);
    // One round trip first: the host's address is then in the stack's
    // ARP cache, as it is for the others.
    socket.send_to(&payload, HOST, UDP_PORT)?;
    socket.recv_from(&mut echo)?;
    for (round, slot) in elapsed.iter_mut().enumerate() {
        payload.fill(round as u8);
        let start = cycles();
        socket.send_to(&payload, HOST, UDP_PORT)?;
        let (count, _) = socket.recv_from(&mut echo)?;
        *slot = cycles().wrapping_sub(start);
        if echo[..count] != payload {
            log!("test-bench-net: UDP round trip {} came back changed", round);
            return Err(Error::InvalidArgument);
        }
    }
    Ok(median(&mut elapsed))
}

fn main(app: App) -> Result<(), Error> {
    start_instruction_counter();
    let net = app.net()?;
    // Not measured: the first connection waits for the DHCP lease and ARP.
    connect(&net, ACCEPT_PORT)?.close()?;
    let connect = connects(&net)?;
    let send = bulk_send(&net)?;
    let receive = bulk_receive(&net)?;
    let udp = udp_round_trips(&net)?;
    log!("BENCH tcp_connect_instructions {}", connect);
    log!("BENCH tcp_bulk_send_instructions {}", send);
    log!("BENCH tcp_bulk_send_instructions_per_byte {}", per_byte(send));
    log!("BENCH tcp_bulk_receive_instructions {}", receive);
    log!("BENCH tcp_bulk_receive_instructions_per_byte {}", per_byte(receive));
    log!("BENCH udp_roundtrip_instructions {}", udp);
    Ok(())
}
