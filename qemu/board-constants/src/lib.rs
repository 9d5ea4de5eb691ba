//! The emulated board's facts, generated at build time from its one description.
//!
//! `build.rs` reads `qemu/<board>/board.json` (`virt` unless `TESSERA_BOARD`
//! names another folder), checks it with `tessera-board` and writes these
//! constants. The kernel (fallback devices, RAM), `init-core` (what apps can
//! be granted) and the programs (device addresses) use them, so no address
//! is written twice. See `qemu/README.md`.

#![no_std]
#![forbid(unsafe_code)]

include!(concat!(env!("OUT_DIR"), "/board.rs"));
