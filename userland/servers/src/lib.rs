//! Tessera's system servers (docs/architecture.md, "Layers"): one binary
//! each in `src/bin/`, and the protocol each speaks, which `init`, the test
//! programs and (through `tessera_abi::app`) the app SDK share. Every server
//! runs `tessera_rt::server::serve`, the one receive/reply loop.
//!
//! - `gpiod`: the GPIO server (QEMU virt's PL061), protocol [`gpio`].
//! - `uartd`: the UART server (a virtio console), protocol [`uart`].
//! - `plutond`: the Pluton security server (docs/pluton.md), protocol
//!   [`pluton`]. The kernel starts it, not `init`.
//! - `netd`: the network server (virtio-net and smoltcp; docs/network.md),
//!   protocol [`net`] (`tessera_abi::app::net`, decoded by
//!   `tessera_net_core`).
#![no_std]
// `deny`, not `forbid`: `entropy` (the Pluton security server's virtio
// entropy driver) allows `unsafe` for its DMA HAL and device registers.
#![deny(unsafe_code)]

pub mod dma;
pub mod entropy;
pub mod uart;

/// The Pluton security server's protocol (docs/pluton.md): the requests
/// are `tessera_abi::app::pluton`'s (apps and `init` share them); these
/// are where `plutond` maps what it is given.
pub mod pluton {
    pub use tessera_abi::app::pluton::*;

    /// Where `plutond` maps the secret's page while it reads and wipes it.
    pub const SECRET_MAPPED_AT: u32 = 0x3000_0000;
    /// Where `plutond` maps the kernel's code while it measures it.
    pub const KERNEL_MAPPED_AT: u32 = 0x3010_0000;
    /// Where `plutond` keeps the boot image mapped (it measures it at
    /// start and verifies and records app packages from it later).
    pub const BOOT_IMAGE_MAPPED_AT: u32 = 0x3100_0000;
    /// Where `plutond` maps a client's buffer while it answers a request.
    pub const CLIENT_FRAME_MAPPED_AT: u32 = 0x3800_0000;
}

/// The GPIO server's protocol (`gpiod`, for QEMU virt's PL061): the
/// requests are `tessera_abi::app::gpio`'s; these are the PL061's facts.
pub mod gpio {
    pub use tessera_abi::app::gpio::*;
    /// Pins of the PL061.
    pub const PINS: u32 = 8;
    /// The PL061's registers (one page; from the board description).
    pub const PL061_ADDRESS: u32 = tessera_board_constants::devices::GPIO_PL061;
    /// Where the server maps them.
    pub const MAPPED_AT: u32 = 0x3000_0000;
    /// Direction register (bit set: output).
    pub const DIRECTION: u32 = 0x400;

    /// The offset of the data register that reads or writes only `pin`
    /// (the PL061 masks data accesses with address bits 2..10).
    pub const fn data_offset(pin: u32) -> u32 {
        1 << (pin + 2)
    }

    /// The argument of `gpioprobe`: the pin it was granted and the pin it
    /// must be refused (`NONE` for "holds no GPIO capability").
    pub const fn probe_argument(granted: u32, refused: u32) -> u32 {
        granted | refused << 8
    }

    /// `probe_argument` for a probe granted no GPIO at all.
    pub const NONE: u32 = 0xFFFF;
}

/// The network server's protocol and facts (`netd`, for QEMU virt's
/// `virtio-net-device`; docs/network.md): the requests are
/// `tessera_abi::app::net`'s, decoded by `tessera_net_core::protocol`;
/// `init` writes each app's policy with [`registration`]. These are what
/// `init` gives the server, where it maps it, and its budgets.
pub mod net {
    pub use tessera_abi::app::net::*;
    pub use tessera_net_core::{registration, resolver};

