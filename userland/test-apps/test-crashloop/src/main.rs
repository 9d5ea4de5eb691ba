//! Test fixture: crashes on purpose, every time it starts, with a read of
//! an unmapped address. The supervisor must restart it with back-off, hold
//! it after too many crashes, and log each crash.
#![no_std]
#![no_main]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// An address no process has mapped (the null-pointer guard region).
const UNMAPPED: usize = 0x10;

fn main(_app: App) -> Result<(), Error> {
    log!("test-crashloop: started; reading {:#x}", UNMAPPED);
    // SAFETY: none, on purpose: the read faults and the kernel ends this
    // process, which is what this fixture exists to do. It touches no
    // memory of this process.
    let value = unsafe { core::ptr::read_volatile(UNMAPPED as *const u32) };
    log!("test-crashloop: read {:#x} and did not crash", value);
    Ok(())
}
