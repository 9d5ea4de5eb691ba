//! Test fixture (M4 only, `qemu:mps2-boot`): an app whose code runs in
//! place in the boot image (docs/mt3620.md, "Code in place") reads the
//! word just before its code: the boot image, which holds every program's
//! code and package, of which `init` gave it only its own code. No region
//! grants the rest, so the MPU must stop the read: the kernel ends this
//! app with a MemManage fault and the supervisor restarts it, then holds
//! it.
#![no_std]
#![no_main]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

extern "C" {
    /// The first byte of its code (`linker/user-m.ld`).
    static __tessera_code_start: u8;
}

fn main(_app: App) -> Result<(), Error> {
    let code = core::ptr::addr_of!(__tessera_code_start) as usize;
    let before = code - 4;
    log!("test-m4-image-reader: its code at {code:#x}, reading {before:#x}");
    // SAFETY: none intended: the read the MPU must refuse. Were it allowed,
    // it would only read a word.
    let word = unsafe { core::ptr::read_volatile(before as *const u32) };
    log!("test-m4-image-reader: read {word:#x}: isolation BROKEN");
    Ok(())
}
