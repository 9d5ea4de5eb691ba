//! Tessera's system servers (docs/architecture.md, "Layers"): one binary
//! each in `src/bin/`, and the protocol each speaks, which `init`, the test
//! programs and (through `tessera_abi::app`) the app SDK share. Every server
//! runs `tessera_rt::server::serve`, the one receive/reply loop.
//!
//! - `gpiod`: the GPIO server (QEMU virt's PL061), protocol [`gpio`].
//! - `uartd`: the UART server (a virtio console), protocol [`uart`].
//! - `plutond`: the Pluton security server (docs/pluton.md), protocol
//!   [`pluton`]. The kernel starts it, not `init`.
#![no_std]
// `deny`, not `forbid`: `entropy` (the Pluton security server's virtio
// entropy driver) allows `unsafe` for its DMA HAL and device registers.
#![deny(unsafe_code)]

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