    /// TCP sockets in the server's pool, for all apps together (each app
    /// has at most [`MAX_SOCKETS`] of them open).
    pub const POOL_SOCKETS: usize = 8;
    /// Bytes of one TCP socket's receive buffer, and of its send buffer
    /// (16 KiB: with 8 KiB a bulk transfer took 12 to 16 % more
    /// instructions, the server's loop going round twice as often; 32 KiB
    /// would need more mappings than the server has room for).
    pub const SOCKET_BUFFER_BYTES: usize = 16 * 1024;
    /// Frames the TCP buffers take (a frame is at most 64 KiB).
    pub const SOCKET_FRAMES: usize = 4;
    /// Untyped memory `init` gives the server for the pool's buffers (all
    /// of them: a receive and a send buffer per socket): the server makes
    /// one frame of it (one mapping) and keeps it mapped at [`SOCKETS_AT`].
    /// Not in the server's `.bss`: its program memory (256 KiB, carved in
    /// power-of-two frames aligned to their size) has no room for 64 KiB
    /// more beside its code.
    pub const SOCKET_MEMORY_BYTES: u32 = (2 * POOL_SOCKETS * SOCKET_BUFFER_BYTES / SOCKET_FRAMES) as u32;
    /// Where the server maps the socket buffers.
    pub const SOCKETS_AT: u32 = 0x3004_0000;
    // One frame holds them, and the DMA memory and they tell each other
    // apart by size.
    const _: () = assert!(SOCKET_MEMORY_BYTES <= tessera_abi::capability::MAX_FRAME_BYTES);
    const _: () = assert!(SOCKET_MEMORY_BYTES.is_power_of_two() && SOCKET_MEMORY_BYTES != DMA_BYTES);
    /// UDP sockets in the server's pool, for all apps together (they count
    /// toward each app's [`MAX_SOCKETS`] with its TCP ones).
    pub const UDP_SOCKETS: usize = 4;
    /// The most UDP sockets one app has open (half the pool, so one app
    /// cannot hold all of it; the rest of its [`MAX_SOCKETS`] may be TCP).
    pub const UDP_SOCKETS_PER_APP: usize = UDP_SOCKETS / 2;
    /// Bytes of one UDP socket's receive buffer, and of its send buffer:
    /// room for one datagram of [`MAX_DATAGRAM_BYTES`] and some small ones.
    pub const UDP_BUFFER_BYTES: usize = 2 * 1024;
    /// Datagrams one UDP socket's buffer holds each way, at most.
    pub const UDP_DATAGRAMS: usize = 8;
    /// Untyped memory `init` gives the server for the UDP sockets' buffers
    /// (one frame, mapped at [`UDP_AT`]; its size tells it apart from the
    /// others).
    pub const UDP_MEMORY_BYTES: u32 = (2 * UDP_SOCKETS * UDP_BUFFER_BYTES) as u32;
    /// Where the server maps the UDP buffers.
    pub const UDP_AT: u32 = SOCKETS_AT + SOCKET_FRAMES as u32 * SOCKET_MEMORY_BYTES;
    const _: () = assert!(UDP_MEMORY_BYTES.is_power_of_two() && UDP_MEMORY_BYTES != DMA_BYTES);
    const _: () = assert!(UDP_MEMORY_BYTES != SOCKET_MEMORY_BYTES);
    /// How long a connection may go unanswered (a connect, data waiting
    /// for an acknowledgement, a close) before the stack gives it up.
    pub const CONNECTION_TIMEOUT_SECS: u64 = 30;
    /// How long a socket an app closed may take to finish its connection
    /// before the server aborts it and reuses the slot.
    pub const CLOSE_LINGER_MICROS: u64 = 10_000_000;
    /// Where the server maps an app's transfer window while it answers a
    /// request (in the same MiB as its registers and DMA memory).
    pub const WINDOW_MAPPED_AT: u32 = 0x3002_0000;
    /// The virtio device ID of a network device.
    pub const NET_DEVICE: u32 = 1;
    /// Untyped memory `init` gives the server for the device (a power of
    /// two, at most a frame's 64 KiB): the server makes one frame of it, so
    /// one mapping, physically contiguous. It holds the two virtqueues (two
    /// pages each, in the legacy layout of QEMU 7.2's virtio-mmio as in the
    /// modern one: [`QUEUE_SIZE`] descriptors fit in one page), then
    /// [`RECEIVE_BUFFERS`] and [`TRANSMIT_BUFFERS`] buffers of
    /// [`BUFFER_BYTES`] (16 KiB + 15 KiB), and at its end the server's
    /// 8 bytes of bookkeeping.
    pub const DMA_BYTES: u32 = 32 * 1024;
    /// Descriptors per virtqueue (each buffer the device holds takes one).
    pub const QUEUE_SIZE: usize = 8;
    /// Buffers the device receives frames into.
    pub const RECEIVE_BUFFERS: usize = 5;
    /// Buffers frames are sent from. Five and five (six and four until
    /// December 2026): a bulk send stalls less often on a full transmit
    /// queue, about 0.4 M instructions less for 4 MiB, and a bulk receive
    /// costs the same (docs/benchmarks.md).
    pub const TRANSMIT_BUFFERS: usize = 5;
    /// Bytes of one buffer: the virtio-net header (10 bytes on QEMU 7.2's
    /// legacy virtio-mmio, 12 on a modern transport) and an Ethernet frame
    /// of up to 1514 bytes; the driver wants at least 1526 for a receive.
    pub const BUFFER_BYTES: usize = 1536;
    /// Where the server maps the device's virtio-mmio page.
    pub const REGISTERS_AT: u32 = 0x3000_0000;
    /// Where the server maps its DMA frame (in the same MiB as the
    /// registers: one second-level translation table for both).
    pub const DMA_AT: u32 = 0x3001_0000;
    /// The longest the server sleeps between two polls of the device and
    /// the stack (it uses no interrupt yet): the latency a frame that
    /// arrives may see.
    pub const POLL_MICROS: u32 = 5_000;
    /// The shortest the server sleeps between two polls, even when the
    /// stack has work due at once: it runs above every app, so a poll loop
    /// that never slept would keep them all from running.
    pub const POLL_MIN_MICROS: u32 = 500;
}
