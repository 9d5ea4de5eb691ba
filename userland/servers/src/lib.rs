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
#![forbid(unsafe_code)]

pub mod uart;

/// The Pluton security server's protocol (docs/pluton.md, "Protocol").
/// Requests are calls on the endpoint the kernel gives `init`.
pub mod pluton {
    /// `DEVICE_ID` with word 0 = part: part 0 answers bytes 0..16 of the
    /// device's DeviceID identifier, part 1 bytes 16..20 (in word 0), both
    /// little-endian in the words. The identifier is public.
    pub const DEVICE_ID: u32 = 1;
    /// Bytes in a DeviceID identifier.
    pub const DEVICE_ID_BYTES: usize = 20;
    /// `ATTEST`: evidence for a verifier's nonce. The call carries one
    /// capability, a frame of at least [`ATTEST_FRAME_BYTES`] the caller
    /// may read and write (and grant), holding the nonce at offset 0;
    /// word 0 = the nonce's length (8..=64 bytes). The answer's word 0 is
    /// the evidence's length; the evidence (a COSE_Sign1 EAT,
    /// `tessera_pluton_core::eat`) replaces the nonce in the frame.
    /// `plutond` deletes its copy of the capability before it answers.
    pub const ATTEST: u32 = 2;
    /// The smallest frame `ATTEST` takes.
    pub const ATTEST_FRAME_BYTES: u32 = 4096;
    /// Where `plutond` maps the secret's page while it reads and wipes it.
    pub const SECRET_MAPPED_AT: u32 = 0x3000_0000;
    /// Where `plutond` maps the kernel's code while it measures it.
    pub const KERNEL_MAPPED_AT: u32 = 0x3010_0000;
    /// Where `plutond` maps the boot image while it measures it.
    pub const BOOT_IMAGE_MAPPED_AT: u32 = 0x3100_0000;
    /// Where `plutond` maps a client's frame while it answers a request.
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
