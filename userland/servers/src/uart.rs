//! The UART server (`uartd`, for QEMU virt's app UART, a virtio console;
//! see docs/apps.md): its protocol, client calls, and the facts of the
//! device it drives.
//!
//! The wire format is `tessera_abi::app::uart`'s (re-exported here), which
//! the app SDK uses too. Requests are calls on the server's endpoint. The
//! label says what; word 0 holds the UART number (bits 0..8) and a byte
//! count (from bit 8); words 1 to 3 carry up to [`CHUNK`] bytes, the first in
//! the low byte of word 1.
//!
//! - [`WRITE`]: sends the bytes of the request. The reply's word 0 is the
//!   count taken: all of them, once the device has taken them (QEMU hands
//!   them to the socket at once, and drops what the socket cannot take, or
//!   all of them when nobody is connected).
//! - [`READ`]: returns at once with the bytes that have arrived, at most the
//!   count asked for (0 if none have): word 0 of the reply is how many, words
//!   1 to 3 the bytes. It never waits; a client that wants to wait sleeps and
//!   asks again. Bytes that arrive while nobody reads wait in the server's
//!   2 KiB receive buffer, and beyond it the host holds them back. A read of
//!   0 bytes only checks the grant.
//!
//! The reply's label is 0 or an [`Error`] code. The **badge** of the
//! caller's capability is the set of UARTs it may use (bit `n`: UART `n`),
//! set by whoever minted it (`init`, from the app's manifest); a UART outside
//! it gets `PermissionDenied`, so a capability with no badge may use none. A
//! UART the board does not have (`n` >= [`UARTS`]) or a count above
//! [`CHUNK`] gets `InvalidArgument`, a device failure `PeerGone`. Several
//! apps may share the server, each limited to its badge's UARTs; apps
//! granted the same UART share its bytes (a read takes what has arrived,
//! whoever it was meant for).
//!
//! The server needs: the device regions of the virtio-mmio transports it may
//! look through (it keeps only the one holding the console), [`DMA_BYTES`]
//! of untyped memory for the device's rings and buffers, and the endpoint
//! (with `RECEIVE`). It polls the device: the transport's interrupt is not
//! used.

pub use tessera_abi::app::uart::*;
use tessera_rt::{call, Error, Handle, Message, Timeout};

/// UARTs the server offers on QEMU virt: UART 0, the virtio console.
pub const UARTS: u32 = 1;

/// The badge that grants UART `n`.
pub const fn badge(uart: u32) -> u32 {
    1 << uart
}

fn request(endpoint: Handle, label: u32, uart: u32, count: usize, bytes: &[u8]) -> Result<[u32; 4], Error> {
    let [a, b, c] = pack(bytes);
    let answer = call(endpoint, &Message::new(label, [header(uart, count), a, b, c]), Timeout::Forever)?;
    match answer.message.label {
        0 => Ok(answer.message.words),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

/// Writes `bytes` (at most [`CHUNK`]) to UART `uart` through the server's
/// `endpoint`; returns how many the server took.
pub fn write(endpoint: Handle, uart: u32, bytes: &[u8]) -> Result<usize, Error> {
    if bytes.len() > CHUNK {
        return Err(Error::TooLong);
    }
    request(endpoint, WRITE, uart, bytes.len(), bytes).map(|words| words[0] as usize)
}

/// Reads into `buffer` (up to [`CHUNK`] bytes) what UART `uart` has
/// received; returns how many (0 if nothing has arrived).
pub fn read(endpoint: Handle, uart: u32, buffer: &mut [u8]) -> Result<usize, Error> {
    let wanted = buffer.len().min(CHUNK);
    let [count, a, b, c] = request(endpoint, READ, uart, wanted, &[])?;
    Ok(unpack([a, b, c], count as usize, &mut buffer[..wanted]))
}

/// The virtio-mmio transports (from the board description; on QEMU virt 32
/// of 512 bytes from here, eight per 4 KiB page, each page one device region).
pub const VIRTIO_MMIO_BASE: u32 = tessera_board_constants::devices::VIRTIO_MMIO_BASE;
/// Number of virtio-mmio transports.
pub const TRANSPORTS: u32 = tessera_board_constants::devices::VIRTIO_MMIO_COUNT;
/// Bytes of registers of one transport.
pub const TRANSPORT_BYTES: u32 = tessera_board_constants::devices::VIRTIO_MMIO_STRIDE;
/// The interrupt ID of the first transport (transport `n` raises this + `n`).
pub const VIRTIO_MMIO_FIRST_INTERRUPT: u32 = tessera_board_constants::devices::VIRTIO_MMIO_FIRST_INTERRUPT;
/// Pages the transports occupy.
pub const TRANSPORT_PAGES: usize = (TRANSPORTS * TRANSPORT_BYTES / 4096) as usize;

/// True if `address` lies among the virtio-mmio transports.
pub const fn is_virtio_mmio(address: u32) -> bool {
    address >= VIRTIO_MMIO_BASE && address < VIRTIO_MMIO_BASE + TRANSPORTS * TRANSPORT_BYTES
}

/// Offset of a transport's magic value.
pub const MAGIC_OFFSET: u32 = 0x000;
/// The magic value of a virtio-mmio transport ("virt").
pub const MAGIC: u32 = 0x7472_6976;
/// Offset of a transport's device ID (0: no device behind it).
pub const DEVICE_ID_OFFSET: u32 = 0x008;
/// The virtio device ID of a console.
pub const CONSOLE_DEVICE: u32 = 3;

/// Untyped memory the server is given for the device, made into one
/// frame (`tessera_servers::dma`): its receive and write buffers, the two
/// virtqueues (two contiguous pages each in the legacy layout of QEMU's
/// virtio-mmio) and the pool's own two words.
pub const DMA_BYTES: u32 = 32 * 1024;
/// Where the server maps the transports' pages (one after the other).
pub const REGISTERS_AT: u32 = 0x3000_0000;
/// Where the server maps its DMA memory.
pub const DMA_AT: u32 = 0x3100_0000;

/// The line `uartprobe` writes and expects back from the host's echo.
pub const PROBE_LINE: &[u8] = b"tessera: hello over the virtio console\n";
