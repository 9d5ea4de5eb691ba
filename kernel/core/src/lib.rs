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
#![forbid(unsafe_code)]

pub mod capability;
pub mod console;
pub mod devicetree;
pub mod elf;
pub mod fault;
pub mod frames;
pub mod fuzzing;
pub mod interrupts;
pub mod pagetable;
pub mod sched;
pub mod syscall;
pub mod user_memory;

/// Memory access rights of a user mapping or needed by a syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Access {
    /// May be read.
    pub read: bool,
    /// May be written.
    pub write: bool,
    /// May be executed.
    pub execute: bool,
}

impl Access {
    /// Read only.
    pub const READ: Access = Access { read: true, write: false, execute: false };
    /// Read and write.
    pub const READ_WRITE: Access = Access { read: true, write: true, execute: false };
    /// Read and execute.
    pub const READ_EXECUTE: Access = Access { read: true, write: false, execute: true };

    /// True if every right in `needed` is in `self`.
    pub const fn allows(self, needed: Access) -> bool {
        (self.read || !needed.read) && (self.write || !needed.write) && (self.execute || !needed.execute)
    }
}
