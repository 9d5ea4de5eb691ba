//! Tessera's user runtime: the entry point, the panic handler, a safe
//! wrapper for every syscall and `print!`/`println!` on the debug console.
//!
//! A program provides `fn main(start: Start) -> u32` and names it with
//! [`entry!`]; returning from it exits with that code.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! tessera_rt::entry!(main);
//! fn main(_start: tessera_rt::Start) -> u32 {
//!     tessera_rt::println!("hello: running in user mode");
//!     0
//! }
//! ```
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod app;
pub mod checksum;
pub mod console;
/// The memory copy every program links (crate `tessera-copy`, shared with
/// the kernel).
pub use tessera_copy as copy;
pub mod server;
pub mod syscall;

pub use syscall::*;
pub use tessera_abi::{Error, ExitKind, FaultKind, Handle, ObjectType, Rights};

use tessera_abi::layout::{BOOTARGS_AREA, STACK_SIZE, STACK_TOP};

/// What the kernel passes a new process in `r0` and `r1`.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    /// `r0`: the argument its parent gave `spawn` (for the root task: the
    /// address of the boot arguments).
    pub argument: u32,
    /// `r1`: for the root task, the length of the boot arguments.
    pub extra: u32,
}

/// The root task's boot arguments (QEMU `-append`), or "" for any other
/// process or if they are not valid UTF-8.
#[cfg(not(target_abi = "eabihf"))]
pub fn boot_arguments(start: Start) -> &'static str {
    let address = STACK_TOP as u32 - BOOTARGS_AREA;
    if start.argument != address || start.extra > BOOTARGS_AREA {
        return "";
    }
    // SAFETY: the kernel copied `extra` bytes of boot arguments to this
    // address at the top of the initial stack; the stack pointer starts below
    // them, so nothing overwrites them, and they live as long as the process.
    let bytes = unsafe { core::slice::from_raw_parts(address as *const u8, start.extra as usize) };
    core::str::from_utf8(bytes).unwrap_or("")
}

/// The boot arguments of a process the M-profile kernel started itself:
/// user addresses are physical there (docs/mt3620.md step 3.2), so they lie
/// at the top of the process's own stack, wherever that is; "" for any
/// other process (its `r0` does not point just above its stack pointer) or
/// if they are not valid UTF-8.
#[cfg(target_abi = "eabihf")]
pub fn boot_arguments(start: Start) -> &'static str {
    let stack: u32;
    // SAFETY: reads the stack pointer; no other effect.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) stack, options(nomem, nostack, preserves_flags)) };
    let address = start.argument;
    let inside = address > stack && address - stack < STACK_SIZE as u32;
    if !inside || start.extra > BOOTARGS_AREA || address.checked_add(start.extra).is_none() {
        return "";
    }
    // SAFETY: the kernel copied `extra` bytes to `address`, the top of the
    // initial stack, which starts below them (checked above: the address
    // lies just above the stack pointer); nothing overwrites them and they
    // live as long as the process.
    let bytes = unsafe { core::slice::from_raw_parts(address as *const u8, start.extra as usize) };
    core::str::from_utf8(bytes).unwrap_or("")
}

/// The most bytes of its stack this process has used so far, as far as it
/// can tell: its stack starts zeroed (the kernel zeroes the frames it is
/// made of), so the lowest word that is no longer zero marks the deepest
/// the stack went (at least; a frame that stored only zeros below it would
/// not show). For a measured figure of the headroom a program has.
pub fn stack_high_water() -> usize {
    let bottom = STACK_TOP - STACK_SIZE;
    let mut address = bottom;
    while address < STACK_TOP {
        // SAFETY: every word of the stack, `STACK_TOP - STACK_SIZE ..
        // STACK_TOP`, is mapped readable for the life of the process; a
        // read has no effect, and one below the stack pointer reads memory
        // nothing uses now (volatile: the compiler may not assume it).
        let word = unsafe { core::ptr::read_volatile(address as *const u32) };
        if word != 0 {
            break;
        }
        address += 4;
    }
    STACK_TOP - address
}

/// This process's user read/write thread register (TPIDRURW). The kernel
/// keeps it per process: 0 when the process starts, and only it changes it.
pub fn thread_register() -> u32 {
    let value: u32;
    // SAFETY: User mode may read TPIDRURW; reading it has no effects.
    unsafe { core::arch::asm!("mrc p15, 0, {}, c13, c0, 2", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// Sets this process's thread register (see [`thread_register`]).
pub fn set_thread_register(value: u32) {
    // SAFETY: TPIDRURW is User mode's own scratch register.
    unsafe { core::arch::asm!("mcr p15, 0, {}, c13, c0, 2", in(reg) value, options(nomem, nostack, preserves_flags)) };
}

/// Declares the program's `main`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        extern "C" fn __tessera_main(argument: u32, extra: u32) -> u32 {
            let main: fn($crate::Start) -> u32 = $main;
            main($crate::Start { argument, extra })
        }
    };
}

core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".global _start",
    "_start:",
    "    bl __tessera_main",
    "    mov r7, #4",
    "    svc #0",
    "1:  b 1b",
);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {}", info);
    exit(101)
}
