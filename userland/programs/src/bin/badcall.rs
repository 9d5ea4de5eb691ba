//! Makes every kind of bad syscall and checks each gets the right error:
//! the kernel must answer, not fault, and keep running.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::layout::{PAGE_SIZE, STACK_SIZE, STACK_TOP};
use tessera_abi::{Error, DEBUG_WRITE_MAX};
use tessera_rt::{println, process_start, raw_debug_write, raw_syscall, wait, Handle};

tessera_rt::entry!(main);

/// A check: what it tries, what the kernel answered, what it should answer.
type Check = (&'static str, Result<(), Error>, Result<(), Error>);

fn error_of(r0: u32) -> Result<(), Error> {
    match r0 {
        0 => Ok(()),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

fn main(_start: tessera_rt::Start) -> u32 {
    let text = b"ok";
    let valid = text.as_ptr() as u32;
    let stack_top = STACK_TOP as u32;
    let guard = (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32;
    let checks: [Check; 17] = [
        ("syscall number 99", error_of(raw_syscall(99, [0; 4])[0]), Err(Error::UnknownSyscall)),
        ("syscall number 0xffff", error_of(raw_syscall(0xFFFF, [0; 4])[0]), Err(Error::UnknownSyscall)),
        ("syscall number u32::MAX", error_of(raw_syscall(u32::MAX, [1; 4])[0]), Err(Error::UnknownSyscall)),
        ("null pointer", raw_debug_write(0, 4), Err(Error::BadAddress)),
        ("kernel pointer", raw_debug_write(tessera_board_constants::memory::KERNEL_LOAD, 4), Err(Error::BadAddress)),
        ("high kernel pointer", raw_debug_write(0xFFFF_0000, 16), Err(Error::BadAddress)),
        ("unmapped pointer", raw_debug_write(0x2000_0000, 4), Err(Error::BadAddress)),
        ("stack guard page", raw_debug_write(guard, 4), Err(Error::BadAddress)),
        ("range wrapping past 4 GiB", raw_debug_write(0xFFFF_FF00, 0x200), Err(Error::AddressWraps)),
        ("range past the top of the stack", raw_debug_write(stack_top - 2, 8), Err(Error::BadAddress)),
        ("range into the kernel", raw_debug_write(0x3FFF_FFF0, 0x20), Err(Error::BadAddress)),
        ("too long", raw_debug_write(valid, DEBUG_WRITE_MAX as u32 + 1), Err(Error::TooLong)),
        ("empty write", raw_debug_write(0, 0), Ok(())),
        ("the retired Spawn (number 5)", error_of(raw_syscall(5, [0; 4])[0]), Err(Error::UnknownSyscall)),
        ("start a process with no capability", process_start(Handle::new(100, 0), 1), Err(Error::InvalidHandle)),
        ("shutdown without a capability", tessera_rt::shutdown(Handle::NULL, 0), Err(Error::InvalidHandle)),
        ("wait without children", wait(None, Some(0)).map(|_| ()), Err(Error::NotFound)),
    ];
    let mut failed = 0;
    for (name, got, expected) in checks.iter() {
        if got != expected {
            println!("badcall: {}: expected {:?}, got {:?}", name, expected, got);
            failed += 1;
        }
    }
    if failed == 0 {
        println!("badcall: all checks passed ({} checks)", checks.len());
        0
    } else {
        println!("badcall: {} of {} checks FAILED", failed, checks.len());
        1
    }
}
