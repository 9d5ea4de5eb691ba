//! Tessera kernel logic that needs no hardware.
//!
//! Everything here is plain `no_std` Rust over integers and slices: the
//! Armv7-A layer in `kernel/src/arch` feeds it register values and writes
//! what it computes into page tables and registers. Because nothing here
//! touches hardware, it builds and is tested on the host (`cargo test`), and
//! the parsers and decoders are fuzzed (`kernel/core/fuzz`).
//!
//! Test modules bring in `std` explicitly (`extern crate std`) rather than
//! through `cfg_attr(test, ...)`, so a use of `std` in kernel code cannot
//! hide behind the test configuration.
#![no_std]
#![deny(unsafe_code)]

pub mod asid;
pub mod capability;
pub mod console;
pub mod devicetree;
/// The ELF reader, shared with the user-space loader (`tessera_abi::elf`).
pub use tessera_abi::elf;
pub mod fault;
pub mod frames;
pub mod fuzzing;
pub mod interrupts;
// The kernel proper reaches its objects in RAM by address: the one module
// that needs `unsafe` (each use has a `SAFETY` comment).
#[allow(unsafe_code)]
pub mod kernel;
pub mod mpu;
pub mod pagetable;
pub mod sched;
pub mod syscall;
pub mod text;
pub mod time;
pub mod user_memory;

/// Memory access rights: defined in `tessera-abi` beside the ELF reader
/// (the user-space loader reads ELF files too), re-exported for the kernel.
pub use tessera_abi::Access;
