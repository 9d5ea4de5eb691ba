//! The user address space layout, shared by the kernel, the user linker
//! script (which must agree with [`USER_IMAGE_BASE`]) and the runtime.
//!
//! ```text
//! 0x0000_0000 .. 0x0001_0000   never mapped: null pointer guard
//! 0x0001_0000 ..               program segments from the ELF (text RX,
//!                              rodata R, data/bss RW, each execute-never
//!                              unless text), page aligned
//! STACK_TOP - STACK_SIZE - PAGE .. STACK_TOP - STACK_SIZE
//!                              never mapped: stack guard page
//! STACK_TOP - STACK_SIZE .. STACK_TOP
//!                              stack, RW, execute-never
//! USER_END ..                  kernel (not accessible from User mode)
//! ```

/// Size of a page, the unit of user mappings.
pub const PAGE_SIZE: usize = 4096;
/// Lowest address a program may be linked at.
pub const USER_IMAGE_BASE: usize = 0x0001_0000;
/// End (exclusive) of the user part of every address space: 1 GiB. Addresses
/// at or above it belong to the kernel.
pub const USER_END: usize = 0x4000_0000;
/// Top (exclusive) of the initial user stack.
pub const STACK_TOP: usize = 0x3FFF_0000;
/// Size of the initial user stack.
pub const STACK_SIZE: usize = 16 * 1024;
/// Bytes at the top of the root task's stack that hold its boot arguments;
/// its stack pointer starts below them.
pub const BOOTARGS_AREA: u32 = 256;
/// Most bytes of program segments one process may map.
pub const MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;
